package stats

import (
	"cmp"
	"math"
	"slices"
)

// PercentilesInPlace returns the ps-th percentiles (0..100) of x exactly as
// Percentile gives them on x sorted, but by selection, in linear time
// rather than a sort's n log n: checking a whole-head CT's million sampled
// voxels took a sort of 80 ms. It reorders x. x must hold no NaN; NaN
// results for an empty x.
func PercentilesInPlace(x []float64, ps ...float64) []float64 {
	out := make([]float64, len(ps))
	n := len(x)
	if n == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	// Ranks in ascending order: once rank k is selected nothing after it
	// is smaller, so each later selection searches only what lies beyond
	// the last.
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	rank := func(p float64) (lo int, frac float64) {
		pos := p / 100 * float64(n-1)
		lo = int(math.Floor(pos))
		switch {
		case lo < 0:
			return 0, 0
		case lo >= n-1:
			return n - 1, 0
		}
		return lo, pos - float64(lo)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ps[a], ps[b]) })
	from := 0
	for _, i := range order {
		lo, frac := rank(ps[i])
		if lo < from {
			lo = from // NaN p, or equal ranks: already in place
		}
		v := selectKth(x[from:], lo-from)
		from = lo
		if frac == 0 || lo+1 >= n {
			out[i] = v
			continue
		}
		// Everything after lo is now >= v: the next order statistic is
		// the smallest of them.
		b := x[lo+1]
		for _, w := range x[lo+2:] {
			b = min(b, w)
		}
		out[i] = v + frac*(b-v)
	}
	return out
}

// selectKth reorders x so that x[k] holds the k-th smallest value, nothing
// before it is larger and nothing after it smaller, and returns x[k]
// (Hoare's selection with a median-of-three pivot).
func selectKth(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for hi > lo {
		mid := lo + (hi-lo)/2
		// Order x[lo], x[mid], x[hi]; the median becomes the pivot.
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}
