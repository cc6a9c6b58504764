// Package plan derives, stores and loads the preprocessing and network plan
// of an otoseg model, in the spirit of nnU-Net's plans file: everything that
// training and segmentation must agree on lives in one JSON document that is
// saved in the model folder, so a model describes itself.
//
// A plan is derived from a training set's fingerprint (the spacings of its
// images, the extent of its inner ears and the intensities inside them) with
// nnU-Net's rules, adapted to a region of interest around each ear rather
// than a whole image.
package plan

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/otoseg/otoseg/stats"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// Version is the plan format version written by this package.
const Version = 1

// Plan is the preprocessing and architecture of a model.
type Plan struct {
	Version int `json:"version"`
	// Labels maps label values to structure names; 0 is background.
	Labels map[int]string `json:"labels"`
	// TargetSpacing is the voxel spacing (mm, x y z) the network sees.
	TargetSpacing [3]float64 `json:"target_spacing_mm"`
	// ROISizeMM is the extent of the region cropped around each ear: the
	// largest ear in training plus a margin for localisation error.
	ROISizeMM [3]float64 `json:"roi_size_mm"`
	// PatchSize is the network input in voxels (x y z), a multiple of 2^(stages-1).
	PatchSize [3]int `json:"patch_size"`
	// Intensity is CT normalisation from foreground statistics.
	Intensity Intensity `json:"intensity"`
	// Network is the U-Net configuration as its package serialises it.
	Network json.RawMessage `json:"network"`
	// ForegroundThreshold is the summed foreground probability at which a
	// voxel of the scan's grid counts as labyrinth; 0 means 0.5. It is
	// chosen on validation cases after training (see otoseg train), because
	// interpolating probabilities back onto a coarser scan grid dilutes thin
	// canals.
	ForegroundThreshold float64 `json:"foreground_threshold,omitempty"`
	// Locator is the plan of the low-resolution network that finds the ears.
	Locator Locator `json:"locator"`
	// Fingerprint records the statistics the plan was derived from.
	Fingerprint Fingerprint `json:"fingerprint"`
}

// Locator plans the localiser: a small U-Net that sees the whole field of
// view at a coarse spacing and marks the labyrinths, whose connected
// components give the ears' centres.
type Locator struct {
	// Spacing is the isotropic voxel size (mm) of the localiser's input.
	Spacing float64 `json:"spacing_mm"`
	// PatchSize is its sliding-window patch (x y z voxels).
	PatchSize [3]int `json:"patch_size"`
	// Intensity is a fixed CT window: the localiser must work on any scan.
	Intensity Intensity `json:"intensity"`
	// Threshold is the foreground probability that marks an ear.
	Threshold float64 `json:"threshold"`
	// MinVolumeMM3 is the smallest component reported as an ear. The
	// localiser learns a dilated labyrinth of about 400 mm^3 per ear; a
	// quarter of that separates ears from stray specks (a vertebra once gave
	// a 20 mm^3 one).
	MinVolumeMM3 float64 `json:"min_volume_mm3"`
	// MinScore is the smallest summed foreground probability of a component
	// reported as an ear (0: no minimum). It is chosen on validation cases
	// after training: half the weakest true ear's score.
	MinScore float64 `json:"min_score,omitempty"`
	// Network is the localiser's U-Net configuration.
	Network json.RawMessage `json:"network"`
}

// DefaultLocator is the localiser plan: 1.5 mm voxels, 64x64x48 patches
// (96x96x72 mm), a bone-to-air CT window.
func DefaultLocator() Locator {
	return Locator{
		Spacing:      1.5,
		PatchSize:    [3]int{64, 64, 48},
		Intensity:    Intensity{ClipLow: -1024, ClipHigh: 3000, Mean: 500, Std: 1000},
		Threshold:    0.5,
		MinVolumeMM3: 100,
	}
}

