// Package locate finds the inner ears in a CT field of view, whether a whole
// head, both temporal bones or a single temporal-bone crop, and says so when
// there are none.
//
// A small U-Net sees the whole scan at a coarse isotropic spacing (1.5 mm by
// default) in a fixed CT window and marks labyrinth voxels. Connected
// components of its foreground that are large enough are ears; each gives a
// centre for the fine segmentation's region of interest and a side. Training
// the localiser on every centre and pathology of the training cohort, plus
// scans without ears, is what makes it robust (see the README's figures).
package locate

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/infer"
	"github.com/otoseg/otoseg/internal/parallel"
	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/volume"
)

// AirHU is what lies outside a scan.
const AirHU = -1024

// Prepare turns a scan into the localiser's input: Coarse, then normalised
// with the localiser's fixed window.
func Prepare(img *volume.Volume, l plan.Locator) (*volume.Volume, error) {
	out, err := Coarse(img, l.Spacing, AirHU)
	if err != nil {
		return nil, err
	}
	l.Intensity.Normalize(out.Data)
	return out, nil
}

// Coarse brings a volume to the localiser's grid: reoriented to LPS (so
// the network always sees the head the same way up), averaged down to
// isotropic voxels of size sp (box filter, then linear, so thin bone, or a
// thin canal in a mask, does not alias away). Outside the input is fill.
func Coarse(img *volume.Volume, sp float64, fill float32) (*volume.Volume, error) {
	// The box filter reads the scan in LPS order where it lies, without a
	// reoriented copy: a whole head stored in another order (RAS, as
	// nibabel and dcm2niix write NIfTI) is 200 MB of float32, and copying
	// it had doubled the localiser's time.
	lay, err := img.ReorientedLayout("LPS")
	if err != nil {
		return nil, err
	}
	var f [3]int
	for a := 0; a < 3; a++ {
		f[a] = max(1, int(math.Floor(sp/lay.Geometry.Spacing[a]+1e-6)))
	}
	var v *volume.Volume
	switch {
	case f != [3]int{1, 1, 1}:
		v = boxDownsample(img.Data, lay, f)
	case lay.Stride == [3]int{1, img.Dims[0], img.Dims[0] * img.Dims[1]}:
		v = img // already LPS: no copy
	default:
		// Voxels as coarse as the grid: the scan is small, a copy cheap.
		if v, err = volume.Reorient(img, "LPS"); err != nil {
			return nil, err
		}
	}
	return volume.ResampleToFill(v, coarseGrid(v.Geometry, sp), volume.Linear, fill)
}

// coarseGrid covers g's extent with isotropic voxels of size sp, keeping its
// direction and the position of its first corner.
func coarseGrid(g volume.Geometry, sp float64) volume.Geometry {
	c := g
	for a := 0; a < 3; a++ {
		ext := float64(g.Dims[a]) * g.Spacing[a]
		c.Dims[a] = max(1, int(math.Round(ext/sp)))
		c.Spacing[a] = sp
	}
	// Align the first voxel's corner with the input's first voxel's corner.
	corner := g.World(-0.5, -0.5, -0.5)
	for r := 0; r < 3; r++ {
		c.Origin[r] = corner[r]
		for a := 0; a < 3; a++ {
			c.Origin[r] += g.Direction[r][a] * sp / 2
		}
	}
	return c
}

