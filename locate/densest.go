package locate

import (
	"math"

	"github.com/otoseg/otoseg/volume"
)

// DensestBone finds the ~4 mm cell holding the most voxels in the otic
// capsule's HU range (1700..2800), where the labyrinth sits: a centre to
// show when neither labels nor the localiser say where the ear is.
func DensestBone(img *volume.Volume) [3]int {
	var cell [3]int
	var nc [3]int
	for a := 0; a < 3; a++ {
		cell[a] = max(1, int(math.Round(4/img.Spacing[a])))
		nc[a] = (img.Dims[a] + cell[a] - 1) / cell[a]
	}
	counts := make([]int, nc[0]*nc[1]*nc[2])
	for k := 0; k < img.Dims[2]; k++ {
		for j := 0; j < img.Dims[1]; j++ {
			for i := 0; i < img.Dims[0]; i++ {
				v := img.Data[img.Index(i, j, k)]
				if v >= 1700 && v <= 2800 {
					counts[i/cell[0]+nc[0]*(j/cell[1]+nc[1]*(k/cell[2]))]++
				}
			}
		}
	}
	best, bi := -1, 0
	for i, n := range counts {
		if n > best {
			best, bi = n, i
		}
	}
	ci, cj, ck := bi%nc[0], (bi/nc[0])%nc[1], bi/(nc[0]*nc[1])
	return [3]int{
		min(img.Dims[0]-1, ci*cell[0]+cell[0]/2),
		min(img.Dims[1]-1, cj*cell[1]+cell[1]/2),
		min(img.Dims[2]-1, ck*cell[2]+cell[2]/2),
	}
}
