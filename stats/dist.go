package stats

import (
	"errors"
	"math"
)

// The distributions below are what the agreement statistics need for their
// confidence intervals and p values (F for the ICC, Student's t for the
// correlations, the normal for Fisher's z). They are written out here rather
// than taken from a library because the rest of the package is
// dependency-free and every number must be reproducible with scipy.stats.

// NormQuantile is the p-th quantile of the standard normal distribution
// (scipy.stats.norm.ppf); ±Inf at 0 and 1, NaN outside [0, 1].
func NormQuantile(p float64) float64 {
	if p < 0 || p > 1 || math.IsNaN(p) {
		return math.NaN()
	}
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// RegIncBeta is the regularised incomplete beta function I_x(a, b) (a, b >
// 0, 0 <= x <= 1), by the continued fraction of Numerical Recipes (modified
// Lentz), evaluated on the side of x where it converges fast.
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(b) || math.IsNaN(x) || a <= 0 || b <= 0 || x < 0 || x > 1:
		return math.NaN()
	case x == 0:
		return 0
	case x == 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function.
func betaCF(a, b, x float64) float64 {
	const (
		maxIter = 10000
		eps     = 1e-16
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// ErrDegrees reports a distribution asked for with degrees of freedom that
// are not positive (e.g. an ICC of fewer than two ears).
var ErrDegrees = errors.New("stats: degrees of freedom must be positive")

// FQuantile is the p-th quantile of the F distribution (scipy.stats.f.ppf),
// 0 < p < 1: the beta variable y = d1·x/(d1·x + d2) is found by bisection
// on [0, 1] to full float64 precision, then mapped back to x.
func FQuantile(p, d1, d2 float64) (float64, error) {
	if !(d1 > 0) || !(d2 > 0) || math.IsInf(d1, 0) || math.IsInf(d2, 0) {
		return math.NaN(), ErrDegrees
	}
	if !(p > 0 && p < 1) {
		return math.NaN(), errors.New("stats: F quantile wants 0 < p < 1")
	}
	lo, hi := 0.0, 1.0
	for range 2000 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if RegIncBeta(d1/2, d2/2, mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	y := lo + (hi-lo)/2
	return d2 * y / (d1 * (1 - y)), nil
}

// TwoSidedTP is the two-sided p value of Student's t statistic with df
// degrees of freedom, 2·scipy.stats.t.sf(|t|, df).
func TwoSidedTP(t, df float64) float64 {
	if math.IsInf(t, 0) {
		return 0
	}
	return RegIncBeta(df/2, 0.5, df/(df+t*t))
}