// boxDownsample averages f[0] x f[1] x f[2] blocks of the volume that
// lay places on data (in lay's orientation). The result's voxel centres
// are the blocks' centres. Output slices are independent and computed in
// parallel, each sum in the same order as on one core and as on a copy
// reoriented first, so the localiser's input, in training too, depends
// neither on the core count nor on the order the scan was stored in.
func boxDownsample(data []float32, lay volume.Layout, f [3]int) *volume.Volume {
	v := lay.Geometry
	g := v
	for a := 0; a < 3; a++ {
		g.Dims[a] = max(1, v.Dims[a]/f[a])
		g.Spacing[a] = v.Spacing[a] * float64(f[a])
	}
	g.Origin = v.World(float64(f[0]-1)/2, float64(f[1]-1)/2, float64(f[2]-1)/2)
	out := volume.New(g, volume.Float32)
	sx, sy, sz := lay.Stride[0], lay.Stride[1], lay.Stride[2]
	inv := 1 / float32(f[0]*f[1]*f[2])
	// Each output row sums its f[1] x f[2] input rows into a row of
	// partial sums, reading every input row in order (per voxel in the
	// same order as summing one block at a time, which strided across six
	// rows and waited on memory).
	parallel.For(g.Dims[2], func() []float32 { return make([]float32, g.Dims[0]) }, func(k int, sum []float32) {
		n := len(sum) * f[0] // the input row's voxels that blocks cover
		for j := 0; j < g.Dims[1]; j++ {
			clear(sum)
			for dz := 0; dz < f[2]; dz++ {
				for dy := 0; dy < f[1]; dy++ {
					base := lay.Base + (j*f[1]+dy)*sy + (k*f[2]+dz)*sz
					if sx == 1 {
						addBlocks(sum, data[base:base+n], f[0])
						continue
					}
					for i := range sum {
						s := sum[i]
						at := base + i*f[0]*sx
						for range f[0] {
							s += data[at]
							at += sx
						}
						sum[i] = s
					}
				}
			}
			o := out.Data[g.Index(0, j, k):][:len(sum)]
			for i, s := range sum {
				o[i] = s * inv
			}
		}
	})
	return out
}

// addBlocks adds the consecutive blocks of fx values of row into sum.
func addBlocks(sum, row []float32, fx int) {
	for i := range sum {
		b := row[i*fx : i*fx+fx]
		s := sum[i]
		for _, x := range b {
			s += x
		}
		sum[i] = s
	}
}

// PadTo grows v symmetrically with fill until every axis is at least min.
func PadTo(v *volume.Volume, minDims [3]int, fill float32) (*volume.Volume, error) {
	var before, after [3]int
	need := false
	for a := 0; a < 3; a++ {
		if d := minDims[a] - v.Dims[a]; d > 0 {
			before[a], after[a] = d/2, d-d/2
			need = true
		}
	}
	if !need {
		return v, nil
	}
	return volume.Pad(v, before, after, fill)
}

// Candidate is an ear the localiser found.
type Candidate struct {
	ear.Ear
	// Score is the summed foreground probability of its component (in
	// localiser voxels): how sure the localiser is.
	Score float64
}

// MaxPerSide caps the candidates Find returns for one side: the most
// confident first, the others for the fine network to check (see
// segment), since a coarse localiser can score a mastoid or the jugular
// bulb above a faint labyrinth.
const MaxPerSide = 3

// Find runs the localiser over a scan and returns the ears it sees, most
// confident first, at most MaxPerSide per side (see Components). An empty
// result means no inner ear.
//
// A whole head at 1.5 mm is a dozen or more of the localiser's patches, but
// an inner ear can only lie inside its otic capsule. Find therefore looks
// first at the coarse scan cropped to the otic-dense bone (searchBox, with
// SearchMarginMM of scan around it and at least one patch), which is one to
// three patches. An answer with ears on both sides, each in the otic-dense
// bone, is final: a head has no more, and each ear lies in its capsule.
// Any other answer (no ear, one side, a side's ear outside the dense bone,
// no dense bone, or a crop no cheaper than the scan) is the whole field of
// view's, so "no inner ear" and single ears are decided exactly as without
// the crop, and an ear whose capsule is less dense than OticLowHU (a
// scanner's calibration, a pathology) is still found.
func Find(ctx context.Context, net infer.Net, img *volume.Volume, l plan.Locator) ([]Candidate, error) {
	low, err := Coarse(img, l.Spacing, AirHU)
	if err != nil {
		return nil, fmt.Errorf("locate: %w", err)
	}
	// Windows overlap by a quarter: the localiser needs ears, not smooth
	// borders, and a head holds dozens of patches.
	w := &infer.SlidingWindow{Patch: l.PatchSize, Step: 0.75}
	if s, ok := searchBox(img, low.Geometry, l.PatchSize, SearchMarginMM); ok {
		d := [3]int{s.hi[0] - s.lo[0], s.hi[1] - s.lo[1], s.hi[2] - s.lo[2]}
		if w.Patches(d) < w.Patches(low.Dims) {
			crop, err := volume.Crop(low, s.lo, s.hi)
			if err != nil {
				return nil, fmt.Errorf("locate: otic bone search box: %w", err)
			}
			cands, err := findIn(ctx, net, w, crop, l)
			if err != nil {
				return nil, err
			}
			if s.final(cands) {
				return cands, nil
			}
		}
	}
	return findIn(ctx, net, w, low, l)
}

