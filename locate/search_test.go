package locate

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/otoseg/otoseg/ear"
	"github.com/otoseg/otoseg/nn"
	"github.com/otoseg/otoseg/plan"
	"github.com/otoseg/otoseg/volume"
)

// capsule is a cube of bone of the given density (HU) and side (mm).
type capsule struct {
	centre     [3]float64
	hu, sideMM float64
}

// headLike is a field of view of soft tissue in air with the capsules.
func headLike(g volume.Geometry, capsules ...capsule) *volume.Volume {
	v := volume.New(g, volume.Int16)
	for idx := range v.Data {
		i, j, k := idx%g.Dims[0], idx/g.Dims[0]%g.Dims[1], idx/(g.Dims[0]*g.Dims[1])
		w := g.World(float64(i), float64(j), float64(k))
		v.Data[idx] = AirHU
		if math.Hypot(w[0], w[1]) < 70 {
			v.Data[idx] = 40
		}
		for _, c := range capsules {
			if d := c.sideMM / 2; math.Abs(w[0]-c.centre[0]) < d && math.Abs(w[1]-c.centre[1]) < d && math.Abs(w[2]-c.centre[2]) < d {
				v.Data[idx] = float32(c.hu)
			}
		}
	}
	return v
}

func TestDenseBox(t *testing.T) {
	g := volume.NewGeometry([3]int{40, 30, 20}, [3]float64{1, 1, 1})
	v := volume.New(g, volume.Int16)
	v.Data[g.Index(5, 7, 3)] = 2000
	v.Data[g.Index(30, 8, 12)] = OticLowHU
	v.Data[g.Index(20, 25, 1)] = 4000 // metal: not bone
	v.Data[g.Index(1, 1, 19)] = 1500  // ordinary bone
	lo, hi, ok := denseBox(v)
	if !ok || lo != [3]int{5, 7, 3} || hi != [3]int{31, 9, 13} {
		t.Errorf("denseBox = %v..%v %v, want [5 7 3]..[31 9 13] true", lo, hi, ok)
	}
	clear(v.Data)
	if _, _, ok := denseBox(v); ok {
		t.Error("denseBox found otic bone in a scan without any")
	}
}

// TestSearchBoxHoldsMarginAndPatch: every coarse voxel within the margin of
// a dense voxel is inside the box, the box is at least a patch where the
// scan is, and it stays inside the coarse grid, for a scan stored RAS (so
// Coarse reorients it) and touching the dense bone to the scan's edge.
func TestSearchBoxHoldsMarginAndPatch(t *testing.T) {
	g := volume.NewGeometry([3]int{200, 160, 90}, [3]float64{0.8, 0.8, 1})
	g.Direction = [3][3]float64{{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}}
	g.Origin = [3]float64{80, 64, -45}
	v := headLike(g, capsule{[3]float64{-40, 5, 0}, 2000, 6}, capsule{[3]float64{45, 0, -3}, 2000, 6}, capsule{[3]float64{0, -60, -42}, 2000, 6})
	low, err := Coarse(v, 1.5, AirHU)
	if err != nil {
		t.Fatal(err)
	}
	patch := [3]int{64, 64, 48}
	s, ok := searchBox(v, low.Geometry, patch, SearchMarginMM)
	lo, hi := s.lo, s.hi
	if !ok {
		t.Fatal("no search box")
	}
	for a := 0; a < 3; a++ {
		if lo[a] < 0 || hi[a] > low.Dims[a] {
			t.Fatalf("box %v..%v outside the coarse grid %v", lo, hi, low.Dims)
		}
		if hi[a]-lo[a] < min(patch[a], low.Dims[a]) {
			t.Errorf("box %v..%v smaller than a patch %v on axis %d", lo, hi, patch, a)
		}
	}
	// The dense voxels' world bounding box: a voxel within the margin of
	// one is within the margin of the box.
	blo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	bhi := [3]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for idx, x := range v.Data {
		if x >= OticLowHU {
			q := v.World(float64(idx%g.Dims[0]), float64(idx/g.Dims[0]%g.Dims[1]), float64(idx/(g.Dims[0]*g.Dims[1])))
			for a := 0; a < 3; a++ {
				blo[a], bhi[a] = min(blo[a], q[a]), max(bhi[a], q[a])
			}
		}
	}
	nx, ny := low.Dims[0], low.Dims[1]
	for c := 0; c < low.Len(); c++ {
		p := [3]int{c % nx, c / nx % ny, c / (nx * ny)}
		w := low.World(float64(p[0]), float64(p[1]), float64(p[2]))
		near := true
		for a := 0; a < 3; a++ {
			near = near && w[a] > blo[a]-SearchMarginMM && w[a] < bhi[a]+SearchMarginMM
		}
		inside := true
		for a := 0; a < 3; a++ {
			inside = inside && p[a] >= lo[a] && p[a] < hi[a]
		}
		if near && !inside {
			t.Fatalf("coarse voxel %v (%v mm) is within the margin of the dense bone (%v..%v mm) but outside the box %v..%v", p, w, blo, bhi, lo, hi)
		}
	}
}

