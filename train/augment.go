package train

import (
	"math"
	"math/rand/v2"
)

// Sample is one training image in network space: a normalised image and its
// label map on the same grid (x fastest), with the foreground voxels listed
// for foreground oversampling.
type Sample struct {
	ID      string
	Dims    [3]int
	Spacing [3]float64
	Image   []float32
	Label   []uint8
	// Foreground holds flat indices of labelled voxels (possibly subsampled).
	Foreground []int32
	// Background is the normalised value of air, used outside the image.
	Background float32
}

// Augment holds the probabilities and ranges of the nnU-Net augmentations
// (../reference: rotation, scaling, elastic deformation, noise, blur,
// brightness, contrast, gamma, mirroring). The zero value applies none.
type Augment struct {
	PRotate, MaxRotateDeg             float64
	PScale, ScaleLo, ScaleHi          float64
	PNoise, NoiseVar                  float64
	PBlur, BlurLo, BlurHi             float64
	PBright, BrightLo, BrightHi       float64
	PContrast, ContrastLo, ContrastHi float64
	PGamma, GammaLo, GammaHi          float64
	PGammaInvert                      float64
	// PLowRes simulates a coarser scan: the patch is downsampled by a
	// factor in [LowResLo, 1] per axis (nearest) and brought back (linear).
	PLowRes, LowResLo float64
	PMirror           float64 // per axis
	// PCalib simulates another scanner's HU calibration, which nnU-Net's
	// multiplicative brightness (on z-scores) does not: stored HU =
	// true HU × gain + offset, gain in 1 ± CalibGain, offset in
	// ± CalibOffset, on a patch z-scored with CalibMean and CalibStd (the
	// plan's HU statistics). Zero PCalib draws nothing from the random
	// stream, so recipes without it are unchanged.
	PCalib, CalibGain, CalibOffset float64
	CalibMean, CalibStd            float64
	// PElastic is the probability that a patch is elastically deformed:
	// a smooth random displacement field is added to the rotation and
	// scaling, so the network sees canals bent and cochleae wound a little
	// differently from any training ear (nnU-Net has it, off by default).
	// The field is a cubic B-spline with control points every ElasticGridMM
	// (its smoothness: bends shorter than about that are not made), whose
	// control vectors are uniform in a ball of ElasticMagMM: no voxel moves
	// more than ElasticMagMM, typical ones move about a quarter of it, and
	// ElasticMagMM below 0.4 ElasticGridMM cannot fold the patch over
	// itself (see elasticField). Image and label follow the same displaced
	// coordinates. Zero PElastic draws nothing from the random stream, so
	// recipes without it are unchanged.
	PElastic, ElasticMagMM, ElasticGridMM float64
}

// NNUNetAugment returns nnU-Net's default augmentation probabilities.
func NNUNetAugment() Augment {
	return Augment{
		PRotate: 0.2, MaxRotateDeg: 30,
		PScale: 0.2, ScaleLo: 0.7, ScaleHi: 1.4,
		PNoise: 0.1, NoiseVar: 0.1,
		PBlur: 0.2, BlurLo: 0.5, BlurHi: 1,
		PBright: 0.15, BrightLo: 0.75, BrightHi: 1.25,
		PContrast: 0.15, ContrastLo: 0.75, ContrastHi: 1.25,
		PGamma: 0.3, GammaLo: 0.7, GammaHi: 1.5, PGammaInvert: 0.1,
		PLowRes: 0.25, LowResLo: 0.5,
		PMirror: 0.5,
	}
}

// Patcher cuts augmented training patches out of samples, reusing its
// buffers from one patch to the next: one Patcher must not cut in two
// goroutines at once.
type Patcher struct {
	Patch [3]int
	// ForegroundFraction of patches are centred on a labelled voxel.
	ForegroundFraction float64
	Aug                Augment

	elastic elasticField
}

