package segment

import (
	"math"
	"testing"

	"github.com/otoseg/otoseg/locate"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/roi"
	"github.com/otoseg/otoseg/unet"
	"github.com/otoseg/otoseg/volume"
)

// sphereProbs builds 4-class probabilities on grid g: class 1 inside a
// sphere of radius r (mm) around world point c, class 2 in a shell
// outside it, background elsewhere.
func sphereProbs(g volume.Geometry, c [3]float64, r float64) []float32 {
	n := g.Len()
	p := make([]float32, 4*n)
	for idx := 0; idx < n; idx++ {
		i, j, k := idx%g.Dims[0], idx/g.Dims[0]%g.Dims[1], idx/(g.Dims[0]*g.Dims[1])
		w := g.World(float64(i), float64(j), float64(k))
		d := math.Sqrt((w[0]-c[0])*(w[0]-c[0]) + (w[1]-c[1])*(w[1]-c[1]) + (w[2]-c[2])*(w[2]-c[2]))
		switch {
		case d < r:
			p[n+idx] = 1
		case d < r+1:
			p[2*n+idx] = 1
		default:
			p[idx] = 1
		}
	}
	return p
}

func testModel(t *testing.T) *Model {
	cfg := unet.DefaultConfig()
	cfg.Features = []int{4, 8}
	net, err := unet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Model{Plan: &plan.Plan{Labels: map[int]string{1: "cochlea", 2: "vestibule", 3: "semicircular canals"}}, Seg: net}
}

// Pasting an ear's probabilities from its (mirrored, finer) region grid
// into a scan with another orientation puts every label at the right world
// position.
func TestPasteKeepsWorldPositions(t *testing.T) {
	sg := volume.NewGeometry([3]int{90, 80, 40}, [3]float64{0.5, 0.5, 0.8})
	sg.Direction = [3][3]float64{{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}} // stored RAS
	sg.Origin = [3]float64{-30, 20, -16}
	centre := sg.World(60, 40, 20)
	for _, side := range []roi.Side{roi.Left, roi.Right} {
		grid := roi.Grid(centre, side, [3]int{48, 48, 40}, [3]float64{0.3, 0.3, 0.4})
		pr := &earPrediction{side: side, grid: grid, prob: sphereProbs(grid, centre, 4)}
		out := volume.New(sg, volume.Uint8)
		ear, ok, err := testModel(t).paste(out, pr, Options{MinEarVolumeMM3: 1})
		if err != nil || !ok {
			t.Fatalf("%v: paste ok=%v err=%v", side, ok, err)
		}
		wrong := 0
		for idx, v := range out.Data {
			i, j, k := idx%90, idx/90%80, idx/(90*80)
			w := sg.World(float64(i), float64(j), float64(k))
			d := math.Sqrt((w[0]-centre[0])*(w[0]-centre[0]) + (w[1]-centre[1])*(w[1]-centre[1]) + (w[2]-centre[2])*(w[2]-centre[2]))
			want := float32(0)
			switch {
			case d < 3.6:
				want = 1
			case d > 4.4 && d < 4.6:
				want = 2
			case d > 5.4:
				want = 0
			default:
				continue // boundary band: either is right
			}
			if v != want {
				wrong++
			}
		}
		if wrong > 0 {
			t.Errorf("%v: %d voxels with the wrong label", side, wrong)
		}
		sphere := 4.0 / 3 * math.Pi * 64
		if got := ear.VolumesMM3["cochlea"]; math.Abs(got-sphere) > 0.1*sphere {
			t.Errorf("%v: cochlea volume %.1f mm^3, want about %.1f", side, got, sphere)
		}
		if ear.Side != side.String() {
			t.Errorf("side %s, want %v", ear.Side, side)
		}
	}
}

