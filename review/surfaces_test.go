package review

import (
	"math"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// earSurface is a closed, outward, labelled surface in the scan's world
// space that encloses about the labelled volume, whether the ear's box
// fits SurfaceGrid as is or has to be downsampled, and whatever way the
// voxel axes point.
func TestEarSurface(t *testing.T) {
	mirrored := [3][3]float64{{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	for _, tc := range []struct {
		name      string
		dims      [3]int
		direction *[3][3]float64
		factor    int     // expected downsampling
		volumeTol float64 // relative: a block takes a label any of its voxels has, which fattens
	}{
		{"small box", [3]int{64, 64, 32}, nil, 1, 0.1},
		{"mirrored", [3]int{64, 64, 32}, &mirrored, 1, 0.1},
		{"downsampled", [3]int{256, 256, 100}, nil, 2, 0.25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, lab := synthEar(tc.dims, 0)
			if tc.direction != nil {
				lab.Direction = *tc.direction
			}
			labels, err := toLabels("test", lab)
			if err != nil {
				t.Fatal(err)
			}
			ears := earBoxes(labels, lab.Geometry, NewFrame(lab.Geometry))
			if len(ears) != 1 {
				t.Fatalf("%d ears", len(ears))
			}
			e := ears[0]
			ext := 0
			for a := 0; a < 3; a++ {
				ext = max(ext, e.Hi[a]-e.Lo[a]+1+2*surfaceMargin)
			}
			if f := (ext + SurfaceGrid - 1) / SurfaceGrid; f != tc.factor {
				t.Fatalf("box of %d voxels downsampled by %d, test expects %d", ext, f, tc.factor)
			}
			m, err := earSurface(labels, lab.Geometry, e)
			if err != nil {
				t.Fatal(err)
			}
			if top := m.Topology(); !top.Closed() || m.Volume() <= 0 {
				t.Fatalf("topology %+v, volume %g", top, m.Volume())
			}
			seen := map[uint8]int{}
			for _, l := range m.Labels {
				seen[l]++
			}
			if seen[0] > 0 || seen[1] == 0 || seen[2] == 0 || seen[3] == 0 {
				t.Fatalf("vertex labels %v, want only and all of 1, 2, 3", seen)
			}
			// World placement: the surface lies within the ear's box, grown
			// by the downsampling block, and encloses about the labelled
			// volume (marching cubes cuts corners; smoothing keeps volume).
			lo, hi := m.Bounds()
			a, b := lab.World(float64(e.Lo[0]), float64(e.Lo[1]), float64(e.Lo[2])), lab.World(float64(e.Hi[0]), float64(e.Hi[1]), float64(e.Hi[2]))
			for r := 0; r < 3; r++ {
				slack := float64(tc.factor) * lab.Spacing[r]
				if lo[r] < min(a[r], b[r])-slack || hi[r] > max(a[r], b[r])+slack {
					t.Errorf("axis %d: surface spans [%.2f, %.2f] mm, ear box [%.2f, %.2f]", r, lo[r], hi[r], min(a[r], b[r]), max(a[r], b[r]))
				}
			}
			want := float64(e.Voxels) * lab.Spacing[0] * lab.Spacing[1] * lab.Spacing[2]
			t.Logf("%d triangles; surface encloses %.1f mm³, labels fill %.1f mm³", m.NumTriangles(), m.Volume(), want)
			if got := m.Volume(); math.Abs(got-want) > tc.volumeTol*want {
				t.Errorf("surface encloses %.1f mm³, labels fill %.1f mm³", got, want)
			}
		})
	}
}

// A box outside the grid gives an empty surface, not an error.
func TestEarSurfaceEmptyBox(t *testing.T) {
	g := volume.NewGeometry([3]int{8, 8, 8}, [3]float64{1, 1, 1})
	m, err := earSurface(make([]uint8, g.Len()), g, earBox{Lo: [3]int{20, 0, 0}, Hi: [3]int{30, 4, 4}})
	if err != nil || m.NumTriangles() != 0 || m.Labels == nil {
		t.Fatalf("%d triangles, labels %v, %v", m.NumTriangles(), m.Labels, err)
	}
}