// Intensity is nnU-Net's CT normalisation: clip to foreground percentiles
// (the top raised to MinCTClipHigh by Derive), then z-score with the
// foreground mean and standard deviation.
type Intensity struct {
	ClipLow  float64 `json:"clip_low"`
	ClipHigh float64 `json:"clip_high"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
}

// Normalize applies the intensity normalisation in place.
func (in Intensity) Normalize(data []float32) {
	lo, hi := float32(in.ClipLow), float32(in.ClipHigh)
	m, s := float32(in.Mean), float32(1/max(in.Std, 1e-6))
	for i, x := range data {
		x = min(max(x, lo), hi)
		data[i] = (x - m) * s
	}
}

// Fingerprint summarises a training set.
type Fingerprint struct {
	Cases int `json:"cases"`
	Ears  int `json:"ears"`
	// Spacings of every training image (mm).
	Spacings [][3]float64 `json:"spacings_mm"`
	// EarExtentMM is the largest bounding-box extent of one ear's labyrinth.
	EarExtentMM [3]float64 `json:"ear_extent_mm"`
	// Foreground intensity percentiles and moments (pooled, sampled).
	FGP005   float64 `json:"fg_p0_5"`
	FGP995   float64 `json:"fg_p99_5"`
	FGMean   float64 `json:"fg_mean"`
	FGStd    float64 `json:"fg_std"`
	FGSample int     `json:"fg_sampled_voxels"`
}

// Rules are the knobs of plan derivation, with nnU-Net-like defaults.
type Rules struct {
	// MarginMM is added on each side of the largest ear extent to allow for
	// localisation error.
	MarginMM float64
	// MaxPatchVoxels caps the patch size (memory and time per step).
	MaxPatchVoxels int
	// Divisor is 2^(number of downsamplings): patch edges are multiples of it.
	Divisor int
}

// DefaultRules returns the rules otoseg's baseline was planned with.
func DefaultRules() Rules {
	return Rules{MarginMM: 4, MaxPatchVoxels: 64 * 64 * 64, Divisor: 8}
}

// TargetSpacing applies nnU-Net's rule: the per-axis median spacing, except
// that an axis more than 3x coarser than the finest one takes the 10th
// percentile instead.
func TargetSpacing(spacings [][3]float64) ([3]float64, error) {
	if len(spacings) == 0 {
		return [3]float64{}, fmt.Errorf("no spacings to plan from")
	}
	var med, p10 [3]float64
	for a := 0; a < 3; a++ {
		v := make([]float64, len(spacings))
		for i, s := range spacings {
			v[i] = s[a]
		}
		slices.Sort(v)
		med[a] = stats.Percentile(v, 50)
		p10[a] = stats.Percentile(v, 10)
	}
	finest := min(med[0], med[1], med[2])
	for a := 0; a < 3; a++ {
		if med[a] > 3*finest {
			med[a] = p10[a]
		}
	}
	return med, nil
}

// MinCTClipHigh is the lowest upper CT clip (HU) that Derive plans.
//
// nnU-Net clips CT at the labelled voxels' 0.5 and 99.5 percentiles. The
// bony labyrinth's label covers its fluid-filled lumen, so the 99.5
// percentile is low (1251 HU on the baseline's cohort), which looks
// harmless. But under a smooth reconstruction kernel a 1 mm canal's lumen
// fills in to 1150-1400 HU between bone of 2000 HU and more, and a clip at
// 1251 HU makes lumen and bone one value: the network cannot learn to tell
// apart what it is never shown apart. Clipping no lower than 2500 HU keeps
// dense otic capsule distinct from a filled-in lumen (the baseline's stage 5
// fine-tuned at 2500 HU and took an external centre's normal ears from Dice
// 0.81-0.82 to 0.91-0.92; the same cohort at the old clip gained nothing).
// The lower bound stays the 0.5 percentile: air and soft tissue below it
// carry nothing the labels need.
const MinCTClipHigh = 2500

// Derive builds a plan from a fingerprint. The network configuration is
// filled in by the caller, which knows the U-Net package. The intensity clip
// is the foreground's 0.5 percentile to the larger of its 99.5 percentile
// and MinCTClipHigh; the fingerprint keeps the percentiles as measured.
func Derive(fp Fingerprint, labels map[int]string, r Rules) (*Plan, error) {
	sp, err := TargetSpacing(fp.Spacings)
	if err != nil {
		return nil, err
	}
	if fp.FGSample == 0 {
		return nil, fmt.Errorf("no foreground voxels in the training labels")
	}
	p := &Plan{
		Version:       Version,
		Labels:        labels,
		TargetSpacing: sp,
		Intensity:     Intensity{ClipLow: fp.FGP005, ClipHigh: max(fp.FGP995, MinCTClipHigh), Mean: fp.FGMean, Std: fp.FGStd},
		Locator:       DefaultLocator(),
		Fingerprint:   fp,
	}
	for a := 0; a < 3; a++ {
		p.ROISizeMM[a] = fp.EarExtentMM[a] + 2*r.MarginMM
	}
	p.SetSpacing(sp, r)
	return p, nil
}

// SetSpacing sets the target spacing and derives the patch size from it: the
// ROI in voxels, rounded up to the divisor, then shrunk on the largest axis
// (as nnU-Net does) until it fits the voxel budget. The patch must follow
// the spacing, or an overridden spacing would leave a patch cut for another
// grid (too small to see the ear, or too big for the budget).
func (p *Plan) SetSpacing(sp [3]float64, r Rules) {
	p.TargetSpacing = sp
	for a := 0; a < 3; a++ {
		n := int(math.Ceil(p.ROISizeMM[a] / sp[a]))
		p.PatchSize[a] = (n + r.Divisor - 1) / r.Divisor * r.Divisor
	}
	for p.PatchSize[0]*p.PatchSize[1]*p.PatchSize[2] > r.MaxPatchVoxels {
		a := 0
		for b := 1; b < 3; b++ {
			if p.PatchSize[b]*int(1000*sp[b]) > p.PatchSize[a]*int(1000*sp[a]) {
				a = b
			}
		}
		if p.PatchSize[a] <= r.Divisor {
			break
		}
		p.PatchSize[a] -= r.Divisor
	}
}

// ROIDims returns the region of interest in voxels at the target spacing,
// never smaller than the patch.
func (p *Plan) ROIDims() [3]int {
	var d [3]int
	for a := 0; a < 3; a++ {
		d[a] = max(int(math.Ceil(p.ROISizeMM[a]/p.TargetSpacing[a]-1e-9)), p.PatchSize[a])
	}
	return d
}

// Save writes the plan as indented JSON (atomically).
func (p *Plan) Save(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, append(b, '\n')); err != nil {
		return fmt.Errorf("plans: %w", err)
	}
	return nil
}

// Load reads a plan written by Save and checks it.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("plans %s: %w", path, err)
	}
	if err := p.Check(); err != nil {
		return nil, fmt.Errorf("plans %s: %w", path, err)
	}
	return &p, nil
}

// Check reports a plan that cannot drive training or segmentation.
func (p *Plan) Check() error {
	if p.Version != Version {
		return fmt.Errorf("plan version %d, this otoseg reads version %d", p.Version, Version)
	}
	for a := 0; a < 3; a++ {
		if !(p.TargetSpacing[a] > 0) || p.TargetSpacing[a] > 10 {
			return fmt.Errorf("target spacing %v out of range", p.TargetSpacing)
		}
		if p.PatchSize[a] < 4 || p.PatchSize[a] > 512 {
			return fmt.Errorf("patch size %v out of range", p.PatchSize)
		}
		if !(p.ROISizeMM[a] > 0) || p.ROISizeMM[a] > 200 {
			return fmt.Errorf("ROI size %v mm out of range", p.ROISizeMM)
		}
	}
	if !(p.Intensity.Std > 0) || !(p.Intensity.ClipHigh > p.Intensity.ClipLow) {
		return fmt.Errorf("intensity normalisation %+v is degenerate", p.Intensity)
	}
	if l := p.Locator; !(l.Spacing > 0.2 && l.Spacing < 10) || l.PatchSize[0] < 4 || l.PatchSize[1] < 4 || l.PatchSize[2] < 4 || !(l.Intensity.Std > 0) {
		return fmt.Errorf("locator plan %+v is degenerate", l)
	}
	if p.ForegroundThreshold < 0 || p.ForegroundThreshold >= 1 {
		return fmt.Errorf("foreground threshold %g out of [0, 1)", p.ForegroundThreshold)
	}
	if len(p.Labels) == 0 {
		return fmt.Errorf("no labels")
	}
	return nil
}