func TestPasteRejectsTinyEar(t *testing.T) {
	sg := volume.NewGeometry([3]int{40, 40, 40}, [3]float64{0.5, 0.5, 0.5})
	c := sg.World(20, 20, 20)
	grid := roi.Grid(c, roi.Left, [3]int{32, 32, 32}, [3]float64{0.3, 0.3, 0.3})
	pr := &earPrediction{side: roi.Left, grid: grid, prob: sphereProbs(grid, c, 1)}
	if _, ok, err := testModel(t).paste(volume.New(sg, volume.Uint8), pr, Options{MinEarVolumeMM3: 50}); err != nil || ok {
		t.Errorf("a 4 mm^3 labyrinth was reported as an ear (ok=%v, err=%v)", ok, err)
	}
}

func TestCleanLabyrinth(t *testing.T) {
	dims := [3]int{20, 10, 10}
	n := dims[0] * dims[1] * dims[2]
	lab := make([]uint8, n)
	best := make([]uint8, n)
	at := func(i, j, k int) int { return i + dims[0]*(j+dims[1]*k) }
	// A hollow 5x5x5 cube of label 2 (its centre is a hole), a speck of
	// label 1 far away, and a second block of 4x4x4 (64 > 20% of 98).
	for k := 2; k < 7; k++ {
		for j := 2; j < 7; j++ {
			for i := 2; i < 7; i++ {
				lab[at(i, j, k)] = 2
			}
		}
	}
	lab[at(4, 4, 4)] = 0
	best[at(4, 4, 4)] = 3
	lab[at(18, 8, 8)] = 1
	for k := 1; k < 5; k++ {
		for j := 1; j < 5; j++ {
			for i := 12; i < 16; i++ {
				lab[at(i, j, k)] = 3
			}
		}
	}
	out, err := cleanLabyrinth(lab, best, dims)
	if err != nil {
		t.Fatal(err)
	}
	if out[at(18, 8, 8)] != 0 {
		t.Error("speck kept")
	}
	if out[at(4, 4, 4)] != 3 {
		t.Errorf("hole filled with %d, want the most likely foreground class 3", out[at(4, 4, 4)])
	}
	if out[at(13, 2, 2)] != 3 {
		t.Error("large second component dropped")
	}
}

// A side's candidates are compared by how much labyrinth the fine network
// finds in each: the summed foreground probability.
func TestEvidenceRanksCandidates(t *testing.T) {
	g := roi.Grid([3]float64{0, 0, 0}, roi.Left, [3]int{40, 40, 40}, [3]float64{0.3, 0.3, 0.3})
	empty := &earPrediction{grid: g, prob: sphereProbs(g, [3]float64{100, 0, 0}, 1)}
	small := &earPrediction{grid: g, prob: sphereProbs(g, [3]float64{0, 0, 0}, 1)}
	ear := &earPrediction{grid: g, prob: sphereProbs(g, [3]float64{0, 0, 0}, 3)}
	if e := empty.evidence(); e != 0 {
		t.Errorf("evidence of a region without foreground = %g, want 0", e)
	}
	// Sphere of radius 3 plus a 1 mm shell: about 4/3·π·4³ mm³ in 0.027 mm³ voxels.
	want := 4.0 / 3 * math.Pi * 64 / 0.027
	if e := ear.evidence(); math.Abs(e-want) > 0.05*want {
		t.Errorf("evidence = %g, want about %g voxels", e, want)
	}
	if small.evidence() >= ear.evidence() {
		t.Errorf("evidence: small %g >= ear %g", small.evidence(), ear.evidence())
	}
}

func TestSidesInOrderOfConfidence(t *testing.T) {
	c := func(s roi.Side) locate.Candidate {
		var x locate.Candidate
		x.Side = s
		return x
	}
	got := sides([]locate.Candidate{c(roi.Right), c(roi.Right), c(roi.Left), c(roi.Right)})
	if len(got) != 2 || got[0] != roi.Right || got[1] != roi.Left {
		t.Errorf("sides = %v, want [right left]", got)
	}
	if got := sides(nil); len(got) != 0 {
		t.Errorf("sides(nil) = %v", got)
	}
}
