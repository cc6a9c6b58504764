package volume

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/internal/pyref"
)

// rotation returns the direction matrix Rz(c) * Ry(b) * Rx(a), angles in degrees.
func rotation(a, b, c float64) [3][3]float64 {
	a, b, c = a*math.Pi/180, b*math.Pi/180, c*math.Pi/180
	rx := [3][3]float64{{1, 0, 0}, {0, math.Cos(a), -math.Sin(a)}, {0, math.Sin(a), math.Cos(a)}}
	ry := [3][3]float64{{math.Cos(b), 0, math.Sin(b)}, {0, 1, 0}, {-math.Sin(b), 0, math.Cos(b)}}
	rz := [3][3]float64{{math.Cos(c), -math.Sin(c), 0}, {math.Sin(c), math.Cos(c), 0}, {0, 0, 1}}
	return matMul(rz, matMul(ry, rx))
}

func matMul(a, b [3][3]float64) [3][3]float64 {
	var m [3][3]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			for k := 0; k < 3; k++ {
				m[r][c] += a[r][k] * b[k][c]
			}
		}
	}
	return m
}

func randomVolume(seed uint64, g Geometry) *Volume {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := New(g, Float32)
	for i := range v.Data {
		v.Data[i] = float32(rng.NormFloat64()*100 + 40)
	}
	return v
}

// blobLabels fills a label map with a few overlapping balls of labels 1..4
// plus one single-voxel label 5, which any 2x downsampling would drop by
// plain argmax.
func blobLabels(g Geometry) *Volume {
	v := New(g, Uint8)
	centres := [][4]float64{{4, 4, 3, 1}, {8, 5, 4, 2}, {6, 8, 5, 3}, {10, 9, 2, 4}}
	for k := 0; k < g.Dims[2]; k++ {
		for j := 0; j < g.Dims[1]; j++ {
			for i := 0; i < g.Dims[0]; i++ {
				for _, c := range centres {
					d := math.Hypot(math.Hypot(float64(i)-c[0], float64(j)-c[1]), float64(k)-c[2])
					if d < 3 {
						v.Set(i, j, k, float32(c[3]))
					}
				}
			}
		}
	}
	v.Set(1, g.Dims[1]-2, g.Dims[2]-2, 5)
	return v
}

type scipyCase struct {
	Name      string        `json:"name"`
	Input     string        `json:"input"`
	Output    string        `json:"output"`
	SrcDims   [3]int        `json:"src_dims"`
	SrcAffine [4][4]float64 `json:"src_affine"`
	TgtDims   [3]int        `json:"tgt_dims"`
	TgtAffine [4][4]float64 `json:"tgt_affine"`
	Order     int           `json:"order"`
	UseFill   bool          `json:"use_fill"`
	Fill      float32       `json:"fill"`
	Labels    bool          `json:"labels"`
	got       *Volume
}

