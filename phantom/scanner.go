package phantom

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"

	"github.com/otoseg/otoseg/internal/parallel"
	"github.com/otoseg/otoseg/volume"
)

// FOV kinds: what a centre's reconstruction covers.
const (
	FOVHead      = "head"      // the whole head in-plane, both ears
	FOVBilateral = "bilateral" // both temporal bones
	FOVEar       = "ear"       // one temporal bone
)

// Centre is a scanning site: its protocol decides spacing, field of view,
// sharpness, noise and HU calibration, so that a cohort drawn from several
// centres varies the way a multicentre study does.
type Centre struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	// External centres are held out for external validation.
	External bool `json:"external"`
	// FOV is the kind of field of view; Extent its size in mm (x, y, z).
	// For FOVHead the in-plane extent is Matrix × in-plane spacing.
	FOV    string     `json:"fov"`
	Extent [3]float64 `json:"extent_mm"`
	Matrix int        `json:"matrix,omitempty"`
	// InPlane and Slice list the spacings (mm) the centre reconstructs at;
	// each case picks one of each.
	InPlane []float64 `json:"in_plane_mm"`
	Slice   []float64 `json:"slice_mm"`
	// PSF is the Gaussian point-spread sigma in mm (in-plane, through-plane).
	PSF [2]float64 `json:"psf_sigma_mm"`
	// Noise is the standard deviation of the image noise in HU; NoiseCorr
	// the in-plane correlation length (Gaussian sigma, mm) of its texture.
	Noise     float64 `json:"noise_hu"`
	NoiseCorr float64 `json:"noise_corr_mm"`
	// Gain and Offset calibrate HU: stored = true*Gain + Offset.
	Gain   float64 `json:"gain"`
	Offset float64 `json:"offset_hu"`
	// Rotation is the largest patient rotation per axis in degrees, Shift
	// the largest table placement error in mm.
	Rotation float64 `json:"rotation_deg"`
	Shift    float64 `json:"shift_mm"`
	// Bar is the depth in HU of the dark beam-hardening band between the
	// petrous bones; Metal scales metal streaks.
	Bar   float64 `json:"bar_hu"`
	Metal float64 `json:"metal_streak_hu"`
	// BoneHU scales the HU of bone, otic capsule included (0 means 1).
	// Scanners render dense bone differently (beam hardening, the kernel's
	// overshoot, how high densities are calibrated), so the capsule that
	// borders the labyrinth sits anywhere from ~1800 to ~2300 HU; a model
	// must learn the boundary relative to its neighbours, not one level.
	BoneHU float64 `json:"bone_hu_scale,omitempty"`
}

// boneScale is c.BoneHU with 0 read as 1.
func (c Centre) boneScale() float64 {
	if c.BoneHU == 0 {
		return 1
	}
	return c.BoneHU
}

