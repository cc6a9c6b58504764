package review

import (
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// earBoxes splits a label map the way ear.SplitEars does (a gap of
// ear.EarGapMM left to right), puts the larger ear first and gives each
// ear's centre in the viewer's canonical frame and its box in voxels.
func TestEarBoxes(t *testing.T) {
	centres := func(es []earBox) [][3]int {
		var c [][3]int
		for _, e := range es {
			c = append(c, e.Centre)
		}
		return c
	}
	g := volume.NewGeometry([3]int{200, 20, 10}, [3]float64{0.5, 0.5, 1})
	// LPS direction with the first voxel axis pointing to patient right, so
	// canonical x runs against voxel i.
	g.Direction = [3][3]float64{{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	labels := make([]uint8, g.Len())
	set := func(i0, i1 int) {
		for k := 4; k < 7; k++ {
			for j := 8; j < 12; j++ {
				for i := i0; i <= i1; i++ {
					labels[g.Index(i, j, k)] = 1
				}
			}
		}
	}
	f := NewFrame(g)
	if got := centres(earBoxes(labels, g, f)); len(got) != 0 {
		t.Fatalf("empty map: %v", got)
	}
	set(10, 20) // one ear, 11 columns
	if got := centres(earBoxes(labels, g, f)); len(got) != 1 || got[0] != [3]int{199 - 15, 9, 5} {
		t.Fatalf("one ear: %v", got)
	}
	set(150, 170) // a bigger ear 65 mm away
	ears := earBoxes(labels, g, f)
	got := centres(ears)
	if len(got) != 2 || got[0] != [3]int{199 - 160, 9, 5} || got[1] != [3]int{199 - 15, 9, 5} {
		t.Fatalf("two ears: %v", got)
	}
	if ears[0].Lo != [3]int{150, 8, 4} || ears[0].Hi != [3]int{170, 11, 6} || ears[0].Voxels != 21*12 {
		t.Fatalf("bigger ear's voxel box %+v", ears[0])
	}
	set(21, 149) // joined: one structure
	if got := centres(earBoxes(labels, g, f)); len(got) != 1 {
		t.Fatalf("joined: %v", got)
	}
}