func TestResampleMatchesScipy(t *testing.T) {
	dir := t.TempDir()
	src := Geometry{Dims: [3]int{13, 11, 9}, Spacing: [3]float64{0.7, 0.9, 1.3},
		Origin: [3]float64{10, -5, 3}, Direction: rotation(5, -8, 12)}
	v := randomVolume(1, src)
	labels := blobLabels(src)
	in := filepath.Join(dir, "in.raw")
	writeRaw(t, in, v.Data)
	inLab := filepath.Join(dir, "labels.raw")
	writeRaw(t, inLab, labels.Data)

	rotated := Geometry{Dims: [3]int{14, 12, 10}, Spacing: [3]float64{0.6, 0.6, 0.8},
		Origin: src.World(-1.2, 0.4, 0.3), Direction: rotation(15, -3, 32)}
	roi := Geometry{Dims: [3]int{30, 25, 40}, Spacing: [3]float64{0.25, 0.3, 0.26},
		Origin: src.World(6.3, 2.2, 0.73), Direction: src.Direction}
	var cases []*scipyCase
	add := func(name string, vol *Volume, inPath string, order int, labelsMode bool, run func() (*Volume, error), useFill bool, fill float32) {
		got, err := run()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases = append(cases, &scipyCase{Name: name, Input: inPath, Output: filepath.Join(dir, name+".out"),
			SrcDims: vol.Dims, SrcAffine: vol.AffineLPS(), TgtDims: got.Dims, TgtAffine: got.AffineLPS(),
			Order: order, UseFill: useFill, Fill: fill, Labels: labelsMode, got: got})
	}
	interps := map[int]Interp{0: Nearest, 1: Linear, 3: BSpline}
	for _, sp := range [][3]float64{{0.31, 0.43, 0.57}, {1.1, 2.05, 0.47}, {2.9, 3.1, 3.3}} {
		for order, ip := range interps {
			add(fmt.Sprintf("spacing%v-order%d", sp, order), v, in, order, false,
				func() (*Volume, error) { return Resample(v, sp, ip) }, false, 0)
		}
		add(fmt.Sprintf("labels-spacing%v", sp), labels, inLab, 1, true,
			func() (*Volume, error) { return ResampleLabels(labels, sp) }, false, 0)
	}
	// Same axes but the first one reversed: still the separable path, with
	// a negative step.
	flipped := Geometry{Dims: [3]int{20, 15, 12}, Spacing: [3]float64{0.5, 0.6, 0.9}, Origin: src.World(12.2, 0.3, 0.2), Direction: src.Direction}
	for r := 0; r < 3; r++ {
		flipped.Direction[r][0] = -flipped.Direction[r][0]
	}
	for name, tg := range map[string]Geometry{"rotated": rotated, "roi": roi, "flipped": flipped} {
		for order, ip := range interps {
			add(fmt.Sprintf("%s-order%d", name, order), v, in, order, false,
				func() (*Volume, error) { return ResampleToFill(v, tg, ip, -7) }, true, -7)
		}
		add(name+"-labels", labels, inLab, 1, true, func() (*Volume, error) { return ResampleLabelsTo(labels, tg) }, true, 0)
	}
	// A small ROI and a far-away grid cut from a larger volume: B-spline
	// prefilters only the region read (plus a margin), which must not change
	// the result.
	bigG := Geometry{Dims: [3]int{90, 80, 70}, Spacing: [3]float64{0.4, 0.45, 0.6}, Origin: [3]float64{-20, 4, 9}, Direction: rotation(-4, 6, 3)}
	big := randomVolume(2, bigG)
	inBig := filepath.Join(dir, "big.raw")
	writeRaw(t, inBig, big.Data)
	bigROI := Geometry{Dims: [3]int{24, 20, 22}, Spacing: [3]float64{0.25, 0.25, 0.25}, Origin: bigG.World(40.3, 35.6, 30.2), Direction: bigG.Direction}
	bigRot := Geometry{Dims: [3]int{20, 20, 20}, Spacing: [3]float64{0.3, 0.3, 0.3}, Origin: bigG.World(2.5, 70.2, 50.1), Direction: rotation(0, 20, 50)}
	beyond := Geometry{Dims: [3]int{6, 5, 4}, Spacing: [3]float64{0.5, 0.5, 0.5}, Origin: bigG.World(120, 30, 20), Direction: bigG.Direction}
	for name, tg := range map[string]Geometry{"big-roi": bigROI, "big-rotated-edge": bigRot, "big-beyond": beyond} {
		add(name+"-order3", big, inBig, 3, false, func() (*Volume, error) { return ResampleToFill(big, tg, BSpline, -7) }, true, -7)
		add(name+"-order1", big, inBig, 1, false, func() (*Volume, error) { return ResampleToFill(big, tg, Linear, -7) }, true, -7)
	}
	// Axes of 2, 3 and 4 voxels: the shortest lines the spline prefilter
	// and the mirror rule must get right.
	tinyG := Geometry{Dims: [3]int{2, 3, 4}, Spacing: [3]float64{1, 0.8, 0.7}, Direction: Identity()}
	tiny := randomVolume(9, tinyG)
	inTiny := filepath.Join(dir, "tiny.raw")
	writeRaw(t, inTiny, tiny.Data)
	for order, ip := range interps {
		add(fmt.Sprintf("tiny-order%d", order), tiny, inTiny, order, false,
			func() (*Volume, error) { return Resample(tiny, [3]float64{0.3, 0.35, 0.33}, ip) }, false, 0)
		add(fmt.Sprintf("tiny-rotated-order%d", order), tiny, inTiny, order, false,
			func() (*Volume, error) {
				return ResampleToFill(tiny, Geometry{Dims: [3]int{5, 6, 7}, Spacing: [3]float64{0.4, 0.4, 0.4}, Origin: [3]float64{-0.2, 0.1, 0.3}, Direction: rotation(5, 10, 15)}, ip, -7)
			}, true, -7)
	}
	// Pasting a small oblique label map back into a larger straight grid:
	// only the box around the source is sampled, the rest must be 0.
	pasteGrid := Geometry{Dims: [3]int{40, 36, 30}, Spacing: [3]float64{0.5, 0.5, 0.5}, Origin: src.World(-12, -9, -7), Direction: Identity()}
	add("paste-labels", labels, inLab, 1, true, func() (*Volume, error) { return ResampleLabelsTo(labels, pasteGrid) }, true, 0)
	add("paste-order1", v, in, 1, false, func() (*Volume, error) { return ResampleToFill(v, pasteGrid, Linear, -7) }, true, -7)
	casesPath := filepath.Join(dir, "cases.json")
	b, _ := json.Marshal(cases)
	if err := os.WriteFile(casesPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	pyref.Run(t, "testdata/scipy_resample.py", casesPath)

	for _, c := range cases {
		want := readRaw(t, c.Output, c.got.Len())
		var margin []float32
		if c.Labels {
			margin = readRaw(t, c.Output+".margin", c.got.Len())
		}
		bad, ties := 0, 0
		var worst float64
		for i, w := range want {
			g := c.got.Data[i]
			switch {
			case c.Labels:
				if g != w {
					if margin[i] < 1e-5 {
						ties++ // scipy saw a tie; either label is right
						continue
					}
					if c.Name != "" && isRescued(c.got, labels, g) {
						continue
					}
					bad++
				}
			case c.Order == 0:
				if g != w {
					bad++
				}
			default:
				tol := 1e-4 * math.Max(1, math.Abs(float64(w)))
				d := math.Abs(float64(g - w))
				worst = math.Max(worst, d/math.Max(1, math.Abs(float64(w))))
				if d > tol {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d voxels differ from scipy (worst relative %.3g)", c.Name, bad, len(want), worst)
		}
		t.Logf("%s: dims %v, worst relative difference %.2g, ties %d", c.Name, c.got.Dims, worst, ties)
	}
}

// isRescued reports whether label g occurs exactly once in got, i.e. it was
// placed by the no-label-disappears pass rather than by the vote.
func isRescued(got, in *Volume, g float32) bool {
	n := 0
	for _, x := range got.Data {
		if x == g {
			n++
		}
	}
	return n == 1
}

func TestResampleLabelsKeepsEveryLabel(t *testing.T) {
	src := Geometry{Dims: [3]int{13, 11, 9}, Spacing: [3]float64{0.7, 0.9, 1.3}, Direction: Identity()}
	for _, sp := range [][3]float64{{0.25, 0.25, 0.25}, {1.5, 1.7, 2.7}, {2.2, 2.5, 3.7}} {
		labels := blobLabels(src)
		labels.Set(1, src.Dims[1]-2, src.Dims[2]-2, 0)
		// Put the one-voxel label 5 where target voxel (1,1,1) reads it with a
		// small but positive weight: representable, yet outvoted by its
		// background neighbours.
		tg, err := ResampledGeometry(src, sp)
		if err != nil {
			t.Fatal(err)
		}
		p := src.ContinuousIndex(tg.World(1, 1, 1))
		labels.Set(int(p[0]), int(p[1]), int(p[2]), 5)
		got, err := ResampleLabels(labels, sp)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[float32]int{}
		for _, x := range got.Data {
			counts[x]++
		}
		for l := float32(0); l <= 5; l++ {
			if counts[l] == 0 {
				t.Errorf("spacing %v: label %g disappeared (counts %v)", sp, l, counts)
			}
		}
		if got.DType != Uint8 {
			t.Errorf("dtype %v, want uint8", got.DType)
		}
	}
	bad := New(src, Float32)
	bad.Data[3] = 1.5
	if _, err := ResampleLabels(bad, [3]float64{1, 1, 1}); err == nil {
		t.Error("non-integer label accepted")
	}
}

func TestResampledGeometry(t *testing.T) {
	g := Geometry{Dims: [3]int{512, 512, 200}, Spacing: [3]float64{0.4, 0.4, 0.6}, Origin: [3]float64{1, 2, 3}, Direction: rotation(0, 0, 90)}
	tests := []struct {
		spacing [3]float64
		dims    [3]int
	}{
		{[3]float64{0.25, 0.25, 0.25}, [3]int{819, 819, 480}},
		{[3]float64{0.4, 0.4, 0.6}, [3]int{512, 512, 200}},
		{[3]float64{1000, 1000, 1000}, [3]int{1, 1, 1}},
	}
	for _, tc := range tests {
		got, err := ResampledGeometry(g, tc.spacing)
		if err != nil {
			t.Fatal(err)
		}
		if got.Dims != tc.dims || got.Origin != g.Origin || got.Direction != g.Direction || got.Spacing != tc.spacing {
			t.Errorf("spacing %v: got %+v, want dims %v", tc.spacing, got, tc.dims)
		}
	}
	if _, err := ResampledGeometry(g, [3]float64{0, 1, 1}); err == nil {
		t.Error("zero spacing accepted")
	}
}

// Resampling onto the same grid must return the input for every method.
func TestResampleIdentity(t *testing.T) {
	g := Geometry{Dims: [3]int{7, 6, 5}, Spacing: [3]float64{0.5, 0.7, 1.1}, Direction: rotation(10, 20, 30)}
	v := randomVolume(3, g)
	for _, ip := range []Interp{Nearest, Linear, BSpline} {
		got, err := Resample(v, g.Spacing, ip)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v.Data {
			if d := math.Abs(float64(got.Data[i] - v.Data[i])); d > 1e-3 {
				t.Fatalf("%v: voxel %d = %g, want %g", ip, i, got.Data[i], v.Data[i])
			}
		}
	}
}

func TestResampleDegenerateAxes(t *testing.T) {
	// A single slice must resample without reading past it.
	g := Geometry{Dims: [3]int{6, 5, 1}, Spacing: [3]float64{1, 1, 2}, Direction: Identity()}
	v := randomVolume(4, g)
	for _, ip := range []Interp{Nearest, Linear, BSpline} {
		got, err := Resample(v, [3]float64{0.5, 0.5, 0.5}, ip)
		if err != nil {
			t.Fatalf("%v: %v", ip, err)
		}
		if got.Dims != [3]int{12, 10, 4} {
			t.Errorf("%v: dims %v", ip, got.Dims)
		}
		// every output slice equals the first: the input has one slice
		n := got.Dims[0] * got.Dims[1]
		for i := n; i < got.Len(); i++ {
			if math.Abs(float64(got.Data[i]-got.Data[i%n])) > 1e-3 {
				t.Fatalf("%v: slice %d differs", ip, i/n)
			}
		}
	}
}

func BenchmarkResample(b *testing.B) {
	cases := []struct {
		name    string
		dims    [3]int
		spacing [3]float64
		target  [3]float64
		interp  Interp
	}{
		// A temporal-bone ROI (about 40x40x40 mm) cut from a 0.4x0.4x0.6 mm
		// CT and brought to the segmentation grid.
		{"ROI100x100x67-to0.25mm-linear", [3]int{100, 100, 67}, [3]float64{0.4, 0.4, 0.6}, [3]float64{0.25, 0.25, 0.25}, Linear},
		{"ROI100x100x67-to0.25mm-bspline", [3]int{100, 100, 67}, [3]float64{0.4, 0.4, 0.6}, [3]float64{0.25, 0.25, 0.25}, BSpline},
		// A whole head CT brought to a coarse localiser grid.
		{"CT512x512x200-to1.5mm-linear", [3]int{512, 512, 200}, [3]float64{0.45, 0.45, 0.6}, [3]float64{1.5, 1.5, 1.5}, Linear},
		// The whole CT at 0.25 mm: 922x922x480 = 408 M voxels out.
		{"CT512x512x200-to0.25mm-linear", [3]int{512, 512, 200}, [3]float64{0.45, 0.45, 0.6}, [3]float64{0.25, 0.25, 0.25}, Linear},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			v := randomVolume(1, Geometry{Dims: c.dims, Spacing: c.spacing, Direction: Identity()})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := Resample(v, c.target, c.interp)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(out.Len())/1e6, "Mvox-out")
			}
		})
	}
}

