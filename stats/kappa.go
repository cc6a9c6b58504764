package stats

import (
	"errors"
	"fmt"
	"math"
)

// Weighting selects the disagreement weights of Cohen's kappa.
type Weighting int

// Weightings of Cohen's kappa. With K ordered categories c_1..c_K and
// ratings a, b, the disagreement weight is 0 / 1 (unweighted),
// |a-b|/(c_K-c_1) (linear) or ((a-b)/(c_K-c_1))^2 (quadratic); weights use
// the category values, so a level nobody used still counts as a step.
const (
	Unweighted Weighting = iota
	Linear
	Quadratic
)

func (w Weighting) String() string {
	switch w {
	case Linear:
		return "linear"
	case Quadratic:
		return "quadratic"
	}
	return "unweighted"
}

// ErrUndefined reports a kappa whose chance agreement is perfect (every
// rating in one category), where kappa is 0/0.
var ErrUndefined = errors.New("stats: kappa undefined (all ratings in one category)")

// CohenKappa is Cohen's kappa between two readers' ratings a and b of the
// same items, on the ordered categories cats (e.g. 1, 2, 3, 4):
//
//	kappa = 1 - sum(w * observed) / sum(w * expected)
//
// where observed is the joint distribution of (a, b) and expected the
// product of the two marginals.
func CohenKappa(a, b []int, cats []int, w Weighting) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("kappa: %d and %d ratings, want pairs", len(a), len(b))
	}
	if len(a) == 0 {
		return 0, fmt.Errorf("kappa: %w", ErrEmpty)
	}
	if len(cats) < 2 {
		return 0, errors.New("kappa: need at least two categories")
	}
	pos := map[int]int{}
	for i, c := range cats {
		pos[c] = i
	}
	k := len(cats)
	obs := make([]float64, k*k)
	ra, rb := make([]float64, k), make([]float64, k)
	n := float64(len(a))
	for i := range a {
		ia, ok1 := pos[a[i]]
		ib, ok2 := pos[b[i]]
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("kappa: rating pair (%d, %d) outside categories %v", a[i], b[i], cats)
		}
		obs[ia*k+ib] += 1 / n
		ra[ia] += 1 / n
		rb[ib] += 1 / n
	}
	span := float64(cats[k-1] - cats[0])
	var num, den float64
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			var wt float64
			switch w {
			case Linear:
				wt = math.Abs(float64(cats[i]-cats[j])) / span
			case Quadratic:
				d := float64(cats[i]-cats[j]) / span
				wt = d * d
			default:
				if i != j {
					wt = 1
				}
			}
			num += wt * obs[i*k+j]
			den += wt * ra[i] * rb[j]
		}
	}
	if den == 0 {
		return 0, ErrUndefined
	}
	return 1 - num/den, nil
}

// FleissKappa is Fleiss' kappa for items each rated by the same number of
// readers: counts[i][j] is how many readers put item i in category j.
//
//	P_i = (sum_j n_ij^2 - n) / (n (n-1)),  p_j = sum_i n_ij / (N n)
//	kappa = (mean P_i - sum p_j^2) / (1 - sum p_j^2)
func FleissKappa(counts [][]int) (float64, error) {
	if len(counts) == 0 {
		return 0, fmt.Errorf("fleiss kappa: %w", ErrEmpty)
	}
	k := len(counts[0])
	raters := -1
	p := make([]float64, k)
	var pbar float64
	for i, row := range counts {
		if len(row) != k {
			return 0, fmt.Errorf("fleiss kappa: item %d has %d categories, want %d", i, len(row), k)
		}
		n := 0
		var sq float64
		for j, c := range row {
			if c < 0 {
				return 0, fmt.Errorf("fleiss kappa: negative count for item %d", i)
			}
			n += c
			sq += float64(c * c)
			p[j] += float64(c)
		}
		if raters < 0 {
			raters = n
		}
		if n != raters {
			return 0, fmt.Errorf("fleiss kappa: item %d has %d ratings, others %d", i, n, raters)
		}
		if n < 2 {
			return 0, errors.New("fleiss kappa: need at least two ratings per item")
		}
		pbar += (sq - float64(n)) / float64(n*(n-1))
	}
	nItems := float64(len(counts))
	pbar /= nItems
	var pe float64
	for j := range p {
		p[j] /= nItems * float64(raters)
		pe += p[j] * p[j]
	}
	if pe >= 1 {
		return 0, ErrUndefined
	}
	return (pbar - pe) / (1 - pe), nil
}
