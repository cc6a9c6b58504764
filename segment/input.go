package segment

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/otoseg/otoseg/internal/parallel"
	"github.com/otoseg/otoseg/locate"
	"github.com/otoseg/otoseg/stats"
	"github.com/otoseg/otoseg/volume"
)

// Input errors. Each is a different answer to "why no segmentation", so a
// caller (the command line's exit codes, a batch summary) tells them apart
// with errors.Is; the error returned wraps one of them and says what was
// found.
var (
	// ErrNotVolume: a single slice or too few slices along some axis to
	// hold an inner ear (see MinVoxelsPerAxis).
	ErrNotVolume = errors.New("not a 3-D volume")
	// ErrNotCT: the values are not CT in Hounsfield units (MR, a CT
	// stored with an unsigned +1024 offset and no rescale, a wrong
	// rescale): segmenting them would give a confident wrong answer.
	ErrNotCT = errors.New("not a CT in Hounsfield units")
	// ErrNoLabyrinth: the ear search found ears, but the segmenter found no
	// labyrinth in any of them. It is also an ErrNoEar (errors.Is), so
	// callers that only ask "was an inner ear found" need no change.
	ErrNoLabyrinth error = &childError{"ears were located, but no labyrinth was found in them (is the scan too coarse or too noisy, or the threshold too high?)", ErrNoEar}
	// ErrInvalidOption: an Options value outside its range.
	ErrInvalidOption = errors.New("invalid option")
)

// childError is a sentinel that is also its parent for errors.Is.
type childError struct {
	msg    string
	parent error
}

func (e *childError) Error() string        { return e.msg }
func (e *childError) Is(target error) bool { return target == e.parent }

// MinVoxelsPerAxis is the fewest voxels along each axis a scan needs: the
// labyrinth spans 8-10 mm, at least eight 1 mm slices, and the localiser's
// coarse grid needs a few voxels of context around it.
const MinVoxelsPerAxis = 8

// CT intensity landmarks (HU) the sanity check looks for. Air is -1000
// (scanners pad with -1024 or -3024); a temporal-bone CT has dense bone at
// +1000 to +2500 (the otic capsule is among the densest bone of the body),
// and soft tissue near 0. A file stored unsigned with a +1024 offset and no
// RescaleIntercept has air near 0 and bone at +2000 and above.
const (
	// airMaxHU: the lowest 0.5 % of a CT (air around the head, in the
	// canal and mastoid) lies below it.
	airMaxHU = -800
	// boneMinHU: a CT of the temporal bone has at least 0.1 % of its
	// voxels above it.
	boneMinHU = 700
	// OffsetHU is the unsigned offset some exports store CT with.
	OffsetHU = 1024
	// sampleVoxels bounds the voxels sorted for the percentiles.
	sampleVoxels = 1 << 20
	// checkBlockSamples is the samples per block CheckInput's cores share
	// out: blocks of a few MB.
	checkBlockSamples = 1 << 14
)

// InputCheck is what the sanity check found in a scan, recorded in the
// Result and the sidecar.
type InputCheck struct {
	// NonFiniteVoxels counts NaN and ±Inf voxels, which segmentation
	// treats as air outside the body (locate.AirHU).
	NonFiniteVoxels int `json:"non_finite_voxels"`
	// P0_5, P50 and P99_9 are percentiles of the finite values (a sample
	// of at most 2^20 voxels): air, the bulk, dense bone.
	P0_5  float64 `json:"p0_5"`
	P50   float64 `json:"p50"`
	P99_9 float64 `json:"p99_9"`
	// OffsetCorrectedHU is what was subtracted from every voxel: OffsetHU
	// when Options.AssumeOffset found a +1024 offset, else 0.
	OffsetCorrectedHU float64 `json:"offset_corrected_hu,omitempty"`
}

