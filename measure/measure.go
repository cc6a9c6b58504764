// Package measure turns an inner-ear label map (1 cochlea, 2 vestibule,
// 3 semicircular canals) into the numbers a surgeon plans a cochlear
// implant with: the modiolar axis and the cochlear view (Verbist et al.
// 2010), the A and B values, the cochlea's height and number of turns, the
// cochlear duct length (traced on the label and by the published A-value
// formulas, each labelled with its method), the volumes, and per
// semicircular canal its radius of curvature and plane.
//
// Everything is measured in world millimetres from the label map alone, so
// it works on a reference segmentation and on otoseg's own. An ear too
// malformed for a figure gets a warning naming that figure instead of a
// number: a made-up A value is worse than none when it picks an electrode.
package measure

import (
	"errors"
	"fmt"
	"math"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/volume"
)

// Label values of the structures measured (package ear owns them).
const (
	Cochlea   = uint8(ear.Cochlea)
	Vestibule = uint8(ear.Vestibule)
	Canals    = uint8(ear.Canals)
)

// Record is the measurement of every ear in one label map.
type Record struct {
	Ears []Ear `json:"ears"`
	// Notes say what was unusual about the label map as a whole (one ear
	// only, say).
	Notes []string `json:"notes,omitempty"`
}

// Ear holds one ear's figures. A nil figure was not measurable; Warnings
// then says why, one entry per missing figure.
type Ear struct {
	Side string `json:"side"`
	// AValue is the basal turn's diameter through the modiolus from the
	// round window (the start of the duct) to the opposite lateral wall,
	// in the cochlear view; BValue the width perpendicular to it.
	AValue *float64 `json:"a_value_mm"`
	BValue *float64 `json:"b_value_mm"`
	// Height is the extent of the cochlear lumen along the modiolar axis.
	Height *float64 `json:"height_mm"`
	// Turns is the angular extent of the duct's centreline, in turns.
	Turns *float64 `json:"turns"`
	// CDLLateralWall and CDLOrganOfCorti are the headline duct lengths;
	// CDLMethod says how they were obtained, CDLEstimates lists every
	// estimate with its method.
	CDLLateralWall  *float64      `json:"cdl_lateral_wall_mm"`
	CDLOrganOfCorti *float64      `json:"cdl_organ_of_corti_mm"`
	CDLMethod       string        `json:"cdl_method,omitempty"`
	CDLEstimates    []CDLEstimate `json:"cdl_estimates,omitempty"`
	VolumeMM3       Volumes       `json:"volume_mm3"`
	// Cochlea places the modiolar axis and the cochlear view.
	Cochlea *CochlearFrame `json:"cochlea,omitempty"`
	Canals  CanalSet       `json:"canals"`
	// Warnings name each figure that could not be measured, and why.
	Warnings []string `json:"warnings"`
	// trace is the duct as traced, for the picture.
	trace *spiral
}

// Volumes are labelled volumes in mm³.
type Volumes struct {
	Cochlea   float64 `json:"cochlea"`
	Vestibule float64 `json:"vestibule"`
	Canals    float64 `json:"canals"`
	Labyrinth float64 `json:"labyrinth"`
}

// CDLEstimate is one estimate of the cochlear duct length.
type CDLEstimate struct {
	// Site is "lateral_wall" or "organ_of_corti".
	Site string `json:"site"`
	// Source is "traced", "alexiades2015", "escude2006" or
	// "traced_oc_ratio" (the traced lateral wall x 0.9).
	Source string  `json:"source"`
	Method string  `json:"method"`
	MM     float64 `json:"mm"`
}

// CochlearFrame is the cochlear coordinate system of Verbist et al. 2010:
// the modiolar axis (z, base to apex) and the cochlear view, the plane
// through the basal turn perpendicular to it, with x towards the round
// window (the start of the duct).
type CochlearFrame struct {
	// ModiolusMM is the middle of the modiolus (the axis at half the
	// cochlea's height), Axis the modiolar axis, base to apex (LPS).
	ModiolusMM [3]float64 `json:"modiolus_lps_mm"`
	Axis       [3]float64 `json:"modiolar_axis"`
	// ViewOriginMM is where the axis crosses the cochlear view; XAxis
	// points from it towards the round window.
	ViewOriginMM [3]float64 `json:"view_origin_lps_mm"`
	XAxis        [3]float64 `json:"view_x_axis"`
	// RisePerTurnMM is how far the duct climbs per turn.
	RisePerTurnMM float64 `json:"rise_per_turn_mm"`
	// SpiralFit in [0, 1] is how well the lumen follows one helical duct
	// (the length of the mean phase vector): 0.5 and more for a cochlea.
	SpiralFit float64 `json:"spiral_fit"`
}

// Options tune Measure.
type Options struct {
	// SampleMM is the finest step the cochlea is resampled at before it is
	// traced (0: 0.1 mm).
	SampleMM float64
}

// ErrEmpty is returned for a label map without any labelled voxel.
var ErrEmpty = errors.New("the label map has no labelled voxel (labels 1 cochlea, 2 vestibule, 3 canals)")

