package imageio

import (
	"fmt"
	"math"
	"sort"

	"github.com/otoseg/otoseg/ear"

	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/volume"
)

// Segments lists one Slicer segment per label value present in labels
// (values 1..255; 0 is background), named and coloured by package ear's
// label table ("label N" for labels otoseg does not name).
// It refuses volumes that are not label maps: values that are not whole
// numbers in 0..255.
func Segments(labels *volume.Volume) ([]nrrd.Segment, error) {
	present := map[int]bool{}
	for i, x := range labels.Data {
		f := float64(x)
		if f != math.Trunc(f) || f < 0 || f > 255 {
			return nil, fmt.Errorf("voxel %d is %g: a segmentation holds labels 0..255", i, f)
		}
		if f > 0 {
			present[int(f)] = true
		}
	}
	var vals []int
	for l := range present {
		vals = append(vals, l)
	}
	sort.Ints(vals)
	segs := make([]nrrd.Segment, 0, len(vals))
	for _, l := range vals {
		segs = append(segs, slicerSegment(l))
	}
	if len(segs) == 0 {
		// Slicer needs at least one segment; an empty cochlea segment
		// keeps the file loadable.
		segs = append(segs, slicerSegment(int(ear.Cochlea)))
	}
	return segs, nil
}

// slicerSegment is label l as a Slicer segment: its ID, name and colour
// from the label table.
func slicerSegment(l int) nrrd.Segment {
	s := ear.Describe(l)
	return nrrd.Segment{ID: s.ID, Name: s.Name, LabelValue: l,
		Color: [3]float64{float64(s.Colour.R) / 255, float64(s.Colour.G) / 255, float64(s.Colour.B) / 255}}
}

// writeSegmentation writes a label map as a Slicer .seg.nrrd.
func writeSegmentation(path string, v *volume.Volume) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	segs, err := Segments(v)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nrrd.WriteSegmentation(path, v, segs)
}
