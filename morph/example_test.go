package morph_test

import (
	"fmt"

	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/volume"
)

// Clean a segmentation: the largest 26-connected piece of the labyrinth,
// its enclosed holes filled, then the distance of each voxel to its edge.
func ExampleLargestComponent() {
	g := volume.NewGeometry([3]int{8, 8, 8}, [3]float64{0.5, 0.5, 0.5})
	seg := volume.New(g, volume.Uint8)
	for k := 1; k < 6; k++ {
		for j := 1; j < 6; j++ {
			for i := 1; i < 6; i++ {
				seg.Set(i, j, k, 1)
			}
		}
	}
	seg.Set(3, 3, 3, 0) // a hole
	seg.Set(7, 7, 7, 1) // a speck
	m := morph.Nonzero(seg)
	big, _ := morph.LargestComponent(m, morph.Conn26)
	filled, _ := morph.FillHoles(big, morph.Conn6)
	dist, _ := morph.EDT(filled, g.Spacing)
	fmt.Println(m.Count(), big.Count(), filled.Count(), dist[g.Index(3, 3, 3)])
	// Output:
	// 125 124 125 1.5
}
