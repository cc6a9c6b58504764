package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/otoseg/otoseg/morph"
	"github.com/otoseg/otoseg/volume"
)

// union returns a new mask holding the voxels of all ms (same grid).
func union(ms ...Mask) Mask {
	out := NewMask(ms[0].Dims, ms[0].Spacing)
	for _, m := range ms {
		for p, on := range m.Data {
			out.Data[p] = out.Data[p] || on
		}
	}
	return out
}

// TestStrayPieces checks stray_mm (distance between voxel centres),
// stray_pieces and stray_voxels on hand-built masks. The reference is the
// box i 2..5, j 4..7, k 4..7; distances are between the nearest voxel
// centres, so the background gap between a piece and the reference is one
// voxel narrower than the figure.
func TestStrayPieces(t *testing.T) {
	iso := [3]float64{0.5, 0.5, 0.5}
	aniso := [3]float64{0.4, 0.4, 2.0}
	f32 := [3]float64{float64(float32(0.3)), float64(float32(0.3)), float64(float32(0.3))} // 0.30000001 as NIfTI stores it
	dims := [3]int{40, 20, 12}
	ref := func(sp [3]float64) Mask { return box(dims, sp, [3]int{2, 4, 4}, [3]int{6, 8, 8}) }
	nan := math.NaN()
	tests := []struct {
		name    string
		sp      [3]float64
		ref     Mask
		pred    Mask
		strayMM float64 // NaN: undefined
		pieces  int
		voxels  int
	}{
		{"identical", iso, ref(iso), ref(iso), 0, 0, 0},
		// i 21..23 vs the reference's last column i = 5: 16 voxels of 0.5 mm.
		{"blob 8 mm away", iso, ref(iso), union(ref(iso), box(dims, iso, [3]int{21, 4, 4}, [3]int{24, 8, 8})), 8, 1, 3 * 4 * 4},
		// A piece separate from the predicted main body that shares a face
		// with the reference (i = 8 next to i = 7): no background between.
		{"touching extra piece", iso, box(dims, iso, [3]int{2, 4, 4}, [3]int{8, 8, 8}),
			union(box(dims, iso, [3]int{2, 4, 4}, [3]int{4, 8, 8}), box(dims, iso, [3]int{8, 4, 4}, [3]int{10, 8, 8})), 0, 0, 0},
		// One voxel touching the reference corner (5,7,7) only at a corner.
		{"corner-touching voxel", iso, ref(iso),
			union(box(dims, iso, [3]int{2, 4, 4}, [3]int{4, 8, 8}), box(dims, iso, [3]int{6, 8, 8}, [3]int{7, 9, 9})), 0, 0, 0},
		{"overlapping extra piece", iso, ref(iso),
			union(box(dims, iso, [3]int{2, 4, 4}, [3]int{3, 8, 8}), box(dims, iso, [3]int{5, 4, 4}, [3]int{7, 8, 8})), 0, 0, 0},
		{"one voxel of background between", iso, ref(iso), union(ref(iso), box(dims, iso, [3]int{7, 4, 4}, [3]int{8, 8, 8})), 1, 0, 0},
		// Offset (6, 8, 0) voxels from the corner column (5, 7, k): 0.5·10 mm.
		{"oblique 5 mm", iso, ref(iso), union(ref(iso), box(dims, iso, [3]int{11, 15, 5}, [3]int{12, 16, 6})), 5, 1, 1},
		{"two stray pieces", iso, ref(iso),
			union(ref(iso), box(dims, iso, [3]int{13, 4, 4}, [3]int{14, 5, 5}), box(dims, iso, [3]int{21, 4, 4}, [3]int{23, 6, 6})), 8, 2, 1 + 8},
		// The same 4-voxel index offset is 1.6 mm along x but 8 mm along z
		// with 0.4 x 0.4 x 2 mm voxels.
		{"anisotropic, 4 voxels along x", aniso, ref(aniso), union(ref(aniso), box(dims, aniso, [3]int{9, 4, 4}, [3]int{10, 8, 8})), 1.6, 0, 0},
		{"anisotropic, 4 voxels along z", aniso, ref(aniso), union(ref(aniso), box(dims, aniso, [3]int{2, 4, 11}, [3]int{6, 8, 12})), 8, 1, 16},
		// 10 voxels of float32-stored 0.3 mm read 3.0000001 mm: at the
		// threshold, not over it; 11 voxels (3.3 mm) are.
		{"exactly 3 mm", f32, ref(f32), union(ref(f32), box(dims, f32, [3]int{15, 4, 4}, [3]int{16, 8, 8})), 10 * f32[0], 0, 0},
		{"3.3 mm", f32, ref(f32), union(ref(f32), box(dims, f32, [3]int{16, 4, 4}, [3]int{17, 8, 8})), 11 * f32[0], 1, 16},
		{"empty prediction", iso, ref(iso), NewMask(dims, iso), nan, 0, 0},
		{"empty reference", iso, NewMask(dims, iso), ref(iso), nan, 0, 0},
		{"both empty", iso, NewMask(dims, iso), NewMask(dims, iso), 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare(tc.ref, tc.pred, 1)
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b float64) bool { return (math.IsNaN(a) && math.IsNaN(b)) || math.Abs(a-b) < 1e-9 }
			if !same(r.StrayMM, tc.strayMM) || r.StrayPieces != tc.pieces || r.StrayVoxels != tc.voxels {
				t.Fatalf("stray_mm %g, pieces %d, voxels %d; want %g, %d, %d", r.StrayMM, r.StrayPieces, r.StrayVoxels, tc.strayMM, tc.pieces, tc.voxels)
			}
			vox := tc.sp[0] * tc.sp[1] * tc.sp[2]
			if want := float64(tc.voxels) * vox; math.IsNaN(tc.strayMM) != math.IsNaN(r.StrayVolume) || (!math.IsNaN(tc.strayMM) && !same(r.StrayVolume, want)) {
				t.Errorf("stray volume %g mm³, want %g", r.StrayVolume, want)
			}
		})
	}
}