// Cut fills img and lab (patch-sized, x fastest) with an augmented patch of s.
func (p *Patcher) Cut(rng *rand.Rand, s *Sample, img []float32, lab []uint8) {
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
	// Spatial transform, in mm: src = c + R * scale * (dst - patchCentre),
	// plus an elastic displacement of dst when drawn.
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
	// The elastic field is drawn after the affine transform's parameters,
	// and only when asked for, so that recipes without it draw the same
	// random numbers as before it existed.
	elastic := a.PElastic > 0 && a.ElasticMagMM > 0 && a.ElasticGridMM > 0 && rng.Float64() < a.PElastic
	if elastic {
		p.elastic.draw(rng, p.Patch, sp, a.ElasticMagMM, a.ElasticGridMM)
	}
	identity := !elastic && scale == 1 && R == [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	h := [3]float64{float64(px-1) / 2, float64(py-1) / 2, float64(pz-1) / 2}
	nx, ny, nz := s.Dims[0], s.Dims[1], s.Dims[2]
	var ex, ey, ez []float64
	o := 0
	for z := 0; z < pz; z++ {
		dz := float64(z) - h[2]
		if elastic {
			// This slice's displacements, in sample voxels.
			ex, ey, ez = p.elastic.slice(z, sp)
		}
		for y := 0; y < py; y++ {
			dy := float64(y) - h[1]
			for x := 0; x < px; x++ {
				dx := float64(x) - h[0]
				sx := c[0] + M[0][0]*dx + M[0][1]*dy + M[0][2]*dz
				sy := c[1] + M[1][0]*dx + M[1][1]*dy + M[1][2]*dz
				sz := c[2] + M[2][0]*dx + M[2][1]*dy + M[2][2]*dz
				if elastic {
					j := x + px*y
					sx, sy, sz = sx+ex[j], sy+ey[j], sz+ez[j]
				}
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

// intensity applies the intensity augmentations in nnU-Net's order.
func (p *Patcher) intensity(rng *rand.Rand, img []float32) {
	a := p.Aug
	if a.PCalib > 0 && a.CalibStd > 0 && rng.Float64() < a.PCalib {
		g := 1 + a.CalibGain*(2*rng.Float64()-1)
		off := a.CalibOffset * (2*rng.Float64() - 1)
		// z' = ((z·sd + mean)·g + off − mean) / sd
		scale := float32(g)
		shift := float32(((g-1)*a.CalibMean + off) / a.CalibStd)
		for i := range img {
			img[i] = img[i]*scale + shift
		}
	}
	if rng.Float64() < a.PNoise {
		sd := math.Sqrt(rng.Float64() * a.NoiseVar)
		for i := range img {
			img[i] += float32(rng.NormFloat64() * sd)
		}
	}
	if rng.Float64() < a.PBlur {
		blur(img, p.Patch, a.BlurLo+rng.Float64()*(a.BlurHi-a.BlurLo))
	}
	if rng.Float64() < a.PLowRes {
		var f [3]float64
		for ax := 0; ax < 3; ax++ {
			f[ax] = a.LowResLo + rng.Float64()*(1-a.LowResLo)
		}
		lowRes(img, p.Patch, f)
	}
	if rng.Float64() < a.PBright {
		f := float32(a.BrightLo + rng.Float64()*(a.BrightHi-a.BrightLo))
		for i := range img {
			img[i] *= f
		}
	}
	if rng.Float64() < a.PContrast {
		f := float32(a.ContrastLo + rng.Float64()*(a.ContrastHi-a.ContrastLo))
		mean, lo, hi := meanRange(img)
		for i := range img {
			img[i] = min(max((img[i]-mean)*f+mean, lo), hi)
		}
	}
	if rng.Float64() < a.PGamma {
		g := a.GammaLo + rng.Float64()*(a.GammaHi-a.GammaLo)
		invert := rng.Float64() < a.PGammaInvert
		if invert {
			for i := range img {
				img[i] = -img[i]
			}
		}
		_, lo, hi := meanRange(img)
		rg := float64(hi - lo)
		if rg > 0 {
			for i := range img {
				img[i] = lo + float32(math.Pow(float64(img[i]-lo)/rg, g)*rg)
			}
		}
		if invert {
			for i := range img {
				img[i] = -img[i]
			}
		}
	}
}

// meanRange returns the mean, minimum and maximum of x.
func meanRange(x []float32) (mean, lo, hi float32) {
	lo, hi = x[0], x[0]
	var s float64
	for _, v := range x {
		s += float64(v)
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return float32(s / float64(len(x))), lo, hi
}

// trilinear samples data at a continuous index, returning bg outside.
func trilinear(data []float32, nx, ny, nz int, x, y, z float64, bg float32) float32 {
	x0, y0, z0 := math.Floor(x), math.Floor(y), math.Floor(z)
	fx, fy, fz := float32(x-x0), float32(y-y0), float32(z-z0)
	ix, iy, iz := int(x0), int(y0), int(z0)
	at := func(i, j, k int) float32 {
		if i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz {
			return bg
		}
		return data[i+nx*(j+ny*k)]
	}
	if fx == 0 && fy == 0 && fz == 0 {
		return at(ix, iy, iz)
	}
	c00 := at(ix, iy, iz)*(1-fx) + at(ix+1, iy, iz)*fx
	c10 := at(ix, iy+1, iz)*(1-fx) + at(ix+1, iy+1, iz)*fx
	c01 := at(ix, iy, iz+1)*(1-fx) + at(ix+1, iy, iz+1)*fx
	c11 := at(ix, iy+1, iz+1)*(1-fx) + at(ix+1, iy+1, iz+1)*fx
	c0 := c00*(1-fy) + c10*fy
	c1 := c01*(1-fy) + c11*fy
	return c0*(1-fz) + c1*fz
}

// rotation returns Rz(c) * Ry(b) * Rx(a).
func rotation(a, b, c float64) [3][3]float64 {
	ca, sa := math.Cos(a), math.Sin(a)
	cb, sb := math.Cos(b), math.Sin(b)
	cc, sc := math.Cos(c), math.Sin(c)
	rx := [3][3]float64{{1, 0, 0}, {0, ca, -sa}, {0, sa, ca}}
	ry := [3][3]float64{{cb, 0, sb}, {0, 1, 0}, {-sb, 0, cb}}
	rz := [3][3]float64{{cc, -sc, 0}, {sc, cc, 0}, {0, 0, 1}}
	return mul3(rz, mul3(ry, rx))
}

func mul3(a, b [3][3]float64) [3][3]float64 {
	var m [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				m[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return m
}

// blur applies a separable Gaussian of sigma voxels along each axis.
func blur(img []float32, dims [3]int, sigma float64) {
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := -r; i <= r; i++ {
		k[i+r] = float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		sum += k[i+r]
	}
	for i := range k {
		k[i] /= sum
	}
	nx, ny, nz := dims[0], dims[1], dims[2]
	strides := [3]int{1, nx, nx * ny}
	line := make([]float32, max(nx, ny, nz))
	for ax := 0; ax < 3; ax++ {
		n, st := dims[ax], strides[ax]
		// Iterate over every line along ax.
		for z := 0; z < nz; z++ {
			for y := 0; y < ny; y++ {
				for x := 0; x < nx; x++ {
					if (ax == 0 && x > 0) || (ax == 1 && y > 0) || (ax == 2 && z > 0) {
						continue
					}
					base := x + nx*(y+ny*z)
					for i := 0; i < n; i++ {
						line[i] = img[base+i*st]
					}
					for i := 0; i < n; i++ {
						var acc float32
						for t := -r; t <= r; t++ {
							j := min(max(i+t, 0), n-1)
							acc += k[t+r] * line[j]
						}
						img[base+i*st] = acc
					}
				}
			}
		}
	}
}

// lowRes simulates a scan of lower resolution, as nnU-Net's
// SimulateLowResolutionTransform does: sample the patch on a grid coarser by
// f per axis (nearest neighbour), then interpolate it back (linear).
func lowRes(img []float32, dims [3]int, f [3]float64) {
	var ld [3]int
	for a := 0; a < 3; a++ {
		ld[a] = max(1, int(math.Round(float64(dims[a])*f[a])))
	}
	low := make([]float32, ld[0]*ld[1]*ld[2])
	for z := 0; z < ld[2]; z++ {
		sz := min(int(float64(z)*float64(dims[2])/float64(ld[2])), dims[2]-1)
		for y := 0; y < ld[1]; y++ {
			sy := min(int(float64(y)*float64(dims[1])/float64(ld[1])), dims[1]-1)
			for x := 0; x < ld[0]; x++ {
				sx := min(int(float64(x)*float64(dims[0])/float64(ld[0])), dims[0]-1)
				low[x+ld[0]*(y+ld[1]*z)] = img[sx+dims[0]*(sy+dims[1]*sz)]
			}
		}
	}
	o := 0
	for z := 0; z < dims[2]; z++ {
		cz := float64(z) * float64(ld[2]) / float64(dims[2])
		for y := 0; y < dims[1]; y++ {
			cy := float64(y) * float64(ld[1]) / float64(dims[1])
			for x := 0; x < dims[0]; x++ {
				cx := float64(x) * float64(ld[0]) / float64(dims[0])
				img[o] = trilinear(low, ld[0], ld[1], ld[2], min(cx, float64(ld[0]-1)), min(cy, float64(ld[1]-1)), min(cz, float64(ld[2]-1)), 0)
				o++
			}
		}
	}
}