func BenchmarkResampleLabels(b *testing.B) {
	g := Geometry{Dims: [3]int{160, 160, 160}, Spacing: [3]float64{0.25, 0.25, 0.25}, Direction: Identity()}
	v := New(g, Uint8)
	for i := range v.Data {
		v.Data[i] = float32((i / 7919) % 4)
	}
	target := Geometry{Dims: [3]int{100, 100, 67}, Spacing: [3]float64{0.4, 0.4, 0.6}, Direction: rotation(0, 0, 3)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ResampleLabelsTo(v, target); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResampleToROI cuts the segmentation ROI (40 mm cube at 0.25 mm,
// 160^3 voxels, slightly rotated or not) out of a whole 512x512x200 CT, the
// path from localiser to network input.
func BenchmarkResampleToROI(b *testing.B) {
	ct := randomVolume(1, Geometry{Dims: [3]int{512, 512, 200}, Spacing: [3]float64{0.45, 0.45, 0.6}, Direction: Identity()})
	for _, c := range []struct {
		name   string
		dir    [3][3]float64
		interp Interp
	}{
		{"aligned-linear", Identity(), Linear},
		{"aligned-bspline", Identity(), BSpline},
		{"rotated-linear", rotation(3, -5, 10), Linear},
		{"rotated-bspline", rotation(3, -5, 10), BSpline},
	} {
		roi := Geometry{Dims: [3]int{160, 160, 160}, Spacing: [3]float64{0.25, 0.25, 0.25}, Origin: ct.World(150.3, 200.7, 60.2), Direction: c.dir}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := ResampleToFill(ct, roi, c.interp, -1024); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
