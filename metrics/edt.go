package metrics

import "math"

// squaredEDT replaces f, a box of dims d with voxel spacing sp (mm), by the
// exact squared Euclidean distance in mm² from each voxel centre to the
// nearest voxel whose input value is 0 (feature voxels hold 0, all others
// +Inf). It is the separable lower-envelope algorithm of Felzenszwalb and
// Huttenlocher (2012), one pass per axis with that axis' spacing, so
// anisotropic voxels are exact rather than approximated. Voxels with no
// feature anywhere in the box stay +Inf.
//
// The distance to a feature set is exact on any box that contains every
// feature voxel and every query voxel, which is why callers only pass the
// bounding box of the two surfaces being compared.
func squaredEDT(f []float64, d [3]int, sp [3]float64) {
	n := max(d[0], d[1], d[2])
	line := make([]float64, n)
	out := make([]float64, n)
	v := make([]int, n)
	z := make([]float64, n+1)
	strides := [3]int{1, d[0], d[0] * d[1]}
	for axis := 0; axis < 3; axis++ {
		a, b := (axis+1)%3, (axis+2)%3
		for jb := 0; jb < d[b]; jb++ {
			for ja := 0; ja < d[a]; ja++ {
				base := ja*strides[a] + jb*strides[b]
				st := strides[axis]
				m := d[axis]
				for q := 0; q < m; q++ {
					line[q] = f[base+q*st]
				}
				edt1D(line[:m], out[:m], sp[axis], v, z)
				for q := 0; q < m; q++ {
					f[base+q*st] = out[q]
				}
			}
		}
	}
}

// edt1D computes out[p] = min_q ((p-q)·h)² + f[q] over the finite f[q]
// (the lower envelope of parabolas rooted at the finite samples).
func edt1D(f, out []float64, h float64, v []int, z []float64) {
	n := len(f)
	k := -1
	for q := 0; q < n; q++ {
		if math.IsInf(f[q], 1) {
			continue
		}
		fq := f[q] + sq(float64(q)*h)
		var s float64
		for k >= 0 {
			vk := v[k]
			s = (fq - (f[vk] + sq(float64(vk)*h))) / (2 * h * float64(q-vk))
			if s > z[k] {
				break
			}
			k--
		}
		k++
		v[k] = q
		if k == 0 {
			z[0] = math.Inf(-1)
		} else {
			z[k] = s
		}
		z[k+1] = math.Inf(1)
	}
	if k < 0 {
		for p := range out {
			out[p] = math.Inf(1)
		}
		return
	}
	j := 0
	for p := 0; p < n; p++ {
		x := float64(p) * h
		for z[j+1] < x {
			j++
		}
		out[p] = sq(x-float64(v[j])*h) + f[v[j]]
	}
}

func sq(x float64) float64 { return x * x }
