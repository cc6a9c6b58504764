package morph

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/internal/parallel"
)

// EDT returns, for every voxel of m, the Euclidean distance in mm from its
// centre to the centre of the nearest background voxel (0 on background),
// with voxel size spacing: scipy.ndimage.distance_transform_edt(m,
// sampling=spacing) as float32. Voxels outside the grid do not count as
// background. When m has no background at all every distance is +Inf.
//
// It is exact: the separable algorithm of Felzenszwalb and Huttenlocher
// (2012), a 1-D scan along x and then the lower envelope of parabolas along
// y and z, working in place on the squared distances (one float32 per voxel,
// the result itself) and parallel across lines.
func EDT(m *Mask, spacing [3]float64) ([]float32, error) {
	d, err := SquaredEDT(m, spacing, false)
	if err != nil {
		return nil, err
	}
	for i, x := range d {
		d[i] = float32(math.Sqrt(float64(x)))
	}
	return d, nil
}

// SquaredEDT returns squared distances in mm² to the nearest voxel whose mask
// value is toForeground: false gives the distance of each voxel to the
// background (EDT squared), true the distance of each voxel to the
// foreground (0 inside it), which is what dilation needs without a
// complemented copy of the mask.
func SquaredEDT(m *Mask, spacing [3]float64, toForeground bool) ([]float32, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	for a := 0; a < 3; a++ {
		if !(spacing[a] > 0) || math.IsInf(spacing[a], 0) {
			return nil, fmt.Errorf("morph: distance transform: spacing %v must be positive and finite", spacing)
		}
	}
	nx, ny, nz := m.Dims[0], m.Dims[1], m.Dims[2]
	d := make([]float32, len(m.Data))
	inf := float32(math.Inf(1))

	// x: two scans per row give the index distance to the nearest site.
	wx := spacing[0] * spacing[0]
	parallel.For(ny*nz, func() struct{} { return struct{}{} }, func(row int, _ struct{}) {
		base := row * nx
		src := m.Data[base : base+nx]
		dst := d[base : base+nx]
		last := -1
		for i, b := range src {
			if b == toForeground {
				last = i
			}
			if last >= 0 {
				dst[i] = float32(i - last)
			} else {
				dst[i] = inf
			}
		}
		last = -1
		for i := nx - 1; i >= 0; i-- {
			if src[i] == toForeground {
				last = i
			}
			if last >= 0 && float32(last-i) < dst[i] {
				dst[i] = float32(last - i)
			}
		}
		for i, x := range dst {
			if x != inf {
				dst[i] = float32(float64(x) * float64(x) * wx)
			}
		}
	})
	// y and z: lower envelopes on lines gathered a block of columns at a time,
	// so strided reads fetch whole cache lines.
	const block = 64
	type scratch struct {
		f, out []float64
		v      []int
		z      []float64
	}
	newScratch := func(n int) func() *scratch {
		return func() *scratch {
			return &scratch{f: make([]float64, n*block), out: make([]float64, n), v: make([]int, n), z: make([]float64, n+1)}
		}
	}
	envelope := func(data []float32, n, stride, off, width int, w float64, sc *scratch) {
		for r := 0; r < n; r++ {
			row := data[off+r*stride : off+r*stride+width]
			for e, x := range row {
				sc.f[e*n+r] = float64(x)
			}
		}
		for e := 0; e < width; e++ {
			f := sc.f[e*n : (e+1)*n]
			lowerEnvelope(f, w, sc.out, sc.v, sc.z)
			copy(f, sc.out)
		}
		for r := 0; r < n; r++ {
			row := data[off+r*stride : off+r*stride+width]
			for e := range row {
				row[e] = float32(sc.f[e*n+r])
			}
		}
	}
	if ny > 1 {
		wy := spacing[1] * spacing[1]
		blocksPerSlice := (nx + block - 1) / block
		parallel.For(nz*blocksPerSlice, newScratch(ny), func(q int, sc *scratch) {
			k, b := q/blocksPerSlice, q%blocksPerSlice
			i0 := b * block
			envelope(d, ny, nx, k*nx*ny+i0, min(block, nx-i0), wy, sc)
		})
	}
	if nz > 1 {
		wz := spacing[2] * spacing[2]
		plane := nx * ny
		blocks := (plane + block - 1) / block
		parallel.For(blocks, newScratch(nz), func(q int, sc *scratch) {
			p0 := q * block
			envelope(d, nz, plane, p0, min(block, plane-p0), wz, sc)
		})
	}
	return d, nil
}

// lowerEnvelope sets out[q] = min_p f[p] + w*(q-p)^2 (Felzenszwalb and
// Huttenlocher's 1-D squared distance transform), skipping infinite f.
// v and z are scratch of len(f) and len(f)+1.
func lowerEnvelope(f []float64, w float64, out []float64, v []int, z []float64) {
	n := len(f)
	k := -1
	for q := 0; q < n; q++ {
		if math.IsInf(f[q], 1) {
			continue
		}
		fq := f[q] + w*float64(q)*float64(q)
		for k >= 0 {
			p := v[k]
			s := (fq - (f[p] + w*float64(p)*float64(p))) / (2 * w * float64(q-p))
			if s <= z[k] {
				k--
				continue
			}
			k++
			v[k], z[k] = q, s
			break
		}
		if k < 0 {
			k = 0
			v[0], z[0] = q, math.Inf(-1)
		}
		z[k+1] = math.Inf(1)
	}
	if k < 0 {
		for q := range out[:n] {
			out[q] = math.Inf(1)
		}
		return
	}
	j := 0
	for q := 0; q < n; q++ {
		for z[j+1] < float64(q) {
			j++
		}
		dq := float64(q - v[j])
		out[q] = w*dq*dq + f[v[j]]
	}
}

// Dilate returns m grown by a ball of radius mm: every voxel whose centre is
// within radius of a foreground voxel centre (the structuring element is the
// set of voxel offsets of length <= radius in mm, so anisotropic voxels get
// an ellipsoid in index space). Computed exactly from the distance transform,
// so its cost does not grow with the radius.
func Dilate(m *Mask, spacing [3]float64, radius float64) (*Mask, error) {
	d, err := SquaredEDT(m, spacing, true)
	if err != nil {
		return nil, err
	}
	r2 := float32(radius * radius * (1 + 1e-6))
	out := NewMask(m.Dims)
	for i, x := range d {
		out.Data[i] = x <= r2
	}
	return out, nil
}

// Erode returns m shrunk by a ball of radius mm: the foreground voxels with
// no background voxel centre within radius. The outside of the grid counts
// as foreground (scipy's border_value=1), so objects touching the border are
// not eaten from it.
func Erode(m *Mask, spacing [3]float64, radius float64) (*Mask, error) {
	d, err := SquaredEDT(m, spacing, false)
	if err != nil {
		return nil, err
	}
	r2 := float32(radius * radius * (1 + 1e-6))
	out := NewMask(m.Dims)
	for i, x := range d {
		out.Data[i] = m.Data[i] && x > r2
	}
	return out, nil
}
