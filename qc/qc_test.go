package qc

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// TestProbabilitySignals checks the signals on a hand-made probability
// map: 8 voxels, two of them labyrinth.
func TestProbabilitySignals(t *testing.T) {
	dims := [3]int{8, 1, 1}
	n := 8
	prob := make([]float32, 4*n)
	fg := []float32{0, 0, 0.2, 0.9, 1, 0, 0, 0} // foreground probability
	for i, p := range fg {
		prob[i] = 1 - p
		prob[n+i] = p // all cochlea
	}
	prob[2*n+3], prob[n+3] = 0.3, 0.6 // voxel 3: cochlea 0.6, vestibule 0.3
	s := ProbabilitySignals(prob, 4, dims, 0.5)
	h := func(p float64) float64 { return -p*math.Log2(p) - (1-p)*math.Log2(1-p) }
	want := Signals{
		Entropy:     (h(0.2) + h(0.9)) / 2,
		SoftDiceGap: 1 - 2*(0.9+1)/((0.2+0.9+1)+2),
		Ambiguity:   (1 - 0.6/0.9) / 2,
		Border:      1, // a region one voxel thick: every voxel lies at its faces
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"entropy", s.Entropy, want.Entropy}, {"soft dice gap", s.SoftDiceGap, want.SoftDiceGap},
		{"ambiguity", s.Ambiguity, want.Ambiguity}, {"border", s.Border, want.Border}} {
		if math.Abs(c.got-c.want) > 1e-6 {
			t.Errorf("%s %.6f, want %.6f", c.name, c.got, c.want)
		}
	}
}

// TestLabelSignalsTopology counts pieces and loops of a ring and a ball.
func TestLabelSignalsTopology(t *testing.T) {
	g := volume.NewGeometry([3]int{20, 20, 5}, [3]float64{0.5, 0.5, 0.5})
	v := volume.New(g, volume.Uint8)
	for j := 0; j < 20; j++ {
		for i := 0; i < 20; i++ {
			r := math.Hypot(float64(i)-9.5, float64(j)-9.5)
			if r > 4 && r < 7 {
				v.Set(i, j, 2, 3) // a ring: one loop
			}
		}
	}
	v.Set(1, 1, 2, 1) // and a separate speck
	var s Signals
	if err := LabelSignals(&s, v, [3]int{0, 0, 0}, [3]int{19, 19, 4}); err != nil {
		t.Fatal(err)
	}
	if s.Pieces != 2 || s.Loops != 1 || s.SliceMM != 0.5 {
		t.Errorf("pieces %d loops %d slice %g mm, want 2, 1 and 0.5", s.Pieces, s.Loops, s.SliceMM)
	}
}

