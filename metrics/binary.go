package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/otoseg/otoseg/stats"
)

// Mask is a binary mask on a regular grid: x fastest, index i + nx*(j + ny*k),
// the layout of volume.Volume. Spacing is in mm.
type Mask struct {
	Dims    [3]int
	Spacing [3]float64
	Data    []bool
}

// NewMask returns an empty mask.
func NewMask(dims [3]int, spacing [3]float64) Mask {
	return Mask{Dims: dims, Spacing: spacing, Data: make([]bool, dims[0]*dims[1]*dims[2])}
}

// Set marks voxel (i, j, k).
func (m Mask) Set(i, j, k int) { m.Data[i+m.Dims[0]*(j+m.Dims[1]*k)] = true }

// Status says which of the two masks was empty; the metrics that the empty
// mask leaves undefined are NaN in Result (written "NA" in cases.csv and
// counted, never averaged, in summaries).
type Status string

// Statuses of a comparison.
const (
	StatusOK        Status = "ok"
	StatusBothEmpty Status = "both_empty" // perfect agreement: overlap 1, distances 0
	StatusRefEmpty  Status = "ref_empty"  // false positive only
	StatusPredEmpty Status = "pred_empty" // missed structure
)

// Result holds the metrics comparing a predicted mask with a reference.
// Undefined values are NaN; see Status and the package documentation.
type Result struct {
	Status       Status
	RefVoxels    int
	PredVoxels   int
	Intersection int

	Dice        float64
	IoU         float64
	Sensitivity float64 // |R∩P| / |R|; NaN when R is empty and P is not
	Precision   float64 // |R∩P| / |P|; NaN when P is empty and R is not

	HD   float64 // Hausdorff distance, mm
	HD95 float64 // 95th percentile of the pooled surface distances, mm
	ASSD float64 // mean of the pooled surface distances, mm
	NSD  float64 // normalised surface Dice at Tolerance

	Tolerance  float64 // mm
	VolumeRef  float64 // mm³
	VolumePred float64 // mm³
	AVD        float64 // |VolumePred - VolumeRef|, mm³
	RVD        float64 // (VolumePred - VolumeRef) / VolumeRef; NaN when the reference is empty

	RefSurface  int // surface voxels of the reference
	PredSurface int // surface voxels of the prediction

	// Stray pieces (issue 13): HD says how far the worst boundary point is
	// but not whether the prediction holds a separate blob a reader has to
	// erase, so each 26-connected piece of the prediction gets its distance
	// to the reference (0 when it overlaps or touches it; see strayPieces).
	// Like HD, StrayMM is 0 when both masks are empty and NaN when one is;
	// StrayPieces and StrayVoxels are then 0 and mean nothing (cases.csv
	// writes NA for them too).
	StrayMM     float64 // largest distance of a predicted piece to the reference, mm
	StrayPieces int     // predicted pieces farther than StrayThresholdMM from the reference
	StrayVoxels int     // voxels of those pieces
	StrayVolume float64 // StrayVoxels × voxel volume, mm³; NaN with StrayMM
}

// toleranceSlack (mm) absorbs storage noise in "distance <= tolerance":
// NIfTI keeps spacings as float32, so 0.4 and 0.6 mm read back as
// 0.40000001 and 0.60000002, and the 1 mm diagonal sqrt(0.6²+(2·0.4)²)
// becomes 1.00000002 mm; without slack it would fall outside a 1 mm
// tolerance that the intended spacing meets exactly.
const toleranceSlack = 1e-6

