package train

import (
	"math"
	"math/rand/v2"
)

// elasticField is the smooth random displacement field of the elastic
// deformation augmentation: a uniform cubic B-spline over the patch whose
// control points, every gridMM along each axis, carry displacement vectors
// drawn uniformly in the ball of radius magMM.
//
// nnU-Net (batchgenerators) smooths per-voxel noise with a Gaussian of
// sigma 9-13 voxels, which costs a 3D convolution per patch. A coarse
// control grid interpolated separably costs about 12 multiply-adds per
// voxel and component, and its B-spline gives the field two properties
// that tests can rely on and a user can reason about in millimetres:
//
//   - The weights of a cubic B-spline are non-negative and sum to one, so
//     every displacement is a convex combination of control vectors and
//     stays in their ball: no voxel moves more than magMM.
//   - Its derivative is a convex combination of control-vector differences
//     divided by the grid spacing, so it is at most 2 magMM / gridMM; and
//     by Choi and Lee's injectivity condition for cubic B-splines (2000),
//     control displacements below 0.4 of the spacing cannot fold the
//     image over itself: magMM < 0.4 gridMM keeps anatomy's topology.
//
// Coefficients, weights and intermediate passes live in the field and are
// reused from patch to patch; once sized for a patch shape the field does
// not allocate.
type elasticField struct {
	// Key of the weight tables: the patch, the sample spacing and the grid.
	patch [3]int
	sp    [3]float64
	grid  float64
	// n control points per axis (intervals + 3); base[a][i] is the first of
	// the four control points that weigh on patch voxel i along axis a,
	// with weights w[a][i].
	n    [3]int
	base [3][]int
	w    [3][][4]float64
	// coef holds the control vectors (mm), one component after another,
	// each x fastest: [comp][kz][ky][kx].
	coef []float64
	// ax is coef interpolated along x: [comp][kz][ky][x]; axy along y too:
	// [comp][kz][y][x]; slab is one z slice of the field in sample voxels:
	// [comp][y][x].
	ax, axy, slab []float64
}

// bspline3 returns the weights of the uniform cubic B-spline's four
// control points at fraction u in [0, 1] of an interval.
func bspline3(u float64) [4]float64 {
	v := 1 - u
	u2, u3 := u*u, u*u*u
	return [4]float64{v * v * v / 6, (3*u3 - 6*u2 + 4) / 6, (-3*u3 + 3*u2 + 3*u + 1) / 6, u3 / 6}
}

// draw draws a new field for a patch of the given shape whose voxels are sp
// mm apart: control vectors uniform in the ball of radius mag mm, control
// points every grid mm from the patch's first voxel (one beyond it on each
// side, as a cubic B-spline needs).
func (e *elasticField) draw(rng *rand.Rand, patch [3]int, sp [3]float64, mag, grid float64) {
	if patch != e.patch || sp != e.sp || grid != e.grid {
		e.patch, e.sp, e.grid = patch, sp, grid
		for a := 0; a < 3; a++ {
			extent := float64(patch[a]-1) * sp[a]
			k := max(1, int(math.Ceil(extent/grid-1e-9)))
			e.n[a] = k + 3
			e.base[a] = resize(e.base[a], patch[a])
			e.w[a] = resize(e.w[a], patch[a])
			for i := 0; i < patch[a]; i++ {
				t := float64(i) * sp[a] / grid
				j := min(int(t), k-1)
				e.base[a][i] = j
				e.w[a][i] = bspline3(t - float64(j))
			}
		}
		nc := e.n[0] * e.n[1] * e.n[2]
		e.coef = resize(e.coef, 3*nc)
		e.ax = resize(e.ax, 3*e.n[2]*e.n[1]*patch[0])
		e.axy = resize(e.axy, 3*e.n[2]*patch[1]*patch[0])
		e.slab = resize(e.slab, 3*patch[1]*patch[0])
	}
	nc := e.n[0] * e.n[1] * e.n[2]
	for i := 0; i < nc; i++ {
		// A Gaussian direction and a radius with density ∝ r²: uniform in
		// the ball.
		x, y, z := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		r := 0.0
		if l := math.Sqrt(x*x + y*y + z*z); l > 0 {
			r = mag * math.Cbrt(rng.Float64()) / l
		}
		e.coef[i], e.coef[nc+i], e.coef[2*nc+i] = x*r, y*r, z*r
	}
	// Interpolate along x, then along y; z is left to slice.
	px, py := patch[0], patch[1]
	nx, ny, nz := e.n[0], e.n[1], e.n[2]
	for row := 0; row < 3*nz*ny; row++ {
		src := e.coef[row*nx : (row+1)*nx]
		dst := e.ax[row*px : (row+1)*px]
		for x := range dst {
			b, w := e.base[0][x], &e.w[0][x]
			dst[x] = w[0]*src[b] + w[1]*src[b+1] + w[2]*src[b+2] + w[3]*src[b+3]
		}
	}
	for plane := 0; plane < 3*nz; plane++ {
		src := e.ax[plane*ny*px : (plane+1)*ny*px]
		dst := e.axy[plane*py*px : (plane+1)*py*px]
		for y := 0; y < py; y++ {
			b, w := e.base[1][y], &e.w[1][y]
			r0, r1, r2, r3 := src[b*px:(b+1)*px], src[(b+1)*px:(b+2)*px], src[(b+2)*px:(b+3)*px], src[(b+3)*px:(b+4)*px]
			out := dst[y*px : (y+1)*px]
			for x := range out {
				out[x] = w[0]*r0[x] + w[1]*r1[x] + w[2]*r2[x] + w[3]*r3[x]
			}
		}
	}
}

// slice returns the displacement of patch slice z, x fastest, divided by
// scale per component (the sample's spacing, to turn mm into sample
// voxels). The slices are valid until the next call.
func (e *elasticField) slice(z int, scale [3]float64) (dx, dy, dz []float64) {
	px, py := e.patch[0], e.patch[1]
	nz := e.n[2]
	b, w := e.base[2][z], e.w[2][z]
	m := px * py
	for c := 0; c < 3; c++ {
		src := e.axy[c*nz*m : (c+1)*nz*m]
		r0, r1, r2, r3 := src[b*m:(b+1)*m], src[(b+1)*m:(b+2)*m], src[(b+2)*m:(b+3)*m], src[(b+3)*m:(b+4)*m]
		w0, w1, w2, w3 := w[0]/scale[c], w[1]/scale[c], w[2]/scale[c], w[3]/scale[c]
		out := e.slab[c*m : (c+1)*m]
		for i := range out {
			out[i] = w0*r0[i] + w1*r1[i] + w2*r2[i] + w3*r3[i]
		}
	}
	return e.slab[:m], e.slab[m : 2*m], e.slab[2*m : 3*m]
}

// resize returns s with length n, reusing its array when it is big enough.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