// Centres are the built-in sites: four training centres with different
// scanners and fields of view, and one external centre whose protocol
// differs (thick slices, smooth kernel, low dose, other calibration).
var Centres = []Centre{
	{Name: "A", Protocol: "64-slice MDCT, temporal-bone protocol, 120 kV, bone kernel, bilateral targeted FOV",
		FOV: FOVBilateral, Extent: [3]float64{130, 80, 36}, InPlane: []float64{0.28, 0.3, 0.32}, Slice: []float64{0.6},
		PSF: [2]float64{0.18, 0.25}, Noise: 55, NoiseCorr: 0.22, Gain: 1, Offset: 0, Rotation: 3, Shift: 3, Bar: 40, Metal: 900},
	{Name: "B", Protocol: "16-slice MDCT, routine head CT, 512 matrix, whole-head FOV, soft-bone kernel",
		FOV: FOVHead, Matrix: 512, Extent: [3]float64{0, 0, 64}, InPlane: []float64{0.43, 0.45, 0.47}, Slice: []float64{0.8, 1.0},
		PSF: [2]float64{0.3, 0.45}, Noise: 30, NoiseCorr: 0.45, Gain: 1, Offset: 4, Rotation: 4, Shift: 6, Bar: 60, Metal: 700},
	{Name: "C", Protocol: "cone-beam CT, single temporal bone, 0.25 mm voxels, uncalibrated HU",
		FOV: FOVEar, Extent: [3]float64{44, 44, 36}, InPlane: []float64{0.25}, Slice: []float64{0.3},
		PSF: [2]float64{0.2, 0.2}, Noise: 70, NoiseCorr: 0.2, Gain: 0.93, Offset: -40, Rotation: 3, Shift: 2.5, Bar: 0, Metal: 1200},
	{Name: "D", Protocol: "dual-source CT, temporal-bone protocol, moderate head FOV",
		FOV: FOVBilateral, Extent: [3]float64{160, 120, 48}, InPlane: []float64{0.4}, Slice: []float64{0.75, 0.8},
		PSF: [2]float64{0.22, 0.35}, Noise: 45, NoiseCorr: 0.3, Gain: 1.01, Offset: -8, Rotation: 3, Shift: 4, Bar: 50, Metal: 800},
	{Name: "E", Protocol: "external: other vendor, low-dose, 1 mm slices, smooth kernel, larger patient rotation",
		External: true, FOV: FOVBilateral, Extent: [3]float64{150, 100, 50}, InPlane: []float64{0.48, 0.5}, Slice: []float64{1.0},
		PSF: [2]float64{0.4, 0.55}, Noise: 45, NoiseCorr: 0.6, Gain: 1.04, Offset: 25, Rotation: 7, Shift: 6, Bar: 90, Metal: 1000},
}

// Varied returns a copy of c whose scanner is drawn around c's own, the
// same draw for the same seed. Field of view, spacings and the centre's
// name stay; what varies is what differs most between real scanners and
// what a network trained on a handful of them overfits to: the kernel's
// sharpness (the point-spread scaled by 0.75 to 2, so a bone kernel can
// come out as soft as a standard one), the dose (noise x0.6 to 1.6, its
// grain x0.7 to 1.6), the HU calibration (gain x0.94 to 1.06, offset
// +-40 HU), patient positioning (rotation x1 to 2) and the artefacts
// (beam-hardening band x0.5 to 1.8, metal x0.5 to 1.5). This is scanner
// randomisation in the spirit of SynthSeg's: a cohort of few centres with
// varied scanners teaches the network more about an unseen centre than
// the same centres with fixed protocols.
func (c Centre) Varied(seed uint64) Centre {
	r := rand.New(rand.NewPCG(seed, 0x5ca22e7))
	u := func(lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }
	logU := func(lo, hi float64) float64 { return math.Exp(u(math.Log(lo), math.Log(hi))) }
	v := c
	v.InPlane = append([]float64(nil), c.InPlane...)
	v.Slice = append([]float64(nil), c.Slice...)
	k := logU(0.75, 2)
	v.PSF = [2]float64{c.PSF[0] * k, c.PSF[1] * k}
	v.Noise = c.Noise * logU(0.6, 1.6)
	v.NoiseCorr = c.NoiseCorr * logU(0.7, 1.6)
	v.Gain = c.Gain * u(0.94, 1.06)
	v.Offset = c.Offset + u(-40, 40)
	v.Rotation = c.Rotation * u(1, 2)
	v.Bar = c.Bar * u(0.5, 1.8)
	v.Metal = c.Metal * u(0.5, 1.5)
	v.BoneHU = c.boneScale() * u(0.88, 1.1)
	v.Protocol = c.Protocol + " (scanner varied)"
	return v
}

