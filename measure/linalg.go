package measure

import (
	"errors"
	"math"
)

// vec is a point or direction in world millimetres (LPS).
type vec [3]float64

func (a vec) add(b vec) vec       { return vec{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec) sub(b vec) vec       { return vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec) scale(s float64) vec { return vec{a[0] * s, a[1] * s, a[2] * s} }
func (a vec) dot(b vec) float64   { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec) norm() float64       { return math.Sqrt(a.dot(a)) }
func (a vec) cross(b vec) vec {
	return vec{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec) unit() vec            { return a.scale(1 / a.norm()) }
func (a vec) perp(d vec) vec       { return a.sub(d.scale(a.dot(d))) }
func (a vec) round(n float64) vec  { return vec{roundTo(a[0], n), roundTo(a[1], n), roundTo(a[2], n)} }
func roundTo(x, n float64) float64 { return math.Round(x*n) / n }

// mean and covariance of points.
func moments(ps []vec) (m vec, cov [3][3]float64) {
	for _, p := range ps {
		m = m.add(p)
	}
	m = m.scale(1 / float64(len(ps)))
	for _, p := range ps {
		d := p.sub(m)
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				cov[a][b] += d[a] * d[b]
			}
		}
	}
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			cov[a][b] /= float64(len(ps))
		}
	}
	return m, cov
}

// symEigen returns the eigenvalues (ascending) and unit eigenvectors of a
// symmetric 3x3 matrix by Jacobi rotations.
func symEigen(a [3][3]float64) (vals [3]float64, vecs [3]vec) {
	v := [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	for sweep := 0; sweep < 50; sweep++ {
		off := a[0][1]*a[0][1] + a[0][2]*a[0][2] + a[1][2]*a[1][2]
		if off < 1e-30 {
			break
		}
		for p := 0; p < 2; p++ {
			for q := p + 1; q < 3; q++ {
				if math.Abs(a[p][q]) < 1e-300 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < 3; k++ {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < 3; k++ {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := 0; k < 3; k++ {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p], v[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	idx := [3]int{0, 1, 2}
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			if a[idx[j]][idx[j]] < a[idx[i]][idx[i]] {
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
	}
	for r, i := range idx {
		vals[r] = a[i][i]
		vecs[r] = vec{v[0][i], v[1][i], v[2][i]}.unit()
	}
	return vals, vecs
}

// errSingular is returned by leastSquares when the design does not
// determine the parameters.
var errSingular = errors.New("singular least-squares system")

// leastSquares solves min Σ w_i (x_i·β - y_i)² by the normal equations
// (the systems here have at most eight well-scaled parameters).
func leastSquares(x [][]float64, y, w []float64) ([]float64, error) {
	n := len(x[0])
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n+1)
	}
	for r := range x {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				a[i][j] += w[r] * x[r][i] * x[r][j]
			}
			a[i][n] += w[r] * x[r][i] * y[r]
		}
	}
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return nil, errSingular
		}
		a[col], a[piv] = a[piv], a[col]
		for r := 0; r < n; r++ {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c <= n; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = a[i][n] / a[i][i]
	}
	return out, nil
}