// TestFitSeparatesAndAUROC fits the model on synthetic ears whose bad
// ones are uncertain and checks the AUROC against scipy's Mann-Whitney U.
func TestFitSeparatesAndAUROC(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var samples []Sample
	for i := 0; i < 80; i++ {
		bad := i%4 == 0
		s := Signals{Entropy: 0.3 + 0.1*r.NormFloat64(), SoftDiceGap: 0.03 + 0.01*r.NormFloat64(), Ambiguity: 0.05,
			Border: 0, LocatorScore: 50, VolumeMM3: 187 + 20*r.NormFloat64(), Pieces: 1, Loops: 3}
		dice := 0.93 + 0.02*r.NormFloat64()
		if bad {
			s.Entropy += 0.25 + 0.15*r.Float64()
			s.SoftDiceGap += 0.03
			dice = 0.7 + 0.1*r.Float64()
		}
		samples = append(samples, Sample{Case: strconv.Itoa(i), Side: "left", Dice: dice, Signals: &s})
	}
	m, err := Fit(samples, 1, 0.9, "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	ev := Evaluate(m, samples)
	if ev.AUROC < 0.95 || ev.BadFlagged < 18 {
		t.Errorf("AUROC %.3f, bad flagged %d/%d", ev.AUROC, ev.BadFlagged, ev.Bad)
	}
	// the same AUROC from scipy: U of bad-vs-good on (1 - score)
	var bad, good []string
	for _, s := range samples {
		x := strconv.FormatFloat(1-s.Score, 'g', 17, 64)
		if s.Bad() {
			bad = append(bad, x)
		} else {
			good = append(good, x)
		}
	}
	script := "from scipy.stats import mannwhitneyu\nb=[" + strings.Join(bad, ",") + "]\ng=[" + strings.Join(good, ",") + "]\n" +
		"print(mannwhitneyu(b, g).statistic/(len(b)*len(g)))"
	out, err := exec.Command("/usr/bin/python3", "-c", script).Output()
	if err != nil {
		t.Skipf("scipy not available: %v", err)
	}
	want, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if math.Abs(want-ev.AUROC) > 1e-9 {
		t.Errorf("AUROC %.6f, scipy %.6f", ev.AUROC, want)
	}
}

// TestFitNeedsBothClasses checks the message for a cohort without bad ears.
func TestFitNeedsBothClasses(t *testing.T) {
	s := Signals{Entropy: 0.3, LocatorScore: 10, VolumeMM3: 180, Pieces: 1, Loops: 3}
	samples := []Sample{{Dice: 0.9, Signals: &s}, {Dice: 0.95, Signals: &s}}
	if _, err := Fit(samples, 1, 0.9, ""); err == nil || !strings.Contains(err.Error(), "at least 3 good and 3 bad") {
		t.Errorf("error %v", err)
	}
}

// TestDefaultModelLoads checks the embedded calibration.
func TestDefaultModelLoads(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	r := m.Assess(Signals{Entropy: 0.3, LocatorScore: 10, VolumeMM3: 187, Pieces: 1, Loops: 3})
	if r.Score < 0 || r.Score > 1 || (r.Flag != OK && r.Flag != Review) {
		t.Errorf("result %+v", r)
	}
}

// TestWriteReportOneScatter checks that qc_score_vs_dice.png holds the
// bytes of ScatterPNG, the one drawing that otoseg evaluate's report.html
// embeds too, and that Evaluate keeps each ear's reasons for the per-ear
// tables.
func TestWriteReportOneScatter(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	good := Signals{Entropy: 0.3, SoftDiceGap: 0.02, LocatorScore: 50, VolumeMM3: 187, Pieces: 1, Loops: 3}
	bad := Signals{Entropy: 1.5, SoftDiceGap: 0.3, Ambiguity: 0.4, Border: 0.2, LocatorScore: 0.5, VolumeMM3: 60, Pieces: 4, Loops: 0}
	samples := []Sample{{Case: "a", Side: "left", Dice: 0.93, Signals: &good}, {Case: "a", Side: "right", Dice: 0.5, Signals: &bad},
		{Case: "b", Side: "left", Dice: 0}}
	ev := Evaluate(m, samples)
	if ev.Missed != 1 || ev.Bad != 1 || ev.Good != 1 {
		t.Fatalf("evaluation %+v", ev)
	}
	if want := m.Assess(bad).Reasons; len(want) == 0 || !slices.Equal(samples[1].Reasons, want) {
		t.Errorf("bad ear reasons %q, want %q (non-empty)", samples[1].Reasons, want)
	}
	dir := t.TempDir()
	if err := WriteReport(dir, "test", ev, samples); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "qc_score_vs_dice.png"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ScatterPNG("test", ev, samples)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("qc_score_vs_dice.png (%d bytes) is not ScatterPNG's drawing (%d bytes)", len(got), len(want))
	}
	if _, err := png.Decode(bytes.NewReader(want)); err != nil {
		t.Errorf("ScatterPNG: %v", err)
	}
}