// TestStrayPiecesBruteForce compares Compare's stray figures, which reuse
// the surface distances, with the definition computed the slow way: every
// pair of voxel centres of a piece and the reference, and "touching" as an
// index offset of at most 1 on every axis. Random blobs on anisotropic grids.
func TestStrayPiecesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 3))
	dims := [3]int{14, 11, 9}
	var ok, withStray, nearOnly int
	for trial := range 60 {
		sp := [3]float64{0.2 + rng.Float64(), 0.2 + rng.Float64(), 0.2 + 2*rng.Float64()}
		blobs := func(n int) Mask {
			m := NewMask(dims, sp)
			for range n {
				c := [3]int{rng.IntN(dims[0]), rng.IntN(dims[1]), rng.IntN(dims[2])}
				r := [3]int{rng.IntN(3), rng.IntN(3), rng.IntN(2)}
				for k := max(c[2]-r[2], 0); k <= min(c[2]+r[2], dims[2]-1); k++ {
					for j := max(c[1]-r[1], 0); j <= min(c[1]+r[1], dims[1]-1); j++ {
						for i := max(c[0]-r[0], 0); i <= min(c[0]+r[0], dims[0]-1); i++ {
							if rng.IntN(5) > 0 {
								m.Set(i, j, k)
							}
						}
					}
				}
			}
			return m
		}
		ref, pred := blobs(1+rng.IntN(3)), blobs(1+rng.IntN(6))
		r, err := Compare(ref, pred, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != StatusOK {
			continue
		}
		c, err := morph.Label(&morph.Mask{Dims: dims, Data: pred.Data}, morph.Conn26)
		if err != nil {
			t.Fatal(err)
		}
		coord := func(p int) [3]int { return [3]int{p % dims[0], p / dims[0] % dims[1], p / (dims[0] * dims[1])} }
		dist := make([]float64, c.N+1)
		for l := range dist {
			dist[l] = math.Inf(1)
		}
		for p, l := range c.Labels {
			if l == 0 {
				continue
			}
			a := coord(p)
			for q, on := range ref.Data {
				if !on {
					continue
				}
				b := coord(q)
				d := [3]int{a[0] - b[0], a[1] - b[1], a[2] - b[2]}
				if max(abs(d[0]), abs(d[1]), abs(d[2])) <= 1 {
					dist[l] = 0
					continue
				}
				mm := math.Sqrt(sq(float64(d[0])*sp[0]) + sq(float64(d[1])*sp[1]) + sq(float64(d[2])*sp[2]))
				dist[l] = min(dist[l], mm)
			}
		}
		var far float64
		pieces, voxels := 0, 0
		for l := 1; l <= c.N; l++ {
			far = max(far, dist[l])
			if dist[l] > StrayThresholdMM+toleranceSlack {
				pieces++
				voxels += c.Sizes[l]
			}
		}
		if math.Abs(r.StrayMM-far) > 1e-9 || r.StrayPieces != pieces || r.StrayVoxels != voxels {
			t.Errorf("trial %d (spacing %v, %d pieces): stray %g mm, %d pieces, %d voxels; brute force %g, %d, %d",
				trial, sp, c.N, r.StrayMM, r.StrayPieces, r.StrayVoxels, far, pieces, voxels)
		}
		ok++
		switch {
		case pieces > 0:
			withStray++
		case far > 0:
			nearOnly++
		}
	}
	t.Logf("%d comparisons, %d with stray pieces, %d with only near pieces", ok, withStray, nearOnly)
	// The random cases must cover stray pieces and near, non-touching ones.
	if ok < 40 || withStray < 10 || nearOnly < 5 {
		t.Errorf("weak coverage: %d comparisons, %d with stray pieces, %d with only near pieces", ok, withStray, nearOnly)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestEvaluateStrayPerEar: a two-ear label map whose left prediction has an
// extra vestibule-labelled blob 6 mm from the left labyrinth. The blob is a
// stray piece of the left ear and of the whole volume, not of the right ear.
func TestEvaluateStrayPerEar(t *testing.T) {
	g := volume.NewGeometry([3]int{200, 30, 30}, [3]float64{0.5, 0.5, 0.5})
	g.Origin[0] = -50 // x from -50 to +49.5 mm; i above 100 is the left ear
	ref, pred := volume.New(g, volume.Uint8), volume.New(g, volume.Uint8)
	for _, ci := range []int{20, 160} {
		for k := 10; k < 18; k++ {
			for j := 10; j < 18; j++ {
				for i := ci; i < ci+9; i++ {
					ref.Set(i, j, k, float32(1+(i-ci)/3))
					pred.Set(i, j, k, float32(1+(i-ci)/3))
				}
			}
		}
	}
	// Left labyrinth spans i 160..168; the blob starts 12 voxels (6 mm) on.
	for k := 12; k < 14; k++ {
		for j := 12; j < 14; j++ {
			for i := 180; i < 182; i++ {
				pred.Set(i, j, k, 2)
			}
		}
	}
	res, err := Evaluate(ref, pred, Options{ToleranceMM: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{EarBoth: 6, EarLeft: 6, EarRight: 0}
	seen := 0
	for _, r := range res.Rows {
		if r.Structure != "labyrinth" {
			continue
		}
		seen++
		w, pieces := want[r.Ear], 0
		if w > 0 {
			pieces = 1
		}
		if math.Abs(r.StrayMM-w) > 1e-9 || r.StrayPieces != pieces || r.StrayVoxels != 8*pieces {
			t.Errorf("%s labyrinth: stray %g mm, %d pieces, %d voxels; want %g, %d, %d", r.Ear, r.StrayMM, r.StrayPieces, r.StrayVoxels, w, pieces, 8*pieces)
		}
	}
	if seen != 3 {
		t.Fatalf("%d labyrinth rows, want 3", seen)
	}
}