// CentreByName returns the built-in centre called name (case-insensitive).
func CentreByName(name string) (Centre, error) {
	for _, c := range Centres {
		if strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	var names []string
	for _, c := range Centres {
		names = append(names, c.Name)
	}
	return Centre{}, fmt.Errorf("unknown centre %q (want one of %s)", name, strings.Join(names, ", "))
}

// Validate reports a centre no scanner could have.
func (c Centre) Validate() error {
	if len(c.InPlane) == 0 || len(c.Slice) == 0 {
		return fmt.Errorf("centre %s: no spacing", c.Name)
	}
	for _, s := range append(append([]float64{}, c.InPlane...), c.Slice...) {
		if !(s >= 0.05 && s <= 5) {
			return fmt.Errorf("centre %s: spacing %g mm out of range", c.Name, s)
		}
	}
	switch c.FOV {
	case FOVHead:
		if c.Matrix < 16 || c.Matrix > 1024 {
			return fmt.Errorf("centre %s: matrix %d out of range", c.Name, c.Matrix)
		}
	case FOVBilateral, FOVEar:
		if c.Extent[0] <= 0 || c.Extent[1] <= 0 {
			return fmt.Errorf("centre %s: empty field of view", c.Name)
		}
	default:
		return fmt.Errorf("centre %s: unknown FOV kind %q", c.Name, c.FOV)
	}
	if c.Extent[2] <= 0 {
		return fmt.Errorf("centre %s: empty z extent", c.Name)
	}
	// Bounds a scanner could have, so that a profile read from a file
	// cannot ask for a terabyte volume or a nonsensical image.
	for _, e := range c.Extent {
		if !(e <= 600) {
			return fmt.Errorf("centre %s: extent %g mm beyond 600 mm", c.Name, e)
		}
	}
	if n := c.voxelsAtMost(); n > MaxVoxels {
		return fmt.Errorf("centre %s: up to %.3g voxels per scan, more than the %d allowed", c.Name, n, MaxVoxels)
	}
	for _, r := range []struct {
		what      string
		v, lo, hi float64
	}{
		{"in-plane point-spread sigma (mm)", c.PSF[0], 0, 5},
		{"through-plane point-spread sigma (mm)", c.PSF[1], 0, 5},
		{"noise (HU)", c.Noise, 0, 1000},
		{"noise correlation (mm)", c.NoiseCorr, 0, 5},
		{"gain", c.Gain, 0.2, 5},
		{"offset (HU)", c.Offset, -1000, 1000},
		{"rotation (degrees)", c.Rotation, 0, 45},
		{"shift (mm)", c.Shift, 0, 50},
		{"beam-hardening band (HU)", c.Bar, 0, 1000},
		{"metal streaks (HU)", c.Metal, 0, 20000},
		{"bone HU scale", c.boneScale(), 0.5, 1.5},
	} {
		if !(r.v >= r.lo && r.v <= r.hi) {
			return fmt.Errorf("centre %s: %s %g out of range [%g, %g]", c.Name, r.what, r.v, r.lo, r.hi)
		}
	}
	return nil
}

// MaxVoxels caps the size of one phantom scan (about 1 GB of float32).
const MaxVoxels = 1 << 28

// voxelsAtMost is the largest voxel count a case of c can have, over its
// spacings.
func (c Centre) voxelsAtMost() float64 {
	in, sl := math.Inf(1), math.Inf(1)
	for _, s := range c.InPlane {
		in = min(in, s)
	}
	for _, s := range c.Slice {
		sl = min(sl, s)
	}
	ext := c.Extent
	if c.FOV == FOVHead {
		return float64(c.Matrix) * float64(c.Matrix) * max(8, ext[2]/sl)
	}
	return max(8, ext[0]/in) * max(8, ext[1]/in) * max(8, ext[2]/sl)
}

// huTable maps tissues to HU for one case: the base values with the
// subject's bone density.
func huTable(boneDense float64) [numTissues]float64 {
	hu := baseHU
	for _, t := range []Tissue{Cortical, Petrous, Capsule, Ossicle, NewBone, Spongiotic, Marrow, Modiolus} {
		hu[t] *= boneDense
	}
	return hu
}

// gaussKernel returns a normalised Gaussian of sigma voxels (nil if
// sigma is negligible).
func gaussKernel(sigma float64) []float32 {
	if sigma < 0.15 {
		return nil
	}
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var s float64
	for i := -r; i <= r; i++ {
		w := math.Exp(-float64(i*i) / (2 * sigma * sigma))
		k[i+r] = float32(w)
		s += w
	}
	for i := range k {
		k[i] = float32(float64(k[i]) / s)
	}
	return k
}

// blurAxis convolves v along axis a with kernel k (edges clamped), in
// parallel over lines; each line is independent, so the result does not
// depend on scheduling.
func blurAxis(data []float32, dims [3]int, a int, k []float32, workers int) {
	if k == nil || dims[a] < 2 {
		return
	}
	r := len(k) / 2
	stride := [3]int{1, dims[0], dims[0] * dims[1]}
	// lines are indexed by the other two axes
	o1, o2 := (a+1)%3, (a+2)%3
	nl := dims[o1] * dims[o2]
	n := dims[a]
	// 64 lines to a piece: one line is too little work to hand out
	parallel.ForN(workers, (nl+63)/64, func() []float32 { return make([]float32, n) }, func(c int, line []float32) {
		for l := c * 64; l < min(c*64+64, nl); l++ {
			base := (l%dims[o1])*stride[o1] + (l/dims[o1])*stride[o2]
			for i := 0; i < n; i++ {
				line[i] = data[base+i*stride[a]]
			}
			for i := 0; i < n; i++ {
				var s float32
				for j := -r; j <= r; j++ {
					ii := i + j
					if ii < 0 {
						ii = 0
					} else if ii >= n {
						ii = n - 1
					}
					s += k[j+r] * line[ii]
				}
				data[base+i*stride[a]] = s
			}
		}
	})
}

// blur applies a Gaussian PSF with sigmas in mm.
func blur(v *volume.Volume, sigmaMM [3]float64, workers int) {
	for a := 0; a < 3; a++ {
		blurAxis(v.Data, v.Dims, a, gaussKernel(sigmaMM[a]/v.Spacing[a]), workers)
	}
}

// addNoise adds zero-mean Gaussian noise of std sigma HU with an in-plane
// texture of correlation corr mm. Each slice draws from its own generator
// seeded by (seed, slice), so the noise is the same whatever the number of
// workers.
func addNoise(v *volume.Volume, seed uint64, sigma, corr float64, workers int) {
	if sigma <= 0 {
		return
	}
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	kx := gaussKernel(corr / v.Spacing[0])
	ky := gaussKernel(corr / v.Spacing[1])
	gain := 1.0
	for _, k := range [][]float32{kx, ky} {
		if k == nil {
			continue
		}
		var s float64
		for _, w := range k {
			s += float64(w) * float64(w)
		}
		gain /= math.Sqrt(s)
	}
	parallel.ForN(workers, nz, func() []float32 { return make([]float32, nx*ny) }, func(k int, buf []float32) {
		rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(k)))
		for i := range buf {
			buf[i] = float32(rng.NormFloat64())
		}
		blurAxis(buf, [3]int{nx, ny, 1}, 0, kx, 1)
		blurAxis(buf, [3]int{nx, ny, 1}, 1, ky, 1)
		off := k * nx * ny
		f := float32(sigma * gain)
		for i, x := range buf {
			v.Data[off+i] += f * x
		}
	})
}