// CheckInput inspects img without changing it: that it is a 3-D volume,
// how many voxels are not finite, and whether its values look like CT in
// HU. It returns ErrNotVolume or ErrNotCT (wrapped, with the percentiles
// found and what a CT has), or ErrNoEar when the values are CT but hold no
// bone at all. With o.AssumeOffset, values that look like CT with a +1024
// offset pass and OffsetCorrectedHU says to subtract it (Apply does).
func CheckInput(img *volume.Volume, o Options) (InputCheck, error) {
	var c InputCheck
	for a, n := range img.Dims {
		if n < MinVoxelsPerAxis {
			return c, fmt.Errorf("%w: %d x %d x %d voxels, %d along axis %d (a single slice or a few); segmentation needs at least %d along each axis",
				ErrNotVolume, img.Dims[0], img.Dims[1], img.Dims[2], n, a, MinVoxelsPerAxis)
		}
	}
	// One pass counts the non-finite voxels and takes every stride-th
	// voxel for the sample, in blocks on every core: a strided gather on
	// its own waited on memory for as long as the count (0.1 s on a whole
	// head, with a sort). The sample is the same, in the same order.
	stride := max(1, len(img.Data)/sampleVoxels)
	ns := (len(img.Data) + stride - 1) / stride
	block := checkBlockSamples
	nb := (ns + block - 1) / block
	counts := make([]int, nb)
	sample := make([]float64, ns)
	parallel.For(nb, func() struct{} { return struct{}{} }, func(b int, _ struct{}) {
		n := 0
		for k := b * block; k < min(ns, (b+1)*block); k++ {
			run := img.Data[k*stride : min(len(img.Data), (k+1)*stride)]
			sample[k] = float64(run[0])
			for _, x := range run {
				if !finite(x) {
					n++
				}
			}
		}
		counts[b] = n
	})
	for _, n := range counts {
		c.NonFiniteVoxels += n
	}
	if c.NonFiniteVoxels > 0 {
		sample = slices.DeleteFunc(sample, func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) })
	}
	if len(sample) == 0 {
		return c, fmt.Errorf("%w: every voxel is NaN or infinite", ErrNotCT)
	}
	lowest := slices.Min(sample)
	pc := stats.PercentilesInPlace(sample, 0.5, 50, 99.9)
	c.P0_5, c.P50, c.P99_9 = pc[0], pc[1], pc[2]
	found := fmt.Sprintf("0.5th percentile %.0f, median %.0f, 99.9th percentile %.0f", c.P0_5, c.P50, c.P99_9)
	switch {
	case c.P0_5 <= airMaxHU && c.P99_9 >= boneMinHU:
		return c, nil
	case c.P0_5 <= airMaxHU:
		return c, fmt.Errorf("%w (%s): no bone above %+d HU, so no temporal bone", ErrNoEar, found, boneMinHU)
	case looksOffset(sample, lowest, c):
		if o.AssumeOffset {
			c.OffsetCorrectedHU = OffsetHU
			return c, nil
		}
		return c, fmt.Errorf("%w: the values look like CT stored with a +%d offset and no rescale (%s: air near 0, bone above +%d); a CT in HU has air near -1000. Fix the file's rescale intercept, or set AssumeOffset (--assume-offset) to subtract %d",
			ErrNotCT, OffsetHU, found, boneMinHU+OffsetHU, OffsetHU)
	case lowest >= 0:
		return c, fmt.Errorf("%w: no negative values (%s), as in MR or other non-CT images; a CT in HU has air near -1000 and bone above %+d", ErrNotCT, found, boneMinHU)
	}
	return c, fmt.Errorf("%w: no air near -1000 HU (%s); a CT in HU has its lowest 0.5%% below %d (air) and bone above %+d: is the rescale slope/intercept wrong?",
		ErrNotCT, found, airMaxHU, boneMinHU)
}

// finite reports x neither NaN nor ±Inf.
func finite(x float32) bool { return x-x == 0 }

// looksOffset reports values shaped like CT plus 1024: nothing below -50
// (noise around air at 0), air at the bottom, dense bone above 1024+700,
// and soft tissue (-150..+200 HU, shifted) the bulk of what is not air,
// which MR's arbitrary scale seldom produces.
func looksOffset(sample []float64, lowest float64, c InputCheck) bool {
	if lowest < -50 || c.P0_5 > 200 || c.P99_9 < OffsetHU+boneMinHU {
		return false
	}
	var body, soft int
	for _, x := range sample {
		if x > 400 {
			body++
			if x >= OffsetHU-150 && x <= OffsetHU+200 {
				soft++
			}
		}
	}
	return body > 0 && 3*soft >= body
}

// needsApply reports whether Apply changes anything.
func (c InputCheck) needsApply() bool { return c.NonFiniteVoxels > 0 || c.OffsetCorrectedHU != 0 }

// Apply makes img what segmentation expects, in place: NaN and ±Inf
// voxels become air outside the body (locate.AirHU), and the offset
// CheckInput found is subtracted.
func (c InputCheck) Apply(img *volume.Volume) {
	if !c.needsApply() {
		return
	}
	off := float32(c.OffsetCorrectedHU)
	for i, x := range img.Data {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			img.Data[i] = locate.AirHU
			continue
		}
		img.Data[i] = x - off
	}
}
