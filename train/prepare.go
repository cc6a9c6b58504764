package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/otoseg/otoseg/stats"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/locate"
	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/volume"
)

// AirHU fills everything outside a scan: what a CT shows outside the body.
const AirHU = -1024

// readPair reads a case's image and label and checks they share a grid and
// hold only known labels.
func readPair(c dataset.Case) (img, lab *volume.Volume, err error) {
	if c.Label == "" {
		return nil, nil, fmt.Errorf("case %s has no label", c.ID)
	}
	if img, err = imageio.Read(c.Image); err != nil {
		return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	if lab, err = imageio.Read(c.Label); err != nil {
		return nil, nil, fmt.Errorf("case %s: %w", c.ID, err)
	}
	if !img.SameGrid(lab.Geometry, 1e-3) {
		return nil, nil, fmt.Errorf("case %s: label %s has dims %v and affine %v, image %s has dims %v and affine %v",
			c.ID, c.Label, lab.Dims, lab.AffineLPS(), c.Image, img.Dims, img.AffineLPS())
	}
	for i, v := range lab.Data {
		if _, ok := ear.Lookup(int(v)); v != 0 && (!ok || v != float32(int(v))) {
			return nil, nil, fmt.Errorf("case %s: label %s holds value %g at voxel %d; known labels are 0-3", c.ID, c.Label, v, i)
		}
	}
	return img, lab, nil
}

// Fingerprint reads the training cases and summarises spacings, ear
// extents and foreground intensities for planning.
func Fingerprint(ctx context.Context, cases []dataset.Case, progress func(done int)) (plan.Fingerprint, error) {
	fp := plan.Fingerprint{Cases: len(cases)}
	var fg []float64
	rng := rand.New(rand.NewPCG(42, 42))
	err := eachPair(ctx, cases, progress, func(c dataset.Case, img, lab *volume.Volume) error {
		// Files store spacing in float32: round away its noise (0.36, not 0.3599999994).
		var sp [3]float64
		for a := 0; a < 3; a++ {
			sp[a] = math.Round(img.Spacing[a]*1e4) / 1e4
		}
		fp.Spacings = append(fp.Spacings, sp)
		ears := ear.FindEars(lab)
		if len(ears) == 0 {
			return fmt.Errorf("case %s: label %s is empty", c.ID, c.Label)
		}
		for _, e := range ears {
			fp.Ears++
			for a := 0; a < 3; a++ {
				fp.EarExtentMM[a] = max(fp.EarExtentMM[a], e.ExtentMM[a])
			}
		}
		// Sample up to 20000 foreground voxels per case, as nnU-Net does.
		var idx []int
		for j, v := range lab.Data {
			if v > 0 {
				idx = append(idx, j)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, j := range idx[:min(len(idx), 20000)] {
			fg = append(fg, float64(img.Data[j]))
		}
		return nil
	})
	if err != nil {
		return fp, err
	}
	fp.FGSample = len(fg)
	if len(fg) == 0 {
		return fp, fmt.Errorf("no foreground voxels in %d training cases", len(cases))
	}
	var s, s2 float64
	for _, v := range fg {
		s += v
		s2 += v * v
	}
	n := float64(len(fg))
	fp.FGMean = s / n
	fp.FGStd = math.Sqrt(max(s2/n-fp.FGMean*fp.FGMean, 0))
	slices.Sort(fg)
	fp.FGP005 = stats.Percentile(fg, 0.5)
	fp.FGP995 = stats.Percentile(fg, 99.5)
	return fp, nil
}

// EarSamples cuts one sample per ear of each case: the plan's region of
// interest, grown by margin voxels per side so augmentation can move and
// rotate patches, resampled to the target spacing on the canonical side.
func EarSamples(ctx context.Context, cases []dataset.Case, p *plan.Plan, margin int, progress func(done int)) ([]*Sample, error) {
	var out []*Sample
	err := eachPair(ctx, cases, progress, func(c dataset.Case, img, lab *volume.Volume) error {
		for _, e := range ear.FindEars(lab) {
			s, err := EarSample(img, lab, e, p, margin)
			if err != nil {
				return fmt.Errorf("case %s %s ear: %w", c.ID, e.Side, err)
			}
			s.ID = c.ID + "-" + e.Side.String()
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

// eachPair reads every case's image and label (checked by readPair) in
// turn and hands them to fn, reporting progress after each case and
// stopping at the first error or when ctx is done.
func eachPair(ctx context.Context, cases []dataset.Case, progress func(done int), fn func(c dataset.Case, img, lab *volume.Volume) error) error {
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, lab, err := readPair(c)
		if err != nil {
			return err
		}
		if err := fn(c, img, lab); err != nil {
			return err
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return nil
}

// EarSample cuts the region of interest around one ear.
func EarSample(img, lab *volume.Volume, e ear.Ear, p *plan.Plan, margin int) (*Sample, error) {
	dims := p.ROIDims()
	for a := 0; a < 3; a++ {
		dims[a] += 2 * margin
	}
	g := ear.Grid(e.Centre, e.Side, dims, p.TargetSpacing)
	ri, err := volume.ResampleToFill(img, g, volume.Linear, AirHU)
	if err != nil {
		return nil, err
	}
	rl, err := volume.ResampleLabelsTo(lab, g)
	if err != nil {
		return nil, err
	}
	p.Intensity.Normalize(ri.Data)
	bg := []float32{AirHU}
	p.Intensity.Normalize(bg)
	return newSample(ri, rl, bg[0]), nil
}

func newSample(img, lab *volume.Volume, bg float32) *Sample {
	s := &Sample{Dims: img.Dims, Spacing: img.Spacing, Image: img.Data, Label: make([]uint8, len(lab.Data)), Background: bg}
	for i, v := range lab.Data {
		s.Label[i] = uint8(v)
		if v > 0 {
			s.Foreground = append(s.Foreground, int32(i))
		}
	}
	return s
}

// LocatorTargetFraction is the share of a coarse localiser voxel that must
// be labyrinth for the voxel to count as ear. A canal is thinner than a
// coarse voxel, so a majority vote would erase most of the labyrinth; a
// small share keeps its outline.
const LocatorTargetFraction = 0.05

// LocatorTargetDilateMM grows the localiser's target (see LocatorSample).
const LocatorTargetDilateMM = 1.5

// LocatorSample turns a scan and its labels (nil for a scan without ears)
// into a localiser sample: the coarse normalised image and a binary map of
// the coarse voxels the labyrinth touches, on the same grid.
func LocatorSample(img, lab *volume.Volume, l plan.Locator) (*Sample, error) {
	low, err := locate.Prepare(img, l)
	if err != nil {
		return nil, err
	}
	bin := volume.New(low.Geometry, volume.Uint8)
	if lab != nil {
		fg := lab.Clone()
		for i, v := range fg.Data {
			fg.Data[i] = 0
			if v > 0 {
				fg.Data[i] = 1
			}
		}
		frac, err := locate.Coarse(fg, l.Spacing, 0)
		if err != nil {
			return nil, err
		}
		if !frac.SameGrid(low.Geometry, 1e-6) {
			return nil, fmt.Errorf("localiser target grid differs from its image grid")
		}
		m := morph.NewMask(frac.Dims)
		for i, f := range frac.Data {
			m.Data[i] = f >= LocatorTargetFraction
		}
		// Grow the target by LocatorTargetDilateMM: a blob is easier to learn
		// than a thin coarse outline, and growing it evenly keeps its centre.
		if m, err = morph.Dilate(m, frac.Spacing, LocatorTargetDilateMM); err != nil {
			return nil, err
		}
		for i, in := range m.Data {
			if in {
				bin.Data[i] = 1
			}
		}
	}
	bg := []float32{AirHU}
	l.Intensity.Normalize(bg)
	// Pad small fields of view (a temporal-bone crop) to one patch, as the
	// localiser does at inference.
	if low, err = locate.PadTo(low, l.PatchSize, bg[0]); err != nil {
		return nil, err
	}
	if bin, err = locate.PadTo(bin, l.PatchSize, 0); err != nil {
		return nil, err
	}
	return newSample(low, bin, bg[0]), nil
}

// LocatorSamples makes one localiser sample per case.
func LocatorSamples(ctx context.Context, cases []dataset.Case, l plan.Locator, progress func(done int)) ([]*Sample, error) {
	var out []*Sample
	err := eachPair(ctx, cases, progress, func(c dataset.Case, img, lab *volume.Volume) error {
		s, err := LocatorSample(img, lab, l)
		if err != nil {
			return fmt.Errorf("case %s: %w", c.ID, err)
		}
		s.ID = c.ID
		out = append(out, s)
		return nil
	})
	return out, err
}
