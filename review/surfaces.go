package review

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/otoseg/otoseg/mesh"
	"github.com/otoseg/otoseg/volume"
)

// SurfaceGrid is the largest extent, in cells, of the grid the surface is
// built on: an ear's box is downsampled to fit it, which keeps the mesh
// small enough to send (a few hundred kB) whatever the scan.
const SurfaceGrid = 96

// Surface building limits and smoothing. Taubin's lambda/mu filter turns
// the marching-cubes staircase into an anatomical surface without
// shrinking thin canals.
const (
	maxSurfaceTriangles = 1 << 20
	surfaceSmoothing    = 12
	surfaceLambda       = 0.5
	surfaceMu           = -0.53
	// surfaceMargin voxels around an ear's box keep its surface whole.
	surfaceMargin = 2
)

// handleSurface answers GET /api/cases/{id}/surface?layer=A&ear=0: the
// labelled 3-D surface of one ear of a blinded segmentation, in mesh's
// binary form with labels ("OTOMESH2", see package mesh), built once per
// cached label map and ear.
func (s *Server) handleSurface(w http.ResponseWriter, r *http.Request, a authed) error {
	id, err := s.resolveID(a, r.PathValue("id"))
	if err != nil {
		return err
	}
	layer := r.URL.Query().Get("layer")
	if layer == "" {
		layer = "A"
	}
	c, asg, err := s.caseOf(r.Context(), a, id)
	if err != nil {
		return err
	}
	if _, err := s.sourceOf(asg, layer); err != nil {
		return err
	}
	_, labels, err := s.caseVolumes(r.Context(), c, asg)
	if err != nil {
		return err
	}
	l := labels[layer]
	ears := earsOf(l)
	ear := 0
	if e := r.URL.Query().Get("ear"); e != "" {
		if ear, err = strconv.Atoi(e); err != nil || ear < 0 || ear >= max(1, len(ears)) {
			return errStatus(http.StatusBadRequest, "ear=%q: this segmentation has %d ears", e, len(ears))
		}
	}
	v, err := l.Derived("surface:"+strconv.Itoa(ear), func() (any, error) {
		m := &mesh.Mesh{Labels: []uint8{}} // no ear: an empty surface
		if len(ears) > 0 {
			var err error
			if m, err = earSurface(l.Labels, l.Geometry, ears[ear]); err != nil {
				return nil, fmt.Errorf("case %s, segmentation %s, ear %d: %w", id, layer, ear, err)
			}
		}
		var buf bytes.Buffer
		if err := mesh.EncodeBinary(&buf, m); err != nil {
			return nil, fmt.Errorf("case %s, segmentation %s, ear %d: %w", id, layer, ear, err)
		}
		return buf.Bytes(), nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(v.([]byte))
	return nil
}

// earSurface is the smoothed, labelled surface (mesh.LabelSurface, then
// Taubin smoothing) of the labels in an ear's box, widened by a margin.
// The box is downsampled by the smallest whole factor that fits it in
// SurfaceGrid cells a side and keeps the mesh under a million triangles.
func earSurface(labels []uint8, g volume.Geometry, e earBox) (*mesh.Mesh, error) {
	lo, hi := e.Lo, e.Hi
	ext := 0
	for a := 0; a < 3; a++ {
		lo[a], hi[a] = max(lo[a]-surfaceMargin, 0), min(hi[a]+surfaceMargin, g.Dims[a]-1)
		if hi[a] < lo[a] {
			return &mesh.Mesh{Labels: []uint8{}}, nil
		}
		ext = max(ext, hi[a]-lo[a]+1)
	}
	for f := max(1, (ext+SurfaceGrid-1)/SurfaceGrid); ; f++ {
		m, err := mesh.LabelSurface(downsampleLabels(labels, g, lo, hi, f))
		if err != nil {
			return nil, err
		}
		if m.NumTriangles() <= maxSurfaceTriangles {
			m.Taubin(surfaceSmoothing, surfaceLambda, surfaceMu)
			return m, nil
		}
	}
}

// downsampleLabels is the voxel box [lo, hi] of a label map on a grid f
// times coarser, placed in the same world space: each cell takes the most
// frequent non-zero label of its f³ block, so that thin canals survive.
func downsampleLabels(labels []uint8, g volume.Geometry, lo, hi [3]int, f int) *volume.Volume {
	cg := g
	var first [3]float64
	for a := 0; a < 3; a++ {
		cg.Dims[a] = (hi[a]-lo[a])/f + 1
		cg.Spacing[a] = g.Spacing[a] * float64(f)
		first[a] = float64(lo[a]) + float64(f-1)/2 // centre of the first block
	}
	cg.Origin = g.World(first[0], first[1], first[2])
	v := volume.New(cg, volume.Uint8)
	var counts [256]int
	for c := 0; c < cg.Dims[2]; c++ {
		for b := 0; b < cg.Dims[1]; b++ {
			for a := 0; a < cg.Dims[0]; a++ {
				clear(counts[:])
				best, bestN := uint8(0), 0
				for k := lo[2] + c*f; k < min(lo[2]+(c+1)*f, hi[2]+1); k++ {
					for j := lo[1] + b*f; j < min(lo[1]+(b+1)*f, hi[1]+1); j++ {
						row := g.Index(0, j, k)
						for i := lo[0] + a*f; i < min(lo[0]+(a+1)*f, hi[0]+1); i++ {
							if l := labels[row+i]; l != 0 {
								counts[l]++
								if counts[l] > bestN {
									best, bestN = l, counts[l]
								}
							}
						}
					}
				}
				v.Data[cg.Index(a, b, c)] = float32(best)
			}
		}
	}
	return v
}