// findIn runs the localiser with w over low, a coarse scan in HU (Coarse),
// normalising it in place.
func findIn(ctx context.Context, net infer.Net, w *infer.SlidingWindow, low *volume.Volume, l plan.Locator) ([]Candidate, error) {
	l.Intensity.Normalize(low.Data)
	bg := []float32{AirHU}
	l.Intensity.Normalize(bg)
	low, err := PadTo(low, l.PatchSize, bg[0])
	if err != nil {
		return nil, fmt.Errorf("locate: %w", err)
	}
	prob, err := w.Probabilities(ctx, net, low.Data, low.Dims, 2)
	if err != nil {
		return nil, fmt.Errorf("locate: %w", err)
	}
	return Components(low.Geometry, prob[low.Len():], l)
}

// Components turns a foreground probability map on grid g into candidate
// ears: components of at least l.MinVolumeMM3 and l.MinScore, most confident
// first, each with its side (see assignSides).
func Components(g volume.Geometry, fg []float32, l plan.Locator) ([]Candidate, error) {
	m := morph.NewMask(g.Dims)
	for i, p := range fg {
		m.Data[i] = float64(p) >= l.Threshold
	}
	comps, err := morph.Label(m, morph.Conn26)
	if err != nil {
		return nil, fmt.Errorf("locate: %w", err)
	}
	voxelMM3 := g.Spacing[0] * g.Spacing[1] * g.Spacing[2]
	type acc struct {
		lo, hi [3]float64
		score  float64
		n      int
	}
	accs := make([]acc, comps.N+1)
	for l := range accs {
		accs[l].lo = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
		accs[l].hi = [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	}
	nx, ny := g.Dims[0], g.Dims[1]
	for i, lab := range comps.Labels {
		if lab == 0 {
			continue
		}
		a := &accs[lab]
		w := g.World(float64(i%nx), float64(i/nx%ny), float64(i/(nx*ny)))
		for r := 0; r < 3; r++ {
			a.lo[r] = min(a.lo[r], w[r])
			a.hi[r] = max(a.hi[r], w[r])
		}
		a.score += float64(fg[i])
		a.n++
	}
	var cands []Candidate
	for lab := 1; lab <= comps.N; lab++ {
		a := accs[lab]
		if float64(a.n)*voxelMM3 < l.MinVolumeMM3 || a.score < l.MinScore {
			continue
		}
		var c Candidate
		c.Score, c.Voxels = a.score, a.n
		for r := 0; r < 3; r++ {
			c.Centre[r] = (a.lo[r] + a.hi[r]) / 2
			c.ExtentMM[r] = a.hi[r] - a.lo[r] + g.Spacing[0]
		}
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Score > cands[j].Score })
	return assignSides(cands), nil
}

// assignSides gives every candidate a side. The most confident anchors
// them: a candidate at least ear.MinEarSeparationMM from it along
// left-right lies on the other side, any other on its side. With a
// candidate on the other side, the one further to +x (patient left) is the
// left; otherwise the anchor takes its side from the sign of x, as
// ear.FindEars does for reference labels. Candidates come sorted by score
// and keep that order; each side keeps at most MaxPerSide.
func assignSides(cands []Candidate) []Candidate {
	if len(cands) == 0 {
		return nil
	}
	anchor := cands[0].Centre[0]
	side := ear.SideOf(cands[0].Centre, 0)
	for _, c := range cands[1:] {
		if d := c.Centre[0] - anchor; math.Abs(d) >= ear.MinEarSeparationMM {
			side = ear.Right
			if d < 0 {
				side = ear.Left
			}
			break
		}
	}
	other := ear.Left
	if side == ear.Left {
		other = ear.Right
	}
	var out []Candidate
	count := map[ear.Side]int{}
	for _, c := range cands {
		c.Side = side
		if math.Abs(c.Centre[0]-anchor) >= ear.MinEarSeparationMM {
			c.Side = other
		}
		if count[c.Side] < MaxPerSide {
			count[c.Side]++
			out = append(out, c)
		}
	}
	return out
}
