package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"testing"
)

// fixture mirrors testdata/scipy.json, written by testdata/make_fixtures.py.
type fixture struct {
	Describe struct {
		X                                   []float64
		Mean, SD, Median, Q1, Q3, P95, P2_5 float64
	}
	Mannwhitneyu map[string]struct {
		X, Y  []float64
		U1, P float64
	}
	Wilcoxon map[string]struct {
		X, Y   []float64
		T, P   float64
		Method string
	}
	Kappa struct {
		A, B, C                             []int
		UnweightedAB, LinearAB, QuadraticAB float64
		FleissABC                           float64
	}
	ICC map[string]struct {
		X      [][]float64 `json:"x"`
		ICC    float64     `json:"icc"`
		CILow  float64     `json:"ci_low"`
		CIHigh float64     `json:"ci_high"`
	} `json:"icc"`
	Correlation map[string]struct {
		X             []float64 `json:"x"`
		Y             []float64 `json:"y"`
		PearsonR      float64   `json:"pearson_r"`
		PearsonP      float64   `json:"pearson_p"`
		PearsonCILow  float64   `json:"pearson_ci_low"`
		PearsonCIHigh float64   `json:"pearson_ci_high"`
		SpearmanRho   float64   `json:"spearman_rho"`
		SpearmanP     float64   `json:"spearman_p"`
	} `json:"correlation"`
	FQuantile []struct {
		P, D1, D2, Q float64
	} `json:"f_quantile"`
	Holm struct {
		P        []float64 `json:"p"`
		Adjusted []float64 `json:"adjusted"`
	} `json:"holm"`
}

