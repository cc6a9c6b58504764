// Package stats holds the statistics of the validation study: descriptive
// summaries with seeded bootstrap confidence intervals, the Mann-Whitney U
// and Wilcoxon signed-rank tests, and Cohen's weighted and Fleiss' kappa.
//
// The tests follow scipy.stats 1.10 (mannwhitneyu, wilcoxon with their
// defaults) so that a reviewer can reproduce every p-value with scipy; the
// package's tests compare against values scipy printed for fixed samples.
// Nothing here keeps state between calls: randomness comes from an explicit
// seed, so a report is identical every time it is rebuilt.
package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrEmpty reports a statistic asked of no data.
var ErrEmpty = errors.New("stats: no data")

// Summary describes a sample. All fields are finite when N > 0; when N == 0
// every field is zero and callers must look at N (a summary never carries
// NaN, so it can be written to JSON and compared).
type Summary struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	SD     float64 `json:"sd"` // sample standard deviation (n-1); 0 when N == 1
	Median float64 `json:"median"`
	Q1     float64 `json:"q1"` // 25th percentile, linear interpolation (numpy default)
	Q3     float64 `json:"q3"` // 75th percentile
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// CILow and CIHigh bound the 95% percentile-bootstrap confidence interval
	// of the mean; equal to Mean when N == 1.
	CILow  float64 `json:"ci95_low"`
	CIHigh float64 `json:"ci95_high"`
}

// Bootstrap configures the percentile bootstrap of the mean.
type Bootstrap struct {
	Resamples int     // number of resamples; 2000 when zero
	Level     float64 // confidence level; 0.95 when zero
	Seed      uint64  // seed of the PCG generator; same seed, same interval
}

// DefaultResamples is the bootstrap size used when Bootstrap.Resamples is 0.
const DefaultResamples = 2000

// Describe summarises x (NaN values must have been removed by the caller;
// they are reported as an error so that they cannot leak into a report).
func Describe(x []float64, b Bootstrap) (Summary, error) {
	var s Summary
	if len(x) == 0 {
		return s, nil
	}
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return s, errors.New("stats: sample contains NaN or Inf")
		}
	}
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	s.N = len(x)
	s.Mean = Mean(x)
	s.SD = SD(x)
	s.Median = Percentile(sorted, 50)
	s.Q1 = Percentile(sorted, 25)
	s.Q3 = Percentile(sorted, 75)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.CILow, s.CIHigh = BootstrapMeanCI(x, b)
	return s, nil
}

// Mean is the arithmetic mean; NaN for an empty slice.
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, v := range x {
		sum += v
	}
	return sum / float64(len(x))
}

// SD is the sample standard deviation (denominator n-1); 0 for one value.
func SD(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m := Mean(x)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

// Percentile returns the p-th percentile (0..100) of an ascending slice with
// linear interpolation between closest ranks, numpy's default method:
// position p/100*(n-1). NaN for an empty slice.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(n-1)
	lo := int(math.Floor(pos))
	if lo < 0 {
		return sorted[0]
	}
	if lo >= n-1 {
		return sorted[n-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// BootstrapMeanCI returns the percentile-bootstrap confidence interval of
// the mean of x: draw len(x) values with replacement b.Resamples times from a
// PCG generator seeded with b.Seed, take the mean of each draw, and report
// the (1-level)/2 and (1+level)/2 percentiles of those means. Deterministic
// for a given seed. Returns (mean, mean) for fewer than two values.
func BootstrapMeanCI(x []float64, b Bootstrap) (lo, hi float64) {
	n := len(x)
	if n == 0 {
		return 0, 0
	}
	if n == 1 {
		return x[0], x[0]
	}
	reps := b.Resamples
	if reps <= 0 {
		reps = DefaultResamples
	}
	level := b.Level
	if level <= 0 || level >= 1 {
		level = 0.95
	}
	rng := rand.New(rand.NewPCG(b.Seed, 0x6f746f736567)) // "otoseg"
	un := uint32(n)
	means := make([]float64, reps)
	for r := range means {
		var sum float64
		for range n {
			sum += x[rng.Uint32N(un)]
		}
		means[r] = sum / float64(n)
	}
	slices.Sort(means)
	return Percentile(means, 100*(1-level)/2), Percentile(means, 100*(1+level)/2)
}

// Rank returns the 1-based ranks of x, ties receiving the average of the
// ranks they span (scipy.stats.rankdata's default "average" method).
func Rank(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for t := i; t <= j; t++ {
			r[idx[t]] = avg
		}
		i = j + 1
	}
	return r
}

// tieGroups returns the sizes of groups of equal values (only groups > 1).
func tieGroups(x []float64) []int {
	s := slices.Clone(x)
	slices.Sort(s)
	var g []int
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[i] {
			j++
		}
		if j > i {
			g = append(g, j-i+1)
		}
		i = j + 1
	}
	return g
}

// normSF is the upper tail of the standard normal distribution.
func normSF(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }
