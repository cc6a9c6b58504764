package metrics

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/volume"
)

// Structure is one row family of the evaluation: a label of the label map,
// or every label > 0 when Label is 0 (the whole labyrinth).
type Structure struct {
	Name  string
	Label int
}

// Structures evaluated for every case and ear, in report order: package
// ear's structures by their IDs, then the whole labyrinth.
var Structures = func() []Structure {
	var s []Structure
	for _, e := range ear.Structures() {
		s = append(s, Structure{e.ID, int(e.Label)})
	}
	return append(s, Structure{ear.LabyrinthID, 0})
}()

// Ear names. EarBoth is the whole volume, without any split.
const (
	EarBoth  = "both"
	EarLeft  = "left"
	EarRight = "right"
)

// Defaults for Options.
const (
	DefaultToleranceMM = 1.0
	// DefaultEarGapMM is ear.EarGapMM: evaluation and training decide
	// "which ear" by the same rule (ear.SplitEars).
	DefaultEarGapMM = ear.EarGapMM
)

// Options tune Evaluate.
type Options struct {
	// ToleranceMM is the NSD tolerance in mm (>= 0).
	ToleranceMM float64
	// EarGapMM is the smallest empty gap, along the patient's left-right
	// (LPS x) axis, between reference labyrinth voxels that separates a left
	// and a right ear; DefaultEarGapMM when 0. One labyrinth is about 15 mm
	// wide and the two lie 60 to 100 mm apart, so 20 mm splits heads and
	// never splits one ear.
	EarGapMM float64
}

// Ears records how a case was split into ears.
type Ears struct {
	// Present lists the ears that have reference labyrinth voxels, "left"
	// before "right"; only these get per-ear rows.
	Present []string
	// Split is true when two ears were found; PlaneX is then the LPS x (mm)
	// of the sagittal plane between them: x > PlaneX is the patient's left.
	Split  bool
	PlaneX float64
	// Rule says in words how the sides were decided.
	Rule string
}

// Row is the comparison of one structure in one ear.
type Row struct {
	Ear       string
	Structure string
	Result
}

// CaseResult holds every row of one case: "both" first, then each present
// ear, each with the structures in the order of Structures.
type CaseResult struct {
	Rows []Row
	Ears Ears
}

// Evaluate compares a predicted label map with the reference on the same
// grid (an error names the difference otherwise). Labels are 1 cochlea,
// 2 vestibule, 3 canals; the labyrinth is every label > 0. Work is done on
// the bounding box of both label maps plus one voxel, so whole-head scans
// cost little more than the inner ears themselves.
//
// Ears (ear.SplitEars, the rule training uses too): the world LPS x of
// every reference labyrinth voxel is sorted; a gap of at least EarGapMM
// splits the case into two ears at the middle of the largest gap (x above it
// is the patient's left, LPS +x). Without such a gap the case holds one ear,
// the side of the reference centroid (x > 0 left), and the whole volume
// belongs to that ear. Without reference voxels only "both" rows are
// produced.
func Evaluate(ref, pred *volume.Volume, opt Options) (*CaseResult, error) {
	if err := ref.Check(); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if err := pred.Check(); err != nil {
		return nil, fmt.Errorf("prediction: %w", err)
	}
	tol := 0.05 * min(ref.Spacing[0], ref.Spacing[1], ref.Spacing[2])
	if !ref.SameGrid(pred.Geometry, tol) {
		return nil, fmt.Errorf("prediction grid differs from the reference (dims %v vs %v, spacing %v vs %v, origin %v vs %v): resample it onto the reference grid",
			pred.Dims, ref.Dims, pred.Spacing, ref.Spacing, pred.Origin, ref.Origin)
	}
	if !(opt.ToleranceMM >= 0) || math.IsInf(opt.ToleranceMM, 0) {
		return nil, fmt.Errorf("tolerance %g mm: want a non-negative number", opt.ToleranceMM)
	}
	gap := opt.EarGapMM
	if gap <= 0 {
		gap = DefaultEarGapMM
	}
	lo, hi, err := labelBox(ref, pred)
	if err != nil {
		return nil, err
	}
	res := &CaseResult{}
	if hi[0] < 0 { // both empty
		res.Ears.Rule = "reference empty: only whole-volume rows"
		m := NewMask([3]int{1, 1, 1}, ref.Spacing)
		for _, s := range Structures {
			r, err := Compare(m, m, opt.ToleranceMM)
			if err != nil {
				return nil, err
			}
			res.Rows = append(res.Rows, Row{EarBoth, s.Name, r})
		}
		return res, nil
	}
	// Crop one voxel beyond the labels (clipped at the image border, where
	// the outside counts as background anyway).
	for a := 0; a < 3; a++ {
		lo[a] = max(lo[a]-1, 0)
		hi[a] = min(hi[a]+1, ref.Dims[a]-1)
	}
	c := crop(ref, pred, lo, hi)
	res.Ears = c.splitEars(gap)
	ears := append([]string{EarBoth}, res.Ears.Present...)
	for _, ear := range ears {
		for _, s := range Structures {
			a, b := c.masks(ear, s, res.Ears)
			r, err := Compare(a, b, opt.ToleranceMM)
			if err != nil {
				return nil, err
			}
			res.Rows = append(res.Rows, Row{ear, s.Name, r})
		}
	}
	return res, nil
}

