package metrics

import (
	"math"

	"github.com/otoseg/otoseg/morph"
)

// StrayThresholdMM is the distance (mm) from the reference beyond which a
// connected piece of the prediction counts as a stray piece (issue 13: "no
// predicted component farther than 3 mm from the reference labyrinth").
//
// Why 3 mm: where prediction and reference disagree on where a boundary lies,
// the disagreement is a voxel or two (0.3-0.6 mm in temporal-bone CT) and the
// predicted piece still touches the reference; a canal lumen is about 1 mm
// across, so even a wrongly split-off bit of canal wall lies within a canal
// diameter of it. 3 mm is three canal diameters and 5 to 10 voxels of
// background: a piece that far away is a separate false-positive blob (in the
// mastoid air cells, the internal auditory canal, the middle ear), not
// boundary disagreement, and it is what a reader has to erase by hand.
const StrayThresholdMM = 3.0

// strayPieces measures how far the connected pieces of pred lie from ref.
// Both masks must be non-empty. Pieces are the 26-connected components of
// pred (voxels sharing only an edge or a corner belong to one piece, so a
// thin oblique canal is not counted as many pieces). The distance of a piece is 0 when it
// overlaps ref or touches it (one of its voxels has a ref voxel among its 26
// neighbours: no background lies between them), otherwise the smallest
// distance in mm between the centre of one of its voxels and the centre of a
// ref voxel. It returns the largest distance over the pieces, and the number
// and voxel count of the pieces farther than StrayThresholdMM (plus the
// storage slack of NSD, so a float32-stored spacing does not push a piece
// at exactly 3 mm over).
//
// No second distance transform is needed: predSurf are the surface voxels of
// pred and dPR their exact distances (metrics' EDT) to the surface of ref.
// For a piece that neither overlaps nor touches ref, both ends of its
// nearest pair are surface voxels (from an interior voxel, one step towards
// the other end stays in the mask, in the same piece, and is strictly
// closer), so its distance is the smallest dPR over its surface voxels. The
// same walk shows that a touching piece touches ref at one of its surface
// voxels, so only those are checked.
//
// The pieces are labelled on [lo, hi], the bounding box of both masks (a
// per-ear row's box is about half the case's), as the surfaces are.
func strayPieces(ref, pred Mask, lo, hi [3]int, predSurf [][3]int, dPR []float64) (farthest float64, pieces, voxels int, err error) {
	bd := [3]int{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1}
	inBox := morph.NewMask(bd)
	overlap := make([]bool, len(inBox.Data))
	nx, ny := pred.Dims[0], pred.Dims[1]
	q := 0
	for k := lo[2]; k <= hi[2]; k++ {
		for j := lo[1]; j <= hi[1]; j++ {
			p := lo[0] + nx*(j+ny*k)
			for range bd[0] {
				inBox.Data[q] = pred.Data[p]
				overlap[q] = pred.Data[p] && ref.Data[p]
				p++
				q++
			}
		}
	}
	c, err := morph.Label(inBox, morph.Conn26)
	if err != nil {
		return 0, 0, 0, err
	}
	dist := make([]float64, c.N+1)
	for l := range dist {
		dist[l] = math.Inf(1)
	}
	for q, l := range c.Labels {
		if overlap[q] {
			dist[l] = 0
		}
	}
	for s, v := range predSurf {
		l := c.Labels[(v[0]-lo[0])+bd[0]*((v[1]-lo[1])+bd[1]*(v[2]-lo[2]))]
		if dist[l] == 0 {
			continue
		}
		if touches(ref, v) {
			dist[l] = 0
			continue
		}
		dist[l] = min(dist[l], dPR[s])
	}
	for l := 1; l <= c.N; l++ {
		farthest = max(farthest, dist[l])
		if dist[l] > StrayThresholdMM+toleranceSlack {
			pieces++
			voxels += c.Sizes[l]
		}
	}
	return farthest, pieces, voxels, nil
}

// touches reports whether one of the 26 neighbours of voxel v is in m.
func touches(m Mask, v [3]int) bool {
	nx, ny := m.Dims[0], m.Dims[1]
	for k := max(v[2]-1, 0); k <= min(v[2]+1, m.Dims[2]-1); k++ {
		for j := max(v[1]-1, 0); j <= min(v[1]+1, ny-1); j++ {
			for i := max(v[0]-1, 0); i <= min(v[0]+1, nx-1); i++ {
				if m.Data[i+nx*(j+ny*k)] {
					return true
				}
			}
		}
	}
	return false
}
