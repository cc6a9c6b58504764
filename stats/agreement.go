package stats

import (
	"errors"
	"fmt"
	"math"
)

// Volume agreement between a reference and a prediction is what volumetric
// validation studies print beside Dice: the intraclass correlation of the
// two measurements, their linear (Pearson) and rank (Spearman) correlation,
// and the Bland-Altman bias with its limits of agreement.

// ICCResult is an intraclass correlation with its 95% confidence interval.
type ICCResult struct {
	ICC    float64 `json:"icc"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	N      int     `json:"n"` // targets (rows)
	K      int     `json:"k"` // raters (columns)
}

// ICC21 is ICC(2,1) of Shrout and Fleiss (1979), "ICC(A,1)" of McGraw and
// Wong (1996): two-way random effects, absolute agreement, single rater,
// for x[i][j] = target i measured by rater j (every row the same length k
// >= 2, n >= 2 rows). With the two-way ANOVA mean squares MSR (rows), MSC
// (columns) and MSE (residual):
//
//	ICC = (MSR − MSE) / (MSR + (k−1)·MSE + k·(MSC − MSE)/n)
//
// The 95% CI is McGraw and Wong's, from F quantiles with Satterthwaite's
// degrees of freedom v (pingouin's intraclass_corr prints the same):
//
//	a = k·ICC/(n(1−ICC)), b = 1 + k·ICC(n−1)/(n(1−ICC)), Fj = MSC/MSE
//	v = (k−1)(n−1)(k·ICC·Fj + n(1+(k−1)ICC) − k·ICC)² /
//	    ((n−1)k²ICC²Fj² + (n(1+(k−1)ICC) − k·ICC)²)
//	low  = n(MSR − F*·MSE) / (F*(k·MSC + (kn−k−n)MSE) + n·MSR),  F* = F(0.975; n−1, v)
//	high = n(F_*·MSR − MSE) / (k·MSC + (kn−k−n)MSE + n·F_*·MSR), F_* = F(0.975; v, n−1)
//
// Absolute agreement, not consistency, because a segmentation that is
// systematically 10 % too large is not interchangeable with the reference.
func ICC21(x [][]float64) (ICCResult, error) {
	n := len(x)
	if n < 2 {
		return ICCResult{N: n}, fmt.Errorf("icc: %d targets, need at least 2: %w", n, ErrEmpty)
	}
	k := len(x[0])
	r := ICCResult{N: n, K: k}
	if k < 2 {
		return r, errors.New("icc: need at least two raters")
	}
	var grand float64
	rowMean := make([]float64, n)
	colMean := make([]float64, k)
	for i, row := range x {
		if len(row) != k {
			return r, fmt.Errorf("icc: target %d has %d ratings, want %d", i, len(row), k)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return r, errors.New("icc: NaN or Inf rating")
			}
			rowMean[i] += v / float64(k)
			colMean[j] += v / float64(n)
			grand += v
		}
	}
	grand /= float64(n * k)
	var ssr, ssc, sst float64
	for i, row := range x {
		ssr += float64(k) * (rowMean[i] - grand) * (rowMean[i] - grand)
		for _, v := range row {
			sst += (v - grand) * (v - grand)
		}
	}
	for _, m := range colMean {
		ssc += float64(n) * (m - grand) * (m - grand)
	}
	sse := sst - ssr - ssc
	fn, fk := float64(n), float64(k)
	msr, msc, mse := ssr/(fn-1), ssc/(fk-1), sse/((fn-1)*(fk-1))
	// sse is a difference of sums: rounding leaves ~1e-16 relative where it
	// is exactly 0 (a prediction equal to the reference), as for msc.
	if tiny := 1e-12 * (msr + msc + mse); mse <= tiny {
		mse = 0
		if msc <= tiny {
			msc = 0
		}
	}
	den := msr + (fk-1)*mse + fk*(msc-mse)/fn
	if den == 0 || ssr == 0 {
		return r, errors.New("icc: undefined (no variance between targets)")
	}
	icc := (msr - mse) / den
	r.ICC = icc
	if mse == 0 && msc == 0 {
		// Perfect agreement: the interval collapses onto 1.
		r.CILow, r.CIHigh = icc, icc
		return r, nil
	}
	if mse == 0 {
		return r, errors.New("icc: confidence interval undefined (no residual variance)")
	}
	fj := msc / mse
	c := fn*(1+(fk-1)*icc) - fk*icc
	v := (fk - 1) * (fn - 1) * math.Pow(fk*icc*fj+c, 2) /
		((fn-1)*fk*fk*icc*icc*fj*fj + c*c)
	fu, err := FQuantile(0.975, fn-1, v)
	if err != nil {
		return r, fmt.Errorf("icc confidence interval: %w", err)
	}
	fl, err := FQuantile(0.975, v, fn-1)
	if err != nil {
		return r, fmt.Errorf("icc confidence interval: %w", err)
	}
	r.CILow = fn * (msr - fu*mse) / (fu*(fk*msc+(fk*fn-fk-fn)*mse) + fn*msr)
	r.CIHigh = fn * (fl*msr - mse) / (fk*msc + (fk*fn-fk-fn)*mse + fn*fl*msr)
	for _, x := range []float64{r.ICC, r.CILow, r.CIHigh} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			// Degenerate samples (e.g. one rater constant up to rounding)
			// must not put NaN into summary.json.
			return r, errors.New("icc: confidence interval undefined for these data")
		}
	}
	return r, nil
}

// Correlation is a correlation coefficient with its two-sided p value (null:
// no correlation) and, for Pearson's r, the 95% CI by Fisher's z.
type Correlation struct {
	R      float64  `json:"r"`
	PValue float64  `json:"p_value"`
	CILow  *float64 `json:"ci_low,omitempty"`
	CIHigh *float64 `json:"ci_high,omitempty"`
	N      int      `json:"n"`
}

// ErrConstant reports a correlation of a sample without variance.
var ErrConstant = errors.New("stats: correlation undefined (a sample is constant)")

// Pearson is scipy.stats.pearsonr(x, y): r, the two-sided p value of
// t = r·sqrt((n−2)/(1−r²)) with n−2 degrees of freedom, and the 95% CI
// tanh(atanh(r) ± z₀.₉₇₅/sqrt(n−3)) (scipy's confidence_interval(); given
// for n > 3 only).
func Pearson(x, y []float64) (Correlation, error) {
	c := Correlation{N: len(x)}
	if len(x) != len(y) {
		return c, fmt.Errorf("correlation: %d and %d values, want pairs", len(x), len(y))
	}
	if len(x) < 3 {
		return c, fmt.Errorf("correlation: %d pairs, need at least 3: %w", len(x), ErrEmpty)
	}
	mx, my := Mean(x), Mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return c, ErrConstant
	}
	r := sxy / math.Sqrt(sxx*syy)
	r = math.Max(-1, math.Min(1, r))
	c.R = r
	c.PValue = corrP(r, len(x))
	if len(x) > 3 {
		z := math.Atanh(r)
		h := NormQuantile(0.975) / math.Sqrt(float64(len(x)-3))
		c.CILow, c.CIHigh = ptr(math.Tanh(z-h)), ptr(math.Tanh(z+h))
	}
	return c, nil
}

// Spearman is scipy.stats.spearmanr(x, y): Pearson's r of the average
// ranks, with the same t-based p value (no CI).
func Spearman(x, y []float64) (Correlation, error) {
	if len(x) != len(y) {
		return Correlation{N: len(x)}, fmt.Errorf("correlation: %d and %d values, want pairs", len(x), len(y))
	}
	c, err := Pearson(Rank(x), Rank(y))
	c.CILow, c.CIHigh = nil, nil
	return c, err
}

// corrP is the two-sided p value of a correlation r of n pairs.
func corrP(r float64, n int) float64 {
	if math.Abs(r) >= 1 {
		return 0
	}
	df := float64(n - 2)
	t := r * math.Sqrt(df/((1-r)*(1+r)))
	return TwoSidedTP(t, df)
}

func ptr(x float64) *float64 { return &x }

// BlandAltman is the Bland-Altman analysis of paired measurements: the mean
// difference (bias, b − a) and the 95% limits of agreement bias ± 1.96·SD of
// the differences (SD with n − 1).
type BlandAltman struct {
	N       int     `json:"n"`
	Bias    float64 `json:"bias"`
	SD      float64 `json:"sd"`
	LoALow  float64 `json:"loa_low"`
	LoAHigh float64 `json:"loa_high"`
}

// BlandAltmanOf computes the Bland-Altman bias and limits of b against a.
func BlandAltmanOf(a, b []float64) (BlandAltman, error) {
	if len(a) != len(b) {
		return BlandAltman{}, fmt.Errorf("bland-altman: %d and %d values, want pairs", len(a), len(b))
	}
	if len(a) < 2 {
		return BlandAltman{N: len(a)}, fmt.Errorf("bland-altman: %d pairs, need at least 2: %w", len(a), ErrEmpty)
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = b[i] - a[i]
	}
	ba := BlandAltman{N: len(d), Bias: Mean(d), SD: SD(d)}
	ba.LoALow, ba.LoAHigh = ba.Bias-1.96*ba.SD, ba.Bias+1.96*ba.SD
	return ba, nil
}