// Compare computes every metric of pred against ref. tolerance is the NSD
// tolerance in mm. The masks must share dims and spacing.
func Compare(ref, pred Mask, tolerance float64) (Result, error) {
	if ref.Dims != pred.Dims || ref.Spacing != pred.Spacing {
		return Result{}, fmt.Errorf("metrics: masks differ in grid (dims %v vs %v, spacing %v vs %v)", ref.Dims, pred.Dims, ref.Spacing, pred.Spacing)
	}
	n := ref.Dims[0] * ref.Dims[1] * ref.Dims[2]
	if len(ref.Data) != n || len(pred.Data) != n {
		return Result{}, fmt.Errorf("metrics: mask data lengths %d and %d, want %d", len(ref.Data), len(pred.Data), n)
	}
	for a := 0; a < 3; a++ {
		if !(ref.Spacing[a] > 0) || math.IsInf(ref.Spacing[a], 0) {
			return Result{}, fmt.Errorf("metrics: spacing %v is not positive and finite", ref.Spacing)
		}
	}
	if !(tolerance >= 0) || math.IsInf(tolerance, 0) {
		return Result{}, fmt.Errorf("metrics: tolerance %g mm is not a non-negative number", tolerance)
	}
	r := Result{Tolerance: tolerance}
	lo, hi := [3]int{math.MaxInt, math.MaxInt, math.MaxInt}, [3]int{-1, -1, -1}
	idx := 0
	for k := 0; k < ref.Dims[2]; k++ {
		for j := 0; j < ref.Dims[1]; j++ {
			for i := 0; i < ref.Dims[0]; i++ {
				a, b := ref.Data[idx], pred.Data[idx]
				idx++
				if !a && !b {
					continue
				}
				if a {
					r.RefVoxels++
				}
				if b {
					r.PredVoxels++
				}
				if a && b {
					r.Intersection++
				}
				lo = [3]int{min(lo[0], i), min(lo[1], j), min(lo[2], k)}
				hi = [3]int{max(hi[0], i), max(hi[1], j), max(hi[2], k)}
			}
		}
	}
	vox := ref.Spacing[0] * ref.Spacing[1] * ref.Spacing[2]
	r.VolumeRef = float64(r.RefVoxels) * vox
	r.VolumePred = float64(r.PredVoxels) * vox
	r.AVD = math.Abs(r.VolumePred - r.VolumeRef)
	nan := math.NaN()
	switch {
	case r.RefVoxels == 0 && r.PredVoxels == 0:
		r.Status = StatusBothEmpty
		r.Dice, r.IoU, r.Sensitivity, r.Precision, r.NSD = 1, 1, 1, 1, 1
		r.HD, r.HD95, r.ASSD, r.RVD = 0, 0, 0, 0
		return r, nil
	case r.RefVoxels == 0:
		r.Status = StatusRefEmpty
		r.Dice, r.IoU, r.Precision, r.NSD = 0, 0, 0, 0
		r.Sensitivity, r.HD, r.HD95, r.ASSD, r.RVD = nan, nan, nan, nan, nan
		r.StrayMM, r.StrayVolume = nan, nan
		r.PredSurface = len(surface(pred, lo, hi))
		return r, nil
	case r.PredVoxels == 0:
		r.Status = StatusPredEmpty
		r.Dice, r.IoU, r.Sensitivity, r.NSD = 0, 0, 0, 0
		r.Precision, r.HD, r.HD95, r.ASSD = nan, nan, nan, nan
		r.StrayMM, r.StrayVolume = nan, nan
		r.RVD = (r.VolumePred - r.VolumeRef) / r.VolumeRef
		r.RefSurface = len(surface(ref, lo, hi))
		return r, nil
	}
	r.Status = StatusOK
	inter := float64(r.Intersection)
	r.Dice = 2 * inter / float64(r.RefVoxels+r.PredVoxels)
	r.IoU = inter / float64(r.RefVoxels+r.PredVoxels-r.Intersection)
	r.Sensitivity = inter / float64(r.RefVoxels)
	r.Precision = inter / float64(r.PredVoxels)
	r.RVD = (r.VolumePred - r.VolumeRef) / r.VolumeRef

	sr, sp := surface(ref, lo, hi), surface(pred, lo, hi)
	r.RefSurface, r.PredSurface = len(sr), len(sp)
	dRP := directedDistances(sr, sp, lo, hi, ref.Spacing) // ref surface -> pred surface
	dPR := directedDistances(sp, sr, lo, hi, ref.Spacing)
	all := append(dRP, dPR...)
	slices.Sort(all)
	r.HD = all[len(all)-1]
	r.HD95 = stats.Percentile(all, 95)
	var sum float64
	within := 0
	for _, d := range all {
		sum += d
		if d <= tolerance+toleranceSlack {
			within++
		}
	}
	r.ASSD = sum / float64(len(all))
	r.NSD = float64(within) / float64(len(all))
	var err error
	if r.StrayMM, r.StrayPieces, r.StrayVoxels, err = strayPieces(ref, pred, lo, hi, sp, dPR); err != nil {
		return Result{}, err
	}
	r.StrayVolume = float64(r.StrayVoxels) * vox
	return r, nil
}

// surface returns the coordinates of the mask voxels inside [lo, hi] that
// have at least one of their 6 face neighbours outside the mask; voxels
// beyond the grid count as outside, so a mask touching the border has
// surface there (scipy's binary_erosion with border_value=0, as medpy and
// MONAI use).
func surface(m Mask, lo, hi [3]int) [][3]int {
	nx, ny, nz := m.Dims[0], m.Dims[1], m.Dims[2]
	sy, sz := nx, nx*ny
	var s [][3]int
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				p := i + sy*j + sz*k
				if !m.Data[p] {
					continue
				}
				if i == 0 || i == nx-1 || j == 0 || j == ny-1 || k == 0 || k == nz-1 ||
					!m.Data[p-1] || !m.Data[p+1] || !m.Data[p-sy] || !m.Data[p+sy] || !m.Data[p-sz] || !m.Data[p+sz] {
					s = append(s, [3]int{i, j, k})
				}
			}
		}
	}
	return s
}

// directedDistances returns, for each voxel of from, the distance in mm from
// its centre to the nearest voxel centre of to, with an exact EDT of to on
// the box [lo, hi] (which holds both sets).
func directedDistances(from, to [][3]int, lo, hi [3]int, sp [3]float64) []float64 {
	d := [3]int{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}
	f := make([]float64, d[0]*d[1]*d[2])
	for i := range f {
		f[i] = math.Inf(1)
	}
	at := func(c [3]int) int { return (c[0] - lo[0]) + d[0]*((c[1]-lo[1])+d[1]*(c[2]-lo[2])) }
	for _, c := range to {
		f[at(c)] = 0
	}
	squaredEDT(f, d, sp)
	out := make([]float64, len(from))
	for i, c := range from {
		out[i] = math.Sqrt(f[at(c)])
	}
	return out
}
