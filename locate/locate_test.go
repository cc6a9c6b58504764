package locate

import (
	"math"
	"slices"
	"testing"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/volume"
)

func TestComponentsFindsEarsAndSides(t *testing.T) {
	g := volume.NewGeometry([3]int{80, 20, 20}, [3]float64{1.5, 1.5, 1.5})
	g.Origin = [3]float64{-60, 0, 0}
	blob := func(fg []float32, ci int, p float32, r int) {
		for k := 10 - r; k <= 10+r; k++ {
			for j := 10 - r; j <= 10+r; j++ {
				for i := ci - r; i <= ci+r; i++ {
					fg[g.Index(i, j, k)] = p
				}
			}
		}
	}
	l := plan.DefaultLocator()
	l.MinScore = 80 // a radius-2 blob holds 125 voxels
	tests := []struct {
		name  string
		blobs [][3]float64 // centre index, probability, radius
		want  []ear.Side   // the most confident of each side
		all   []ear.Side   // every candidate, most confident first
	}{
		{"none", nil, nil, nil},
		{"both", [][3]float64{{8, 0.9, 2}, {70, 0.8, 2}}, []ear.Side{ear.Right, ear.Left}, []ear.Side{ear.Right, ear.Left}},
		{"left only", [][3]float64{{70, 0.9, 2}}, []ear.Side{ear.Left}, []ear.Side{ear.Left}},
		{"speck below min volume", [][3]float64{{70, 0.9, 1}}, nil, nil},
		{"two on one side keep the best", [][3]float64{{60, 0.7, 2}, {70, 0.95, 2}}, []ear.Side{ear.Left}, []ear.Side{ear.Left, ear.Left}},
		// A strong false detection on the right (index 2) anchors; the
		// real right ear (16) joins its side as an alternative, the left
		// ear (70) is the other side.
		{"alternatives on a side", [][3]float64{{2, 0.95, 2}, {16, 0.7, 2}, {70, 0.8, 2}}, []ear.Side{ear.Right, ear.Left}, []ear.Side{ear.Right, ear.Left, ear.Right}},
		{"at most MaxPerSide a side", [][3]float64{{70, 0.95, 2}, {62, 0.9, 2}, {54, 0.85, 2}, {46, 0.8, 2}}, []ear.Side{ear.Left}, []ear.Side{ear.Left, ear.Left, ear.Left}},
		{"below threshold", [][3]float64{{70, 0.3, 2}}, nil, nil},
		{"below min score", [][3]float64{{70, 0.55, 2}}, nil, nil},
	}
	for _, tt := range tests {
		fg := make([]float32, g.Len())
		for _, b := range tt.blobs {
			blob(fg, int(b[0]), float32(b[1]), int(b[2]))
		}
		all, err := Components(g, fg, l)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(tt.all) {
			t.Errorf("%s: %d candidates, want %d", tt.name, len(all), len(tt.all))
		} else {
			for i, c := range all {
				if c.Side != tt.all[i] {
					t.Errorf("%s: candidate %d side %v, want %v", tt.name, i, c.Side, tt.all[i])
				}
			}
		}
		got := bestPerSide(all)
		if len(got) != len(tt.want) {
			t.Errorf("%s: found %d ears, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		for i, c := range got {
			if c.Side != tt.want[i] {
				t.Errorf("%s: ear %d side %v, want %v", tt.name, i, c.Side, tt.want[i])
			}
		}
		if tt.name == "left only" {
			want := g.World(70, 10, 10)
			for a := 0; a < 3; a++ {
				if math.Abs(got[0].Centre[a]-want[a]) > 1e-9 {
					t.Errorf("centre %v, want %v", got[0].Centre, want)
				}
			}
		}
	}
}

func TestPrepareKeepsWorldPositions(t *testing.T) {
	// A 0.3 mm RAS-stored scan with a bright 3 mm cube at a known place.
	g := volume.NewGeometry([3]int{100, 90, 60}, [3]float64{0.3, 0.3, 0.5})
	g.Direction = [3][3]float64{{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}}
	g.Origin = [3]float64{15, 14, -10}
	v := volume.New(g, volume.Int16)
	for i := range v.Data {
		v.Data[i] = -1000
	}
	centre := [3]float64{0, 0, 5}
	for idx := range v.Data {
		i, j, k := idx%100, idx/100%90, idx/9000
		w := g.World(float64(i), float64(j), float64(k))
		if math.Abs(w[0]-centre[0]) < 1.5 && math.Abs(w[1]-centre[1]) < 1.5 && math.Abs(w[2]-centre[2]) < 1.5 {
			v.Data[idx] = 2000
		}
	}
	l := plan.DefaultLocator()
	low, err := Prepare(v, l)
	if err != nil {
		t.Fatal(err)
	}
	if low.AxCodes() != "LPS" || low.Spacing != [3]float64{1.5, 1.5, 1.5} {
		t.Fatalf("prepared grid %s %v", low.AxCodes(), low.Spacing)
	}
	// The brightest voxel sits within one coarse voxel of the cube centre.
	best := 0
	for i, x := range low.Data {
		if x > low.Data[best] {
			best = i
		}
	}
	nx, ny := low.Dims[0], low.Dims[1]
	w := low.World(float64(best%nx), float64(best/nx%ny), float64(best/(nx*ny)))
	for a := 0; a < 3; a++ {
		if math.Abs(w[a]-centre[a]) > 1.5 {
			t.Fatalf("peak at %v, cube at %v", w, centre)
		}
	}
	want := float32((2000 - l.Intensity.Mean) / l.Intensity.Std)
	if low.Data[best] < want*0.5 {
		t.Errorf("peak %v, want near %v", low.Data[best], want)
	}
}

// bestPerSide keeps the first (most confident) candidate of each side.
func bestPerSide(cands []Candidate) []Candidate {
	var out []Candidate
	seen := map[ear.Side]bool{}
	for _, c := range cands {
		if !seen[c.Side] {
			seen[c.Side] = true
			out = append(out, c)
		}
	}
	return out
}

// boxDownsampleRef is boxDownsample as first written, one output voxel at a
// time: the reference the faster one must match bit for bit, since the
// localiser was trained on its output.
func boxDownsampleRef(v *volume.Volume, f [3]int) []float32 {
	var d [3]int
	for a := 0; a < 3; a++ {
		d[a] = max(1, v.Dims[a]/f[a])
	}
	out := make([]float32, d[0]*d[1]*d[2])
	nx, ny := v.Dims[0], v.Dims[1]
	inv := 1 / float32(f[0]*f[1]*f[2])
	for k := 0; k < d[2]; k++ {
		for j := 0; j < d[1]; j++ {
			for i := 0; i < d[0]; i++ {
				var s float32
				for dz := 0; dz < f[2]; dz++ {
					for dy := 0; dy < f[1]; dy++ {
						row := v.Data[nx*((j*f[1]+dy)+ny*(k*f[2]+dz)):]
						for dx := 0; dx < f[0]; dx++ {
							s += row[i*f[0]+dx]
						}
					}
				}
				out[i+d[0]*(j+d[1]*k)] = s * inv
			}
		}
	}
	return out
}

// TestBoxDownsampleMatchesReference: the box filter, read through a
// layout in any orientation, matches the reference on a reoriented copy
// bit for bit, geometry included.
func TestBoxDownsampleMatchesReference(t *testing.T) {
	g := volume.NewGeometry([3]int{47, 31, 23}, [3]float64{0.45, 0.5, 0.6})
	v := volume.New(g, volume.Float32)
	seed := uint32(7)
	for i := range v.Data {
		seed = seed*1664525 + 1013904223
		v.Data[i] = float32(int32(seed)>>16) / 7 // fractions, negatives, rounding in every sum
	}
	v.Data[5] = float32(math.Copysign(0, -1))
	for _, code := range []string{"LPS", "RAS", "LAI", "PSL", "SRA"} {
		lay, err := v.ReorientedLayout(code)
		if err != nil {
			t.Fatal(err)
		}
		r, err := volume.Reorient(v, code)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range [][3]int{{3, 3, 2}, {1, 1, 1}, {2, 1, 3}, {5, 4, 1}} {
			got := boxDownsample(v.Data, lay, f)
			want := boxDownsampleRef(r, f)
			if len(got.Data) != len(want) {
				t.Fatalf("%s f %v: %d voxels, want %d", code, f, len(got.Data), len(want))
			}
			for i := range want {
				if math.Float32bits(got.Data[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s f %v voxel %d: %v, want %v bit for bit", code, f, i, got.Data[i], want[i])
				}
			}
			ref := boxDownsample(r.Data, volume.Layout{Geometry: r.Geometry, Stride: [3]int{1, r.Dims[0], r.Dims[0] * r.Dims[1]}}, f)
			if got.Geometry != ref.Geometry {
				t.Errorf("%s f %v: geometry %+v, on the reoriented copy %+v", code, f, got.Geometry, ref.Geometry)
			}
		}
	}
}

// TestCoarseIgnoresStorageOrder: the localiser's input is the same, bit
// for bit, whatever order the scan's voxels were stored in.
func TestCoarseIgnoresStorageOrder(t *testing.T) {
	g := volume.NewGeometry([3]int{60, 50, 40}, [3]float64{0.45, 0.45, 0.6})
	v := volume.New(g, volume.Float32)
	for i := range v.Data {
		v.Data[i] = float32((i*7919)%2000) - 1000
	}
	want, err := Coarse(v, 1.5, AirHU)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"RAS", "LAI", "PSL"} {
		r, err := volume.Reorient(v, code)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Coarse(r, 1.5, AirHU)
		if err != nil {
			t.Fatal(err)
		}
		if got.Dims != want.Dims || !slices.EqualFunc(got.Data, want.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Errorf("stored as %s: the coarse volume differs from the LPS-stored scan's", code)
		}
	}
}