// metalStreaks adds the streaks radiating from metal (cochlear implant
// contacts) in each axial slice: alternating bright and dark lines along a
// few fixed directions, fading with distance, plus a dark halo.
func metalStreaks(v *volume.Volume, src []vec3, amp float64, seed uint64, workers int) {
	if len(src) == 0 || amp <= 0 {
		return
	}
	r := rand.New(rand.NewPCG(seed, 77))
	type dir struct{ a, w float64 }
	dirs := make([]dir, 16)
	for i := range dirs {
		s := 1.0
		if i%2 == 1 {
			s = -1.3
		}
		dirs[i] = dir{a: r.Float64() * math.Pi, w: s * (0.5 + 0.5*r.Float64())}
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].a < dirs[j].a })
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	parallel.ForN(workers, nz, func() struct{} { return struct{}{} }, func(k int, _ struct{}) {
		var here [][2]float64
		for _, s := range src {
			ci := v.ContinuousIndex(s)
			if math.Abs(ci[2]-float64(k))*v.Spacing[2] < 0.8 {
				here = append(here, [2]float64{ci[0], ci[1]})
			}
		}
		if len(here) == 0 {
			return
		}
		for j := 0; j < ny; j++ {
			for i := 0; i < nx; i++ {
				var add float64
				for _, h := range here {
					dx := (float64(i) - h[0]) * v.Spacing[0]
					dy := (float64(j) - h[1]) * v.Spacing[1]
					d := math.Hypot(dx, dy)
					if d < 0.4 || d > 60 {
						continue
					}
					ang := math.Atan2(dy, dx)
					if ang < 0 {
						ang += math.Pi
					}
					var s float64
					for _, dr := range dirs {
						da := math.Abs(ang - dr.a)
						da = math.Min(da, math.Pi-da)
						s += dr.w * math.Exp(-da*da*d*d/(2*0.35*0.35))
					}
					add += amp * (s - 0.25*math.Exp(-d/2.5)) / (1 + d/10) / math.Sqrt(float64(len(here)))
				}
				v.Data[v.Index(i, j, k)] += float32(add)
			}
		}
	})
}