// Measure measures every ear of a label map. Voxels must hold 0-3; any
// other value is an error naming the first such voxel.
func Measure(lab *volume.Volume, o Options) (*Record, error) {
	if err := lab.Check(); err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	if o.SampleMM <= 0 {
		o.SampleMM = 0.1
	}
	var xs []float64
	nx, ny := lab.Dims[0], lab.Dims[1]
	for idx, v := range lab.Data {
		if v == 0 {
			continue
		}
		i, j, k := idx%nx, idx/nx%ny, idx/(nx*ny)
		if v != float32(math.Trunc(float64(v))) || v < 0 || v > 3 {
			return nil, fmt.Errorf("measure: voxel (%d, %d, %d) holds %g; a label map for measuring holds only 0 background, 1 cochlea, 2 vestibule, 3 semicircular canals", i, j, k, v)
		}
		xs = append(xs, lab.World(float64(i), float64(j), float64(k))[0])
	}
	if len(xs) == 0 {
		return nil, ErrEmpty
	}
	split := ear.SplitEars(xs, ear.EarGapMM)
	rec := &Record{}
	for _, side := range []ear.Side{ear.Right, ear.Left} {
		box := cutEar(lab, split, side)
		if box == nil {
			continue
		}
		rec.Ears = append(rec.Ears, measureEar(box, side.String(), o))
	}
	if len(rec.Ears) == 1 {
		rec.Notes = append(rec.Notes, fmt.Sprintf("one ear in this label map (the %s); the other is outside the field of view or unlabelled", rec.Ears[0].Side))
	}
	return rec, nil
}

// earBox is one ear's labels cut out of the label map: the ear's bounding
// box plus one voxel, other ears' voxels cleared.
type earBox struct {
	g    volume.Geometry // the whole label map's grid
	lo   [3]int          // box origin in g's indices
	dims [3]int
	lab  []uint8
}

func (b *earBox) at(i, j, k int) uint8 {
	if i < 0 || j < 0 || k < 0 || i >= b.dims[0] || j >= b.dims[1] || k >= b.dims[2] {
		return 0
	}
	return b.lab[i+b.dims[0]*(j+b.dims[1]*k)]
}

// world is the LPS position of box index (i, j, k), fractional allowed.
func (b *earBox) world(i, j, k float64) vec {
	return vec(b.g.World(i+float64(b.lo[0]), j+float64(b.lo[1]), k+float64(b.lo[2])))
}

func (b *earBox) voxelMM3() float64 { return b.g.Spacing[0] * b.g.Spacing[1] * b.g.Spacing[2] }

// cutEar returns the box of side's voxels, or nil when it has none.
func cutEar(lab *volume.Volume, split ear.EarSplit, side ear.Side) *earBox {
	lo := [3]int{math.MaxInt, math.MaxInt, math.MaxInt}
	hi := [3]int{-1, -1, -1}
	nx, ny := lab.Dims[0], lab.Dims[1]
	mine := func(idx int) bool {
		i, j, k := idx%nx, idx/nx%ny, idx/(nx*ny)
		return split.Side(lab.World(float64(i), float64(j), float64(k))[0]) == side
	}
	for idx, v := range lab.Data {
		if v == 0 || !mine(idx) {
			continue
		}
		x := [3]int{idx % nx, idx / nx % ny, idx / (nx * ny)}
		for a := 0; a < 3; a++ {
			lo[a], hi[a] = min(lo[a], x[a]), max(hi[a], x[a])
		}
	}
	if hi[0] < 0 {
		return nil
	}
	b := &earBox{g: lab.Geometry}
	for a := 0; a < 3; a++ {
		b.lo[a] = lo[a] - 1
		b.dims[a] = hi[a] - lo[a] + 3
	}
	b.lab = make([]uint8, b.dims[0]*b.dims[1]*b.dims[2])
	for k := 1; k < b.dims[2]-1; k++ {
		for j := 1; j < b.dims[1]-1; j++ {
			for i := 1; i < b.dims[0]-1; i++ {
				idx := lab.Index(b.lo[0]+i, b.lo[1]+j, b.lo[2]+k)
				if v := lab.Data[idx]; v != 0 && mine(idx) {
					b.lab[i+b.dims[0]*(j+b.dims[1]*k)] = uint8(v)
				}
			}
		}
	}
	return b
}

// measureEar measures one ear.
func measureEar(b *earBox, side string, o Options) Ear {
	e := Ear{Side: side, Warnings: []string{}}
	var n [4]int
	for _, v := range b.lab {
		n[v]++
	}
	mm3 := b.voxelMM3()
	e.VolumeMM3 = Volumes{Cochlea: r2(float64(n[1]) * mm3), Vestibule: r2(float64(n[2]) * mm3),
		Canals: r2(float64(n[3]) * mm3), Labyrinth: r2(float64(n[1]+n[2]+n[3]) * mm3)}
	measureCochlea(&e, b, o)
	measureCanals(&e, b)
	return e
}

func r2(x float64) float64 { return math.Round(x*100) / 100 }
func r3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ptr returns a pointer to x rounded to three decimals.
func ptr(x float64) *float64 { x = r3(x); return &x }