// TestFitRegressesDice fits ears whose Dice falls linearly with entropy
// and the mirrored disagreement, and checks the fit against numpy's
// solution of the same ridge problem, the residual spread, and that the
// score falls as the signals rise.
func TestFitRegressesDice(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var samples []Sample
	for i := 0; i < 60; i++ {
		s := Signals{Entropy: 0.2 + 0.2*r.Float64(), SoftDiceGap: 0.03 + 0.005*r.NormFloat64(), Ambiguity: 0.015 + 0.003*r.NormFloat64(),
			Border: 0.01 * r.Float64(), LocatorScore: 300 + 50*r.NormFloat64(), VolumeMM3: 187 + 20*r.NormFloat64(),
			Pieces: 1 + r.IntN(2), Loops: 2 + r.IntN(3), MirrorGap: 0.1 + 0.1*r.Float64(), SliceMM: []float64{0.6, 1, 1.5}[r.IntN(3)]}
		dice := 0.98 - 0.8*(s.Entropy-0.2) - 0.6*(s.MirrorGap-0.1) + 0.005*r.NormFloat64()
		samples = append(samples, Sample{Case: strconv.Itoa(i), Side: "left", Dice: dice, Signals: &s})
	}
	m, err := Fit(samples, 1, 0.9, "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	if m.ResidualSD > 0.01 {
		t.Errorf("residual SD %.4f, want about 0.005", m.ResidualSD)
	}
	// numpy: the same standardised design, the same penalty
	var rows []string
	for _, s := range samples {
		x := Features(*s.Signals)
		var f []string
		for _, v := range x {
			f = append(f, strconv.FormatFloat(v, 'g', 17, 64))
		}
		rows = append(rows, "["+strings.Join(f, ",")+","+strconv.FormatFloat(s.Dice, 'g', 17, 64)+"]")
	}
	script := "import numpy as np\nd=np.array([" + strings.Join(rows, ",") + "])\nX,y=d[:,:-1],np.maximum(d[:,-1],0.6)\n" +
		"Z=np.c_[np.ones(len(X)),(X-X.mean(0))/np.maximum(X.std(0),1e-6)]\nR=np.eye(Z.shape[1]);R[0,0]=0\n" +
		"print(' '.join(repr(v) for v in np.linalg.solve(Z.T@Z+R,Z.T@y)))"
	out, err := exec.Command("/usr/bin/python3", "-c", script).Output()
	if err != nil {
		t.Fatalf("numpy: %v", err)
	}
	want := strings.Fields(string(out))
	got := append([]float64{m.Bias}, m.Weights...)
	for i, w := range want {
		v, _ := strconv.ParseFloat(w, 64)
		if math.Abs(v-got[i]) > 1e-9 {
			t.Errorf("coefficient %d: %.12f, numpy %.12f", i, got[i], v)
		}
	}
	calm := Signals{Entropy: 0.22, LocatorScore: 300, VolumeMM3: 187, Pieces: 1, Loops: 3, MirrorGap: 0.11, SoftDiceGap: 0.03, Ambiguity: 0.015, SliceMM: 1}
	worried := calm
	worried.Entropy, worried.MirrorGap = 0.39, 0.19
	a, b := m.Assess(calm), m.Assess(worried)
	if !(a.Score > b.Score) || !(a.DiceEstimate > b.DiceEstimate) || math.Abs(a.DiceEstimate-(0.98-0.8*0.02-0.6*0.01)) > 0.02 {
		t.Errorf("calm %+v, worried %+v", a, b)
	}
	if len(b.Reasons) == 0 {
		t.Error("no reasons for the worried ear")
	}
}

// TestGrossFailuresFlag: an ear the regression would pass still goes to
// review, with the reason, when the labyrinth is cut by the region, far
// too small, or barely seen by the localiser.
func TestGrossFailuresFlag(t *testing.T) {
	m := &Model{Mean: make([]float64, len(FeatureNames)), SD: []float64{1, 1, 1, 1}, Weights: make([]float64, len(FeatureNames)),
		Bias: 0.95, ResidualSD: 0.02, Threshold: 0.5}
	fine := Signals{Entropy: 0.2, LocatorScore: 300, VolumeMM3: 187, Pieces: 1, Loops: 3, SliceMM: 0.6}
	for _, c := range []struct {
		name   string
		change func(*Signals)
		reason string
	}{
		{"fine", func(*Signals) {}, ""},
		{"cut by the border", func(s *Signals) { s.Border = 0.05 }, "border"},
		{"too small", func(s *Signals) { s.VolumeMM3 = 40 }, "under a third"},
		{"barely located", func(s *Signals) { s.LocatorScore = 12 }, "localiser"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := fine
			c.change(&s)
			r := m.Assess(s)
			if r.Score < 0.99 {
				t.Errorf("score %.3f: the regression alone passes this ear", r.Score)
			}
			if want := c.reason != ""; (r.Flag == Review) != want || want && !strings.Contains(strings.Join(r.Reasons, "; "), c.reason) {
				t.Errorf("flag %s, reasons %v; want review %v with %q", r.Flag, r.Reasons, want, c.reason)
			}
		})
	}
}

// FuzzReadSidecar: any bytes give ears or an error naming the file, never
// a panic; a file past MaxSidecarBytes is refused.
func FuzzReadSidecar(f *testing.F) {
	f.Add([]byte(`{"ears": [{"side": "left", "qc": {"score": 0.9, "flag": "ok"}, "qc_signals": {"entropy_per_voxel": 0.2}}]}`))
	f.Add([]byte(`{"ears": null}`))
	f.Add([]byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSidecar(p); err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

func TestReadSidecarRefusesHugeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(p, bytes.Repeat([]byte(" "), MaxSidecarBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSidecar(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error %v, want a size refusal", err)
	}
}
