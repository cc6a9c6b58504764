package imageio

import (
	"fmt"
	"math"
	"sort"

	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/volume"
)

// Structure names and colours of otoseg's labels, as written into 3D Slicer
// segmentations (Segment<N>_Name, _Color).
var labelSegments = map[int]nrrd.Segment{
	1: {ID: "cochlea", Name: "cochlea", Color: [3]float64{0.902, 0.627, 0.392}, LabelValue: 1},
	2: {ID: "vestibule", Name: "vestibule", Color: [3]float64{0.502, 0.682, 0.502}, LabelValue: 2},
	3: {ID: "canals", Name: "semicircular canals", Color: [3]float64{0.396, 0.612, 0.878}, LabelValue: 3},
}

// palette colours labels otoseg does not name.
var palette = [][3]float64{{0.85, 0.35, 0.35}, {0.35, 0.75, 0.75}, {0.8, 0.8, 0.3}, {0.6, 0.4, 0.8}, {0.9, 0.5, 0.8}}

// Segments lists one Slicer segment per label value present in labels
// (values 1..255; 0 is background), named after otoseg's structures
// (1 cochlea, 2 vestibule, 3 semicircular canals) and "label N" otherwise.
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
		s, ok := labelSegments[l]
		if !ok {
			s = nrrd.Segment{ID: fmt.Sprintf("label_%d", l), Name: fmt.Sprintf("label %d", l), Color: palette[l%len(palette)], LabelValue: l}
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		// Slicer needs at least one segment; an empty cochlea segment
		// keeps the file loadable.
		segs = append(segs, labelSegments[1])
	}
	return segs, nil
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

// LabelSegment is the name and colour of label l: otoseg's structure, or
// "label N" in a palette colour.
func LabelSegment(l int) nrrd.Segment {
	if s, ok := labelSegments[l]; ok {
		return s
	}
	return nrrd.Segment{ID: fmt.Sprintf("label_%d", l), Name: fmt.Sprintf("label %d", l), Color: palette[l%len(palette)], LabelValue: l}
}