func (f *fixture) UnmarshalJSON(b []byte) error {
	type plain fixture
	var raw struct {
		plain
		Describe map[string]json.RawMessage `json:"describe"`
		Kappa    map[string]json.RawMessage `json:"kappa"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = fixture(raw.plain)
	get := func(m map[string]json.RawMessage, k string, dst any) error {
		v, ok := m[k]
		if !ok {
			return errors.New("fixture lacks " + k)
		}
		return json.Unmarshal(v, dst)
	}
	d, k := &f.Describe, &f.Kappa
	for key, dst := range map[string]any{"x": &d.X, "mean": &d.Mean, "sd": &d.SD, "median": &d.Median, "q1": &d.Q1, "q3": &d.Q3, "p95": &d.P95, "p2_5": &d.P2_5} {
		if err := get(raw.Describe, key, dst); err != nil {
			return err
		}
	}
	for key, dst := range map[string]any{"a": &k.A, "b": &k.B, "c": &k.C, "unweighted_ab": &k.UnweightedAB, "linear_ab": &k.LinearAB, "quadratic_ab": &k.QuadraticAB, "fleiss_abc": &k.FleissABC} {
		if err := get(raw.Kappa, key, dst); err != nil {
			return err
		}
	}
	return nil
}

func loadFixture(t *testing.T, b []byte) fixture {
	t.Helper()
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse fixture: %v", err)
	}
	if len(f.Mannwhitneyu) == 0 || len(f.Wilcoxon) == 0 || len(f.Describe.X) == 0 ||
		len(f.ICC) == 0 || len(f.Correlation) == 0 || len(f.FQuantile) == 0 || len(f.Holm.P) == 0 {
		t.Fatal("fixture is incomplete")
	}
	return f
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

func checkFixture(t *testing.T, f fixture) {
	d := f.Describe
	s, err := Describe(d.X, Bootstrap{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"mean", s.Mean, d.Mean}, {"sd", s.SD, d.SD}, {"median", s.Median, d.Median},
		{"q1", s.Q1, d.Q1}, {"q3", s.Q3, d.Q3},
	} {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("describe %s = %.15g, numpy %.15g", c.name, c.got, c.want)
		}
	}
	sorted := append([]float64(nil), d.X...)
	sortFloats(sorted)
	if got := Percentile(sorted, 95); !near(got, d.P95, 1e-12) {
		t.Errorf("p95 = %.15g, numpy %.15g", got, d.P95)
	}
	if got := Percentile(sorted, 2.5); !near(got, d.P2_5, 1e-12) {
		t.Errorf("p2.5 = %.15g, numpy %.15g", got, d.P2_5)
	}
	for name, c := range f.Mannwhitneyu {
		r, err := MannWhitneyU(c.X, c.Y)
		if err != nil {
			t.Errorf("mwu %s: %v", name, err)
			continue
		}
		if !near(r.Statistic, c.U1, 1e-12) || !near(r.PValue, c.P, 1e-9) {
			t.Errorf("mwu %s: U=%g p=%.12g (%s), scipy U=%g p=%.12g", name, r.Statistic, r.PValue, r.Method, c.U1, c.P)
		}
	}
	for name, c := range f.Wilcoxon {
		r, err := Wilcoxon(c.X, c.Y)
		if err != nil {
			t.Errorf("wilcoxon %s: %v", name, err)
			continue
		}
		wantMethod := map[string]string{"exact": "exact", "approx": "normal approximation"}[c.Method]
		if r.Method != wantMethod || !near(r.Statistic, c.T, 1e-12) || !near(r.PValue, c.P, 1e-9) {
			t.Errorf("wilcoxon %s: T=%g p=%.12g (%s), scipy T=%g p=%.12g (%s)", name, r.Statistic, r.PValue, r.Method, c.T, c.P, c.Method)
		}
	}
	k := f.Kappa
	cats := []int{1, 2, 3, 4}
	for _, c := range []struct {
		w    Weighting
		want float64
	}{{Unweighted, k.UnweightedAB}, {Linear, k.LinearAB}, {Quadratic, k.QuadraticAB}} {
		got, err := CohenKappa(k.A, k.B, cats, c.w)
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("cohen kappa %s = %.15g (%v), numpy %.15g", c.w, got, err, c.want)
		}
	}
	counts := make([][]int, len(k.A))
	for i := range counts {
		counts[i] = make([]int, 4)
		for _, r := range []int{k.A[i], k.B[i], k.C[i]} {
			counts[i][r-1]++
		}
	}
	if got, err := FleissKappa(counts); err != nil || !near(got, k.FleissABC, 1e-12) {
		t.Errorf("fleiss kappa = %.15g (%v), numpy %.15g", got, err, k.FleissABC)
	}
	checkAgreementFixture(t, f)
}

// checkAgreementFixture compares the volume-agreement statistics and Holm's
// adjustment with the script's numpy/scipy values: ICC(2,1) and its CI to
// 1e-9 (the CI goes through two F quantiles found by bisection), the
// correlations and their p values to 1e-9, F quantiles to 1e-9.
func checkAgreementFixture(t *testing.T, f fixture) {
	for name, c := range f.ICC {
		r, err := ICC21(c.X)
		if err != nil {
			t.Errorf("icc %s: %v", name, err)
			continue
		}
		if !near(r.ICC, c.ICC, 1e-12) || !near(r.CILow, c.CILow, 1e-9) || !near(r.CIHigh, c.CIHigh, 1e-9) {
			t.Errorf("icc %s = %.12g [%.12g, %.12g], scipy %.12g [%.12g, %.12g]", name, r.ICC, r.CILow, r.CIHigh, c.ICC, c.CILow, c.CIHigh)
		}
	}
	for name, c := range f.Correlation {
		p, err := Pearson(c.X, c.Y)
		if err != nil || p.CILow == nil || p.CIHigh == nil {
			t.Errorf("pearson %s: %+v %v", name, p, err)
			continue
		}
		if !near(p.R, c.PearsonR, 1e-12) || !near(p.PValue, c.PearsonP, 1e-9) ||
			!near(*p.CILow, c.PearsonCILow, 1e-9) || !near(*p.CIHigh, c.PearsonCIHigh, 1e-9) {
			t.Errorf("pearson %s = %.12g p %.12g [%.12g, %.12g], scipy %.12g p %.12g [%.12g, %.12g]", name,
				p.R, p.PValue, *p.CILow, *p.CIHigh, c.PearsonR, c.PearsonP, c.PearsonCILow, c.PearsonCIHigh)
		}
		s, err := Spearman(c.X, c.Y)
		if err != nil || !near(s.R, c.SpearmanRho, 1e-12) || !near(s.PValue, c.SpearmanP, 1e-9) {
			t.Errorf("spearman %s = %.12g p %.12g (%v), scipy %.12g p %.12g", name, s.R, s.PValue, err, c.SpearmanRho, c.SpearmanP)
		}
	}
	for _, c := range f.FQuantile {
		if q, err := FQuantile(c.P, c.D1, c.D2); err != nil || !near(q, c.Q, 1e-9) {
			t.Errorf("F quantile %g (%g, %g) = %.12g (%v), scipy %.12g", c.P, c.D1, c.D2, q, err, c.Q)
		}
	}
	got := Holm(f.Holm.P)
	for i := range got {
		if !near(got[i], f.Holm.Adjusted[i], 1e-15) {
			t.Errorf("holm %v = %v, numpy %v", f.Holm.P, got, f.Holm.Adjusted)
			break
		}
	}
}

func sortFloats(x []float64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
}

// TestAgainstCommittedScipy checks the committed scipy/numpy values.
func TestAgainstCommittedScipy(t *testing.T) {
	b, err := os.ReadFile("testdata/scipy.json")
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, loadFixture(t, b))
}

// TestAgainstLiveScipy reruns the fixture script with the system scipy; it
// fails (does not skip) when /usr/bin/python3 or scipy is missing, and it
// fails when the committed JSON is stale.
func TestAgainstLiveScipy(t *testing.T) {
	out, err := exec.Command("/usr/bin/python3", "testdata/make_fixtures.py").Output()
	if err != nil {
		t.Fatalf("run testdata/make_fixtures.py (needs /usr/bin/python3 with numpy and scipy): %v", err)
	}
	live := loadFixture(t, out)
	checkFixture(t, live)
	b, err := os.ReadFile("testdata/scipy.json")
	if err != nil {
		t.Fatal(err)
	}
	if committed := loadFixture(t, b); !reflect.DeepEqual(committed, live) {
		t.Error("testdata/scipy.json is stale: regenerate it with make_fixtures.py")
	}
}

func TestBootstrapDeterministicAndSensible(t *testing.T) {
	x := []float64{0.91, 0.85, 0.88, 0.79, 0.93, 0.83, 0.86, 0.90, 0.72, 0.87}
	lo1, hi1 := BootstrapMeanCI(x, Bootstrap{Seed: 7})
	lo2, hi2 := BootstrapMeanCI(x, Bootstrap{Seed: 7})
	if lo1 != lo2 || hi1 != hi2 {
		t.Fatalf("same seed gave [%g,%g] and [%g,%g]", lo1, hi1, lo2, hi2)
	}
	m := Mean(x)
	if !(lo1 < m && m < hi1) {
		t.Fatalf("CI [%g,%g] does not contain the mean %g", lo1, hi1, m)
	}
	// The percentile bootstrap of the mean is close to mean ± 1.96 SE.
	se := SD(x) / math.Sqrt(float64(len(x)))
	if math.Abs((hi1-lo1)-2*1.96*se) > 0.35*2*1.96*se {
		t.Fatalf("CI width %g far from normal-theory %g", hi1-lo1, 2*1.96*se)
	}
	lo3, hi3 := BootstrapMeanCI(x, Bootstrap{Seed: 8})
	if lo3 == lo1 && hi3 == hi1 {
		t.Fatal("different seeds gave the same interval")
	}
	if lo, hi := BootstrapMeanCI([]float64{3}, Bootstrap{}); lo != 3 || hi != 3 {
		t.Fatalf("one value: [%g,%g]", lo, hi)
	}
}

func TestDescribeEdges(t *testing.T) {
	s, err := Describe(nil, Bootstrap{})
	if err != nil || s != (Summary{}) {
		t.Fatalf("empty: %+v %v", s, err)
	}
	if _, err := Describe([]float64{1, math.NaN()}, Bootstrap{}); err == nil {
		t.Fatal("NaN accepted")
	}
	s, _ = Describe([]float64{2}, Bootstrap{})
	if s.N != 1 || s.Mean != 2 || s.SD != 0 || s.CILow != 2 || s.Q3 != 2 {
		t.Fatalf("one value: %+v", s)
	}
}

func TestRankTies(t *testing.T) {
	got := Rank([]float64{3, 1, 3, 2, 3})
	want := []float64{4, 1, 4, 2, 4}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Rank = %v, want %v", got, want)
	}
}

func TestTestErrors(t *testing.T) {
	if _, err := MannWhitneyU(nil, []float64{1}); !errors.Is(err, ErrEmpty) {
		t.Errorf("mwu empty: %v", err)
	}
	if _, err := Wilcoxon([]float64{1, 2}, []float64{1, 2}); !errors.Is(err, ErrEmpty) {
		t.Errorf("wilcoxon all zero: %v", err)
	}
	if _, err := Wilcoxon([]float64{1}, []float64{1, 2}); err == nil {
		t.Error("wilcoxon unpaired accepted")
	}
	if _, err := CohenKappa([]int{1, 1}, []int{1, 1}, []int{1, 2, 3, 4}, Linear); !errors.Is(err, ErrUndefined) {
		t.Errorf("kappa constant: %v", err)
	}
	if _, err := CohenKappa([]int{1, 5}, []int{1, 1}, []int{1, 2, 3, 4}, Linear); err == nil {
		t.Error("kappa out of range accepted")
	}
	if _, err := FleissKappa([][]int{{2, 0}, {1, 2}}); err == nil {
		t.Error("fleiss unequal raters accepted")
	}
	if k, err := CohenKappa([]int{1, 2, 3, 4}, []int{1, 2, 3, 4}, []int{1, 2, 3, 4}, Quadratic); err != nil || k != 1 {
		t.Errorf("perfect agreement kappa = %g, %v", k, err)
	}
}

// TestHolmByHand checks Holm's adjustment on small families worked by hand
// (sort ascending, multiply by m, m−1, ..., keep the running maximum, cap
// at 1) and that untested entries stay out of the family.
func TestHolmByHand(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name    string
		p, want []float64
	}{
		{"four", []float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		{"monotone cap", []float64{0.5, 0.4}, []float64{0.8, 0.8}},
		{"one test", []float64{0.03}, []float64{0.03}},
		{"ties", []float64{0.02, 0.02, 0.3}, []float64{0.06, 0.06, 0.3}},
		{"untested left out", []float64{0.01, nan, 0.02}, []float64{0.02, nan, 0.02}},
		{"empty", nil, []float64{}},
	} {
		got := Holm(c.p)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v", c.name, got)
		}
		for i := range got {
			if !(got[i] == c.want[i] || math.IsNaN(got[i]) && math.IsNaN(c.want[i])) && !near(got[i], c.want[i], 1e-15) {
				t.Errorf("%s: Holm(%v) = %v, want %v", c.name, c.p, got, c.want)
				break
			}
		}
	}
}

// TestICCEdges: perfect agreement, too few targets, ragged input, and
// samples whose interval is undefined: an error, never NaN.
func TestICCEdges(t *testing.T) {
	for _, c := range []struct {
		name    string
		x       [][]float64
		wantICC float64
		wantErr bool
	}{
		{"perfect", [][]float64{{1, 1}, {2, 2}, {5, 5}}, 1, false},
		{"one target", [][]float64{{1, 2}}, 0, true},
		{"ragged", [][]float64{{1, 2}, {3}}, 0, true},
		{"constant", [][]float64{{2, 2}, {2, 2}}, 0, true},
		{"no variance between targets", [][]float64{{100, 110}, {100, 110}, {100, 110}}, 0, true},
		{"offset without residual", [][]float64{{1, 2}, {2, 3}, {4, 5}}, 0, true},
		{"one rater", [][]float64{{1}, {2}}, 0, true},
	} {
		r, err := ICC21(c.x)
		for _, x := range []float64{r.ICC, r.CILow, r.CIHigh} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Errorf("%s: non-finite result %+v", c.name, r)
			}
		}
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err %v", c.name, err)
			continue
		}
		if err == nil && (r.ICC != c.wantICC || r.CILow != c.wantICC || r.CIHigh != c.wantICC) {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
}

// TestResampleCIIsBootstrapMeanCI: with the mean as statistic the generic
// bootstrap draws the same indices as BootstrapMeanCI and must give its
// interval exactly; a statistic undefined on some draws leaves them out.
func TestResampleCIIsBootstrapMeanCI(t *testing.T) {
	x := []float64{0.91, 0.85, 0.88, 0.79, 0.93, 0.83, 0.86, 0.90, 0.72, 0.87}
	mean := func(idx []int) (float64, error) {
		var s float64
		for _, i := range idx {
			s += x[i]
		}
		return s / float64(len(idx)), nil
	}
	for _, seed := range []uint64{1, 7, 12345} {
		lo, hi, used, err := ResampleCI(len(x), mean, Bootstrap{Seed: seed, Resamples: 500})
		wlo, whi := BootstrapMeanCI(x, Bootstrap{Seed: seed, Resamples: 500})
		if err != nil || used != 500 || lo != wlo || hi != whi {
			t.Errorf("seed %d: [%g, %g] used %d (%v), BootstrapMeanCI [%g, %g]", seed, lo, hi, used, err, wlo, whi)
		}
	}
	// Undefined whenever item 0 is drawn: about (9/10)^10 = 35% of draws kept.
	_, _, used, err := ResampleCI(len(x), func(idx []int) (float64, error) {
		for _, i := range idx {
			if i == 0 {
				return 0, ErrUndefined
			}
		}
		return 1, nil
	}, Bootstrap{Seed: 3, Resamples: 1000})
	if err != nil || used < 250 || used > 450 {
		t.Errorf("partly undefined statistic: used %d of 1000 (%v)", used, err)
	}
	if _, _, _, err := ResampleCI(1, mean, Bootstrap{}); err == nil {
		t.Error("one item accepted")
	}
	if _, _, _, err := ResampleCI(5, func([]int) (float64, error) { return 0, ErrUndefined }, Bootstrap{Resamples: 10}); err == nil {
		t.Error("statistic undefined everywhere accepted")
	}
}

// TestDistributionsByHand: closed forms. F(1,1) is the square of a Cauchy
// variable, so its median is 1; I_x(1,1) = x; I_x(a,1) = x^a; the t p value
// at t = 0 is 1; the normal 97.5% quantile is 1.959963984540054.
func TestDistributionsByHand(t *testing.T) {
	if q, err := FQuantile(0.5, 1, 1); err != nil || !near(q, 1, 1e-12) {
		t.Errorf("F(1,1) median %g %v", q, err)
	}
	for _, x := range []float64{0.1, 0.5, 0.93} {
		if got := RegIncBeta(1, 1, x); !near(got, x, 1e-14) {
			t.Errorf("I_%g(1,1) = %g", x, got)
		}
		if got := RegIncBeta(2.5, 1, x); !near(got, math.Pow(x, 2.5), 1e-13) {
			t.Errorf("I_%g(2.5,1) = %g", x, got)
		}
	}
	if p := TwoSidedTP(0, 7); !near(p, 1, 1e-14) {
		t.Errorf("t p at 0: %g", p)
	}
	if z := NormQuantile(0.975); !near(z, 1.959963984540054, 1e-15) {
		t.Errorf("z 0.975 = %.16g", z)
	}
	if _, err := FQuantile(0.9, 0, 3); err == nil {
		t.Error("zero degrees of freedom accepted")
	}
}

// TestCorrelationEdges: constant samples and too few pairs are errors, not
// NaN; three pairs give r and p but no Fisher CI (n − 3 = 0).
func TestCorrelationEdges(t *testing.T) {
	if _, err := Pearson([]float64{1, 1, 1}, []float64{1, 2, 3}); !errors.Is(err, ErrConstant) {
		t.Errorf("constant: %v", err)
	}
	if _, err := Spearman([]float64{1, 2}, []float64{1, 2}); !errors.Is(err, ErrEmpty) {
		t.Errorf("two pairs: %v", err)
	}
	c, err := Pearson([]float64{1, 2, 3}, []float64{1, 3, 2})
	if err != nil || c.CILow != nil || !near(c.R, 0.5, 1e-15) {
		t.Errorf("three pairs: %+v %v", c, err)
	}
	if c, err := Pearson([]float64{1, 2, 3, 4}, []float64{2, 4, 6, 8}); err != nil || c.R != 1 || c.PValue != 0 {
		t.Errorf("perfect: %+v %v", c, err)
	}
}

// TestPercentilesInPlaceMatchSort checks selection against Percentile on
// the sorted slice, bit for bit, on ties, runs, sizes 1-3 and random data.
func TestPercentilesInPlaceMatchSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	ps := []float64{0, 0.5, 25, 50, 99.9, 100}
	cases := map[string][]float64{
		"one":       {4},
		"two":       {9, -3},
		"three":     {2, 2, 1},
		"ties":      {5, 5, 5, 5, 5, 5, 5},
		"ascending": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		"hu-like":   {-1024, -1024, -1000, 40, 40, 41, 700, 1500, -1024, 3000, 40},
	}
	for _, n := range []int{17, 1000, 100_001} {
		x := make([]float64, n)
		for i := range x {
			x[i] = math.Round(rng.NormFloat64() * 300) // many ties, as in HU
		}
		cases[fmt.Sprint("random ", n)] = x
	}
	for name, x := range cases {
		sorted := slices.Sorted(slices.Values(x))
		got := PercentilesInPlace(slices.Clone(x), ps...)
		for i, p := range ps {
			if want := Percentile(sorted, p); got[i] != want {
				t.Errorf("%s: percentile %g = %v, sorting gives %v", name, p, got[i], want)
			}
		}
	}
	if got := PercentilesInPlace(nil, 50); !math.IsNaN(got[0]) {
		t.Errorf("empty: %v, want NaN", got[0])
	}
}
