package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// cutBeforeElastic is Patcher.Cut as it was before elastic deformation was
// added, kept verbatim so that TestCutWithoutElasticIsUnchanged can pin
// the promise that recipes without it cut the same patches.
func cutBeforeElastic(p *Patcher, rng *rand.Rand, s *Sample, img []float32, lab []uint8) {
	px, py, pz := p.Patch[0], p.Patch[1], p.Patch[2]
	// Patch centre in sample voxel coordinates.
	var c [3]float64
	if len(s.Foreground) > 0 && rng.Float64() < p.ForegroundFraction {
		f := int(s.Foreground[rng.IntN(len(s.Foreground))])
		nx, ny := s.Dims[0], s.Dims[1]
		c = [3]float64{float64(f % nx), float64(f / nx % ny), float64(f / (nx * ny))}
		// Jitter so the foreground is not always dead centre.
		for a := 0; a < 3; a++ {
			c[a] += (rng.Float64() - 0.5) * float64(p.Patch[a]) * 0.5
		}
	} else {
		for a := 0; a < 3; a++ {
			// Anywhere the patch still overlaps the sample by half.
			lo := float64(p.Patch[a])/4 - 0.5
			hi := float64(s.Dims[a]) - float64(p.Patch[a])/4 - 0.5
			if hi < lo {
				lo, hi = (float64(s.Dims[a])-1)/2, (float64(s.Dims[a])-1)/2
			}
			c[a] = lo + rng.Float64()*(hi-lo)
		}
	}
	// Spatial transform, in mm: src = c + R * scale * (dst - patchCentre).
	R := [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	scale := 1.0
	a := p.Aug
	if rng.Float64() < a.PRotate {
		m := a.MaxRotateDeg * math.Pi / 180
		R = rotation((rng.Float64()*2-1)*m, (rng.Float64()*2-1)*m, (rng.Float64()*2-1)*m)
	}
	if rng.Float64() < a.PScale {
		scale = a.ScaleLo + rng.Float64()*(a.ScaleHi-a.ScaleLo)
	}
	var mirror [3]bool
	for ax := 0; ax < 3; ax++ {
		mirror[ax] = rng.Float64() < a.PMirror
	}
	sp := s.Spacing
	// M maps a patch offset in voxels to a sample offset in voxels.
	var M [3][3]float64
	for r := 0; r < 3; r++ {
		for col := 0; col < 3; col++ {
			M[r][col] = R[r][col] * scale * sp[col] / sp[r]
			if mirror[col] {
				M[r][col] = -M[r][col]
			}
		}
	}
	identity := scale == 1 && R == [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	h := [3]float64{float64(px-1) / 2, float64(py-1) / 2, float64(pz-1) / 2}
	nx, ny, nz := s.Dims[0], s.Dims[1], s.Dims[2]
	o := 0
	for z := 0; z < pz; z++ {
		dz := float64(z) - h[2]
		for y := 0; y < py; y++ {
			dy := float64(y) - h[1]
			for x := 0; x < px; x++ {
				dx := float64(x) - h[0]
				sx := c[0] + M[0][0]*dx + M[0][1]*dy + M[0][2]*dz
				sy := c[1] + M[1][0]*dx + M[1][1]*dy + M[1][2]*dz
				sz := c[2] + M[2][0]*dx + M[2][1]*dy + M[2][2]*dz
				if identity {
					// Whole-voxel offsets: copy exactly.
					sx, sy, sz = math.Round(sx), math.Round(sy), math.Round(sz)
				}
				img[o] = trilinear(s.Image, nx, ny, nz, sx, sy, sz, s.Background)
				ix, iy, iz := int(math.Round(sx)), int(math.Round(sy)), int(math.Round(sz))
				if ix >= 0 && iy >= 0 && iz >= 0 && ix < nx && iy < ny && iz < nz {
					lab[o] = s.Label[ix+nx*(iy+ny*iz)]
				} else {
					lab[o] = 0
				}
				o++
			}
		}
	}
	p.intensity(rng, img)
}

// With PElastic 0, Cut draws the same random numbers and cuts the same
// bytes as before elastic deformation existed, even with its magnitude and
// grid set: seeded recipes and resumed runs are unchanged.
func TestCutWithoutElasticIsUnchanged(t *testing.T) {
	s := sphereSample(40, 8)
	s.Spacing = [3]float64{0.3, 0.3, 0.45}
	a := NNUNetAugment()
	a.PCalib, a.CalibGain, a.CalibOffset, a.CalibMean, a.CalibStd = 0.3, 0.1, 50, 380, 377
	a.ElasticMagMM, a.ElasticGridMM = 0.6, 6
	p := Patcher{Patch: [3]int{24, 16, 20}, ForegroundFraction: 0.33, Aug: a}
	old := p
	n := 24 * 16 * 20
	img, lab := make([]float32, n), make([]uint8, n)
	oimg, olab := make([]float32, n), make([]uint8, n)
	rng, orng := rand.New(rand.NewPCG(9, 10)), rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 40; trial++ {
		p.Cut(rng, s, img, lab)
		cutBeforeElastic(&old, orng, s, oimg, olab)
		for i := range img {
			if math.Float32bits(img[i]) != math.Float32bits(oimg[i]) || lab[i] != olab[i] {
				t.Fatalf("patch %d voxel %d: %v/%d, before elastic %v/%d", trial, i, img[i], lab[i], oimg[i], olab[i])
			}
		}
	}
	if rng.Uint64() != orng.Uint64() {
		t.Error("the random streams parted")
	}
}

// field draws an elastic field and returns it over the whole patch, in mm.
func field(e *elasticField, rng *rand.Rand, patch [3]int, sp [3]float64, mag, grid float64) (d [3][]float64) {
	e.draw(rng, patch, sp, mag, grid)
	for z := 0; z < patch[2]; z++ {
		dx, dy, dz := e.slice(z, [3]float64{1, 1, 1})
		d[0], d[1], d[2] = append(d[0], dx...), append(d[1], dy...), append(d[2], dz...)
	}
	return d
}

// The field never moves a voxel further than the asked magnitude (its
// B-spline weights make each displacement a convex combination of control
// vectors in that ball), typical voxels move about a quarter of it, and
// neighbouring voxels differ by at most 2 mag / grid per mm (the bound on
// a cubic B-spline's derivative): a smooth field, not noise.
func TestElasticFieldBoundedAndSmooth(t *testing.T) {
	for _, tt := range []struct {
		name      string
		patch     [3]int
		sp        [3]float64
		mag, grid float64
	}{
		{"baseline patch", [3]int{64, 64, 64}, [3]float64{0.3, 0.3, 0.3}, 0.6, 6},
		{"anisotropic", [3]int{24, 20, 16}, [3]float64{0.3, 0.3, 0.675}, 1, 3},
		{"grid wider than the patch", [3]int{8, 8, 8}, [3]float64{1, 1, 1}, 2, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e elasticField
			rng := rand.New(rand.NewPCG(11, 12))
			var peak, sum2 float64
			count := 0
			for trial := 0; trial < 5; trial++ {
				d := field(&e, rng, tt.patch, tt.sp, tt.mag, tt.grid)
				px, py := tt.patch[0], tt.patch[1]
				stride := [3]int{1, px, px * py}
				for i := range d[0] {
					l := math.Sqrt(d[0][i]*d[0][i] + d[1][i]*d[1][i] + d[2][i]*d[2][i])
					if l > tt.mag+1e-9 {
						t.Fatalf("displacement %.4f mm > magnitude %g", l, tt.mag)
					}
					peak = max(peak, l)
					sum2 += l * l
					count++
					x, y, z := i%px, i/px%py, i/(px*py)
					pos := [3]int{x, y, z}
					for a := 0; a < 3; a++ {
						if pos[a]+1 >= tt.patch[a] {
							continue
						}
						j := i + stride[a]
						dd := math.Sqrt(sq(d[0][j]-d[0][i]) + sq(d[1][j]-d[1][i]) + sq(d[2][j]-d[2][i]))
						if lim := 2 * tt.mag * tt.sp[a] / tt.grid; dd > lim+1e-9 {
							t.Fatalf("neighbours along axis %d at %v differ by %.4f mm > %.4f", a, pos, dd, lim)
						}
					}
				}
			}
			rms := math.Sqrt(sum2 / float64(count))
			t.Logf("peak %.3f mm, rms %.3f mm (%.2f of the magnitude)", peak, rms, rms/tt.mag)
			if peak < 0.3*tt.mag || rms < 0.15*tt.mag || rms > 0.4*tt.mag {
				t.Errorf("peak %.3f mm, rms %.3f mm: want a field of about a quarter of %g mm", peak, rms, tt.mag)
			}
		})
	}
}

func sq(x float64) float64 { return x * x }

// Just under Choi and Lee's bound (control displacements below 0.4 of the
// grid) the deformation does not fold: the Jacobian determinant of
// x -> x + d(x), by finite differences, stays positive.
func TestElasticFieldDoesNotFold(t *testing.T) {
	patch, sp, grid := [3]int{32, 32, 32}, [3]float64{0.5, 0.5, 0.5}, 4.0
	var e elasticField
	rng := rand.New(rand.NewPCG(13, 14))
	minDet := math.Inf(1)
	for trial := 0; trial < 10; trial++ {
		d := field(&e, rng, patch, sp, 0.39*grid, grid)
		n := patch[0]
		for z := 0; z+1 < n; z++ {
			for y := 0; y+1 < n; y++ {
				for x := 0; x+1 < n; x++ {
					i := x + n*(y+n*z)
					var J [3][3]float64
					for a, st := range [3]int{1, n, n * n} {
						for c := 0; c < 3; c++ {
							J[c][a] = (d[c][i+st] - d[c][i]) / sp[a]
						}
						J[a][a]++
					}
					minDet = min(minDet, volume.Det3(J))
				}
			}
		}
	}
	t.Logf("smallest Jacobian determinant %.3f", minDet)
	if !(minDet > 0) {
		t.Errorf("the deformation folds: Jacobian determinant %.3f", minDet)
	}
}

// A deformed sphere keeps its volume within a few percent and does change
// shape. The field is not divergence-free, so a structure smaller than the
// grid is also scaled a little (the 8 mm sphere under a 6 mm grid by up to
// about 8% in volume, 2-3% on average): shape and relative size vary, the
// scaling augmentation (0.7-1.4) still dominates size.
func TestElasticKeepsSphereVolume(t *testing.T) {
	s := sphereSample(40, 8)
	s.Foreground = nil
	want := 0
	for _, l := range s.Label {
		want += int(l)
	}
	p := Patcher{Patch: [3]int{40, 40, 40}, Aug: Augment{PElastic: 1, ElasticMagMM: 1, ElasticGridMM: 6}}
	img, lab := make([]float32, 40*40*40), make([]uint8, 40*40*40)
	rng := rand.New(rand.NewPCG(15, 16))
	const trials = 20
	var sum float64
	for trial := 0; trial < trials; trial++ {
		// Without foreground, a sample the size of the patch leaves one
		// place for it: centred on the sphere.
		p.Cut(rng, s, img, lab)
		got, moved := 0, 0
		for i, l := range lab {
			got += int(l)
			if l != s.Label[i] {
				moved++
			}
		}
		change := float64(got-want) / float64(want)
		sum += math.Abs(change)
		if math.Abs(change) > 0.12 {
			t.Errorf("deformed sphere has %d voxels, want %d within 12%%", got, want)
		}
		if moved < want/50 {
			t.Errorf("only %d of %d voxels changed label: no deformation", moved, want)
		}
	}
	if mean := sum / trials; mean > 0.04 {
		t.Errorf("volume changed by %.1f%% on average, want under 4%%", 100*mean)
	}
}

// Image (trilinear) and label (nearest) are sampled at the same displaced
// coordinate: where the interpolated mask is nearly 1 the nearest voxel,
// which weighs at least 1/8, must be labelled, and where it is nearly 0 it
// must not be.
func TestElasticImageFollowsLabel(t *testing.T) {
	s := sphereSample(40, 10)
	for i, l := range s.Label {
		s.Image[i] = float32(l)
	}
	s.Background = 0
	p := Patcher{Patch: [3]int{32, 32, 32}, ForegroundFraction: 1,
		Aug: Augment{PRotate: 0.5, MaxRotateDeg: 30, PElastic: 1, ElasticMagMM: 3, ElasticGridMM: 8}}
	img, lab := make([]float32, 32*32*32), make([]uint8, 32*32*32)
	rng := rand.New(rand.NewPCG(17, 18))
	for trial := 0; trial < 10; trial++ {
		p.Cut(rng, s, img, lab)
		for i := range img {
			if (img[i] > 0.9 && lab[i] != 1) || (img[i] < 0.1 && lab[i] != 0) {
				t.Fatalf("patch %d voxel %d: image %.3f, label %d", trial, i, img[i], lab[i])
			}
		}
	}
}

// The same seed gives the same deformed patches, another seed others.
func TestElasticDeterministic(t *testing.T) {
	s := sphereSample(40, 8)
	s.Spacing = [3]float64{0.3, 0.3, 0.45}
	p := Patcher{Patch: [3]int{24, 16, 20}, ForegroundFraction: 1, Aug: Augment{PElastic: 1, ElasticMagMM: 0.6, ElasticGridMM: 2}}
	cut := func(seed uint64) ([]float32, []uint8) {
		var img []float32
		var lab []uint8
		q := p
		rng := rand.New(rand.NewPCG(seed, 1))
		for trial := 0; trial < 5; trial++ {
			i, l := make([]float32, 24*16*20), make([]uint8, 24*16*20)
			q.Cut(rng, s, i, l)
			img, lab = append(img, i...), append(lab, l...)
		}
		return img, lab
	}
	i1, l1 := cut(1)
	i2, l2 := cut(1)
	i3, _ := cut(2)
	if !slices.Equal(i1, i2) || !slices.Equal(l1, l2) {
		t.Error("the same seed cut different patches")
	}
	if slices.Equal(i1, i3) {
		t.Error("different seeds cut the same patches")
	}
}

// Once its buffers are sized, an elastic patch allocates nothing.
func TestElasticCutDoesNotAllocate(t *testing.T) {
	s := sphereSample(40, 8)
	p := Patcher{Patch: [3]int{24, 24, 24}, Aug: Augment{PRotate: 1, MaxRotateDeg: 15, PElastic: 1, ElasticMagMM: 1, ElasticGridMM: 6}}
	img, lab := make([]float32, 24*24*24), make([]uint8, 24*24*24)
	rng := rand.New(rand.NewPCG(19, 20))
	p.Cut(rng, s, img, lab)
	if n := testing.AllocsPerRun(20, func() { p.Cut(rng, s, img, lab) }); n != 0 {
		t.Errorf("%.1f allocations per elastic patch, want 0", n)
	}
}