// thresholdNet marks as foreground every voxel brighter than otic bone in
// the localiser's window, and counts the patches it predicts.
type thresholdNet struct {
	cut     float32
	patches int
	out     *nn.Tensor
}

func (n *thresholdNet) Logits(x *nn.Tensor) (*nn.Tensor, error) {
	n.patches++
	s := x.Shape
	n.out = nn.Ensure(n.out, [5]int{1, 2, s[2], s[3], s[4]})
	m := len(x.Data)
	for i, v := range x.Data {
		n.out.Data[i], n.out.Data[m+i] = 10, -10
		if v >= n.cut {
			n.out.Data[i], n.out.Data[m+i] = -10, 10
		}
	}
	return n.out, nil
}

// TestFindLooksAtOticBoneFirst: two ears in the otic-dense bone are found
// in the crop alone; one ear, none, or a second one outside the dense bone
// is the whole field of view's answer.
func TestFindLooksAtOticBoneFirst(t *testing.T) {
	g := volume.NewGeometry([3]int{150, 150, 80}, [3]float64{1.5, 1.5, 1.5})
	g.Origin = [3]float64{-112, -112, -60}
	l := plan.DefaultLocator()
	left := capsule{[3]float64{45, 0, 0}, 2000, 9}
	right := capsule{[3]float64{-45, 0, 0}, 2000, 9}
	faint := func(c capsule) capsule { c.hu = 1500; return c }
	// A faint ear 50 mm from the left one: inside the left ear's search
	// box, outside its dense bone.
	near := faint(capsule{[3]float64{-5, 0, 0}, 0, 9})
	both := []ear.Side{ear.Left, ear.Right}
	tests := []struct {
		name     string
		capsules []capsule
		sides    []ear.Side
		patches  int // the whole field of view is 18
	}{
		{"both ears", []capsule{left, right}, both, 2},
		// The crop (one patch) found one side: the whole field decides.
		{"one ear", []capsule{left}, []ear.Side{ear.Left}, 1 + 18},
		{"no dense bone", nil, nil, 18},
		// Capsules below the otic range leave no box: the whole field.
		{"faint capsules", []capsule{faint(left), faint(right)}, both, 18},
		// The crop holds both, but the right one lies outside the dense
		// bone, so the whole field decides.
		{"second ear outside the dense bone", []capsule{left, near}, both, 1 + 18},
	}
	for _, tt := range tests {
		// The stand-in localiser marks everything as dense as the
		// faintest capsule.
		cut := []float32{1400}
		l.Intensity.Normalize(cut)
		net := &thresholdNet{cut: cut[0]}
		cands, err := Find(context.Background(), net, headLike(g, tt.capsules...), l)
		if err != nil {
			t.Fatal(err)
		}
		var sides []ear.Side
		for _, c := range cands {
			sides = append(sides, c.Side)
		}
		slices.Sort(sides)
		if !slices.Equal(sides, tt.sides) {
			t.Errorf("%s: found %v, want %v", tt.name, sides, tt.sides)
		}
		if net.patches != tt.patches {
			t.Errorf("%s: %d patches predicted, want %d", tt.name, net.patches, tt.patches)
		}
	}
}
