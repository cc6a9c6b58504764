package mesh

import (
	"fmt"
	"math"

	"github.com/otoseg/otoseg/volume"
)

// LabelSurface extracts one closed surface around all the labelled
// (positive) voxels of a label map and gives each vertex the label of the
// voxel it bounds (labels over 255 read as 255). One surface rather than one
// per label keeps structures that touch, such as the cochlea and the
// vestibule, joined without inner walls or seams that smoothing would pull
// apart; the per-vertex labels colour it.
func LabelSurface(v *volume.Volume) (*Mesh, error) {
	m, err := MarchingCubes(v, Options{Select: func(x float32) bool { return x > 0 }, Closed: true})
	if err != nil {
		return nil, fmt.Errorf("mesh: label surface: %w", err)
	}
	m.Labels = make([]uint8, m.NumVertices())
	for i := range m.Labels {
		m.Labels[i] = boundedLabel(v, v.ContinuousIndex(m.Vertex(uint32(i))))
	}
	return m, nil
}

// boundedLabel is the label of the labelled voxel a marching-cubes vertex
// of a 0/1 field bounds. Such a vertex lies halfway along the voxel edge
// between a labelled and an unlabelled voxel: its index is a whole number
// on two axes and a half on the third, whose two neighbours are the edge's
// ends. The first labelled end inside the grid gives the label.
func boundedLabel(v *volume.Volume, idx [3]float64) uint8 {
	var lo, hi [3]int
	for a := 0; a < 3; a++ {
		r := math.Round(idx[a])
		if math.Abs(idx[a]-r) < 0.25 {
			lo[a], hi[a] = int(r), int(r)
		} else {
			lo[a] = int(math.Floor(idx[a]))
			hi[a] = lo[a] + 1
		}
	}
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			for i := lo[0]; i <= hi[0]; i++ {
				if i < 0 || j < 0 || k < 0 || i >= v.Dims[0] || j >= v.Dims[1] || k >= v.Dims[2] {
					continue
				}
				if x := v.Data[v.Index(i, j, k)]; x > 0 {
					return uint8(min(x, 255))
				}
			}
		}
	}
	return 0
}
