package stats

import (
	"errors"
	"fmt"
	"math"
)

// TestResult is the outcome of a two-sided hypothesis test.
type TestResult struct {
	Test      string  `json:"test"`      // "Mann-Whitney U" or "Wilcoxon signed-rank"
	Method    string  `json:"method"`    // "exact" or "normal approximation"
	Statistic float64 `json:"statistic"` // U1 for Mann-Whitney (scipy's), min(W+, W-) for Wilcoxon
	PValue    float64 `json:"p_value"`   // two-sided
	N1        int     `json:"n1"`        // first sample; pairs used for Wilcoxon
	N2        int     `json:"n2"`        // second sample; pairs dropped as zero differences for Wilcoxon
}

// MannWhitneyU compares two independent samples, as
// scipy.stats.mannwhitneyu(x, y) with its defaults (two-sided,
// use_continuity=True, method="auto"): the exact null distribution of U when
// one sample has at most 8 values and there are no ties, otherwise the
// normal approximation with tie-corrected variance and continuity
// correction. Statistic is U1 = R1 - n1(n1+1)/2 for x.
func MannWhitneyU(x, y []float64) (TestResult, error) {
	r := TestResult{Test: "Mann-Whitney U", N1: len(x), N2: len(y)}
	if len(x) == 0 || len(y) == 0 {
		return r, fmt.Errorf("mann-whitney: need two non-empty samples (have %d and %d): %w", len(x), len(y), ErrEmpty)
	}
	xy := append(append(make([]float64, 0, len(x)+len(y)), x...), y...)
	for _, v := range xy {
		if math.IsNaN(v) {
			return r, errors.New("mann-whitney: sample contains NaN")
		}
	}
	n1, n2 := float64(len(x)), float64(len(y))
	ranks := Rank(xy)
	var r1 float64
	for _, v := range ranks[:len(x)] {
		r1 += v
	}
	u1 := r1 - n1*(n1+1)/2
	u := math.Max(u1, n1*n2-u1)
	r.Statistic = u1
	ties := tieGroups(xy)
	if (len(x) > 8 && len(y) > 8) || len(ties) > 0 {
		r.Method = "normal approximation"
		n := n1 + n2
		var tieTerm float64
		for _, t := range ties {
			ft := float64(t)
			tieTerm += ft*ft*ft - ft
		}
		s := math.Sqrt(n1 * n2 / 12 * ((n + 1) - tieTerm/(n*(n-1))))
		z := (u - n1*n2/2 - 0.5) / s
		p := 2 * normSF(z)
		if s == 0 { // every value equal: no evidence of a difference
			p = 1
		}
		r.PValue = math.Min(math.Max(p, 0), 1)
		return r, nil
	}
	r.Method = "exact"
	// P(U >= u) = P(U <= n1*n2 - u) by symmetry.
	pmf := mwuPMF(len(x), len(y))
	k := int(math.Round(n1*n2 - u))
	var cdf float64
	for i := 0; i <= k && i < len(pmf); i++ {
		cdf += pmf[i]
	}
	r.PValue = math.Min(2*cdf, 1)
	return r, nil
}

// mwuPMF is the null distribution of U for samples of sizes m and n: the
// coefficients of the Gaussian binomial [m+n choose m]_q, built with the
// recurrence f(m,n,k) = f(m-1,n,k-n) + f(m,n-1,k) (only additions of
// positive numbers, so float64 keeps full relative precision).
func mwuPMF(m, n int) []float64 {
	if m > n {
		m, n = n, m
	}
	// f[a] holds f(a, b, ·) for the current b, a = 0..m.
	f := make([][]float64, m+1)
	for a := range f {
		f[a] = []float64{1} // b = 0: only U = 0
	}
	for b := 1; b <= n; b++ {
		for a := 1; a <= m; a++ {
			next := make([]float64, a*b+1)
			copy(next, f[a]) // f(a, b-1, k)
			for k := b; k <= a*b; k++ {
				if k-b < len(f[a-1]) {
					next[k] += f[a-1][k-b] // f(a-1, b, k-b), already updated for b
				}
			}
			f[a] = next
		}
	}
	dist := f[m]
	var total float64
	for _, c := range dist {
		total += c
	}
	for i := range dist {
		dist[i] /= total
	}
	return dist
}

// Wilcoxon is the two-sided Wilcoxon signed-rank test of paired samples x
// and y (differences x-y), as scipy.stats.wilcoxon(x, y) with
// zero_method="wilcox" (zero differences dropped) and correction=False.
// The exact distribution is used for at most 50 pairs with no zero and no
// tied absolute difference; otherwise the normal approximation with the tie
// correction of the variance (scipy 1.10 keeps "exact" under ties, which
// miscounts; newer scipy switches to the approximation, as done here).
// Statistic is min(W+, W-).
func Wilcoxon(x, y []float64) (TestResult, error) {
	r := TestResult{Test: "Wilcoxon signed-rank"}
	if len(x) != len(y) {
		return r, fmt.Errorf("wilcoxon: samples have %d and %d values, want pairs", len(x), len(y))
	}
	var d []float64
	zeros := 0
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			return r, errors.New("wilcoxon: sample contains NaN")
		}
		if x[i] == y[i] {
			zeros++
			continue
		}
		d = append(d, x[i]-y[i])
	}
	r.N1, r.N2 = len(d), zeros
	if len(d) == 0 {
		return r, fmt.Errorf("wilcoxon: all %d differences are zero or there are no pairs: %w", len(x), ErrEmpty)
	}
	abs := make([]float64, len(d))
	for i, v := range d {
		abs[i] = math.Abs(v)
	}
	ranks := Rank(abs)
	var wp, wm float64
	for i, v := range d {
		if v > 0 {
			wp += ranks[i]
		} else {
			wm += ranks[i]
		}
	}
	r.Statistic = math.Min(wp, wm)
	n := len(d)
	ties := tieGroups(abs)
	if n <= 50 && zeros == 0 && len(ties) == 0 {
		r.Method = "exact"
		pmf := wilcoxonPMF(n)
		k := int(math.Round(wp))
		if k == (len(pmf)-1)/2 {
			r.PValue = 1
			return r, nil
		}
		var less, greater float64
		for i := 0; i <= k; i++ {
			less += pmf[i]
		}
		for i := k; i < len(pmf); i++ {
			greater += pmf[i]
		}
		r.PValue = math.Min(math.Max(2*math.Min(less, greater), 0), 1)
		return r, nil
	}
	r.Method = "normal approximation"
	fn := float64(n)
	mn := fn * (fn + 1) / 4
	se := fn * (fn + 1) * (2*fn + 1)
	for _, t := range ties {
		ft := float64(t)
		se -= 0.5 * ft * (ft*ft - 1)
	}
	se = math.Sqrt(se / 24)
	z := (r.Statistic - mn) / se
	r.PValue = math.Min(2*normSF(math.Abs(z)), 1)
	return r, nil
}

// wilcoxonPMF is the null distribution of W+ for n pairs: the number of
// subsets of {1..n} with each sum, over 2^n (exact in float64 for n <= 50).
func wilcoxonPMF(n int) []float64 {
	c := make([]float64, n*(n+1)/2+1)
	c[0] = 1
	top := 0
	for i := 1; i <= n; i++ {
		top += i
		for k := top; k >= i; k-- {
			c[k] += c[k-i]
		}
	}
	total := math.Ldexp(1, n)
	for i := range c {
		c[i] /= total
	}
	return c
}