// houndsfieldBar darkens the band between the two petrous bones in the
// slices near the ears (beam hardening across the skull base).
func houndsfieldBar(v *volume.Volume, a, b vec3, depth float64) {
	if depth <= 0 {
		return
	}
	ab := b.sub(a)
	l2 := ab.dot(ab)
	zlo, zhi := math.Min(a[2], b[2])-14, math.Max(a[2], b[2])+14
	for k := 0; k < v.Dims[2]; k++ {
		// the band is 4 mm thick (sigma) about the line through the ears:
		// slices far from it are left alone
		if z := v.World(0, 0, float64(k))[2]; (z < zlo || z > zhi) && v.Direction == volume.Identity() {
			continue
		}
		step := vec3(v.World(1, 0, 0)).sub(v.World(0, 0, 0))
		for j := 0; j < v.Dims[1]; j++ {
			row := vec3(v.World(0, float64(j), float64(k)))
			for i := 0; i < v.Dims[0]; i++ {
				idx := v.Index(i, j, k)
				if v.Data[idx] < -300 || v.Data[idx] > 1200 {
					continue
				}
				p := row.add(step.scale(float64(i)))
				t := math.Max(0, math.Min(1, p.sub(a).dot(ab)/l2))
				if t <= 0.12 || t >= 0.88 {
					continue
				}
				q := a.add(ab.scale(t))
				dz := p[2] - q[2]
				dxy := math.Hypot(p[0]-q[0], p[1]-q[1])
				if dxy > 14 || math.Abs(dz) > 16 {
					continue
				}
				v.Data[idx] -= float32(depth * math.Exp(-dz*dz/(2*4*4)) * math.Exp(-dxy*dxy/(2*3.5*3.5)))
			}
		}
	}
}

// quantise rounds to integers and clamps to the scanner's range, as an
// int16 CT stores them.
func quantise(v *volume.Volume, lo, hi float64) {
	for i, x := range v.Data {
		f := math.Round(float64(x))
		v.Data[i] = float32(math.Max(lo, math.Min(hi, f)))
	}
}

func defaultWorkers(w int) int {
	if w > 0 {
		return w
	}
	return runtime.GOMAXPROCS(0)
}