// labelBox validates that both volumes hold labels (non-negative integers
// up to 255) and returns the bounding box of their non-zero voxels; hi[0] is
// -1 when both are empty.
func labelBox(ref, pred *volume.Volume) (lo, hi [3]int, err error) {
	lo, hi = [3]int{math.MaxInt, math.MaxInt, math.MaxInt}, [3]int{-1, -1, -1}
	idx := 0
	for k := 0; k < ref.Dims[2]; k++ {
		for j := 0; j < ref.Dims[1]; j++ {
			for i := 0; i < ref.Dims[0]; i++ {
				a, b := ref.Data[idx], pred.Data[idx]
				idx++
				if a == 0 && b == 0 {
					continue
				}
				for n, v := range [2]float32{a, b} {
					if !(v >= 0 && v <= 255) || v != float32(math.Trunc(float64(v))) {
						name := [2]string{"reference", "prediction"}[n]
						return lo, hi, fmt.Errorf("%s voxel (%d,%d,%d) is %g: a label map holds integers 0..255", name, i, j, k, v)
					}
				}
				lo = [3]int{min(lo[0], i), min(lo[1], j), min(lo[2], k)}
				hi = [3]int{max(hi[0], i), max(hi[1], j), max(hi[2], k)}
			}
		}
	}
	return lo, hi, nil
}

// cropped holds both label maps on a box of the full grid plus the world
// LPS x of every box voxel's centre.
type cropped struct {
	dims      [3]int
	spacing   [3]float64
	ref, pred []uint8
	x         []float64
}

func crop(ref, pred *volume.Volume, lo, hi [3]int) *cropped {
	d := [3]int{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}
	n := d[0] * d[1] * d[2]
	c := &cropped{dims: d, spacing: ref.Spacing, ref: make([]uint8, n), pred: make([]uint8, n), x: make([]float64, n)}
	g := ref.Geometry
	p := 0
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			src := g.Index(lo[0], j, k)
			for i := lo[0]; i <= hi[0]; i++ {
				c.ref[p] = uint8(ref.Data[src])
				c.pred[p] = uint8(pred.Data[src])
				c.x[p] = g.World(float64(i), float64(j), float64(k))[0]
				src++
				p++
			}
		}
	}
	return c
}

func (c *cropped) splitEars(gap float64) Ears {
	var xs []float64
	for p, l := range c.ref {
		if l > 0 {
			xs = append(xs, c.x[p])
		}
	}
	if len(xs) == 0 {
		return Ears{Rule: "reference empty: only whole-volume rows"}
	}
	e := ear.SplitEars(xs, gap)
	if e.Split {
		return Ears{Present: []string{EarLeft, EarRight}, Split: true, PlaneX: e.PlaneX,
			Rule: fmt.Sprintf("two ears: reference labyrinth voxels leave a %.1f mm gap along LPS x; split at x = %.2f mm (x above is left)", e.GapMM, e.PlaneX)}
	}
	side := EarRight
	if e.Side(e.CentroidX) == ear.Left {
		side = EarLeft
	}
	return Ears{Present: []string{side},
		Rule: fmt.Sprintf("one ear: no gap of %.0f mm between reference labyrinth voxels; their centroid is at LPS x = %.2f mm, so the whole volume is the %s ear", gap, e.CentroidX, side)}
}

// masks returns the reference and predicted masks of structure s limited to
// ear (the voxels on that side of the split plane; every voxel when the
// case was not split or ear is "both").
func (c *cropped) masks(ear string, s Structure, e Ears) (Mask, Mask) {
	a, b := NewMask(c.dims, c.spacing), NewMask(c.dims, c.spacing)
	for p := range c.ref {
		if e.Split && ear != EarBoth && (c.x[p] > e.PlaneX) != (ear == EarLeft) {
			continue
		}
		a.Data[p] = match(c.ref[p], s)
		b.Data[p] = match(c.pred[p], s)
	}
	return a, b
}

func match(l uint8, s Structure) bool {
	if s.Label == 0 {
		return l > 0
	}
	return int(l) == s.Label
}
