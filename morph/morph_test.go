package morph

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/otoseg/otoseg/internal/pyref"

	"github.com/otoseg/otoseg/volume"
)

// testMask is an irregular mask with many components of every kind of
// adjacency, tunnels and enclosed cavities: a few thick blobs, a hollow
// shell, and sprinkled single voxels that touch the rest by faces, edges or
// corners only.
func testMask(seed uint64, dims [3]int) *Mask {
	rng := rand.New(rand.NewPCG(seed, 7))
	m := NewMask(dims)
	type ball struct {
		c [3]float64
		r float64
	}
	var balls []ball
	for n := 0; n < 10; n++ {
		balls = append(balls, ball{[3]float64{rng.Float64() * float64(dims[0]), rng.Float64() * float64(dims[1]), rng.Float64() * float64(dims[2])}, 2 + 4*rng.Float64()})
	}
	shell := [3]float64{float64(dims[0]) / 2, float64(dims[1]) / 2, float64(dims[2]) / 2}
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				p := [3]float64{float64(i), float64(j), float64(k)}
				on := false
				for _, b := range balls {
					if dist(p, b.c) < b.r {
						on = true
					}
				}
				if d := dist(p, shell); d > 5 && d < 7 {
					on = true
				}
				if rng.Float64() < 0.04 {
					on = !on
				}
				m.Data[i+dims[0]*(j+dims[1]*k)] = on
			}
		}
	}
	return m
}

func dist(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

func readFile(t *testing.T, path string, n, size int) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != n*size {
		t.Fatalf("%s: %d bytes, want %d", path, len(b), n*size)
	}
	return b
}

func TestMorphMatchesScipy(t *testing.T) {
	dims := [3]int{37, 31, 23}
	// Sparse background: most rows hold no background voxel at all, so the
	// distance transform must carry infinities through the x pass and find
	// distances many voxels long.
	sparse := NewMask(dims)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range sparse.Data {
		sparse.Data[i] = rng.Float64() > 0.002
	}
	for name, m := range map[string]*Mask{"blobs": testMask(1, dims), "sparse-background": sparse} {
		t.Run(name, func(t *testing.T) { checkAgainstScipy(t, m, [3]float64{0.45, 0.6, 0.9}, 1.3) })
	}
}

func checkAgainstScipy(t *testing.T, m *Mask, spacing [3]float64, radius float64) {
	dims := m.Dims
	dir := t.TempDir()
	maskPath := filepath.Join(dir, "mask.raw")
	raw := make([]byte, len(m.Data))
	for i, b := range m.Data {
		if b {
			raw[i] = 1
		}
	}
	if err := os.WriteFile(maskPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	casePath, outPath := filepath.Join(dir, "case.json"), filepath.Join(dir, "out.json")
	cj, _ := json.Marshal(map[string]any{"mask": maskPath, "dims": dims, "spacing": spacing, "radius": radius})
	if err := os.WriteFile(casePath, cj, 0o644); err != nil {
		t.Fatal(err)
	}
	pyref.Run(t, "testdata/scipy_morph.py", casePath, outPath)
	var ref map[string]int
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	n := len(m.Data)

	for _, conn := range []Connectivity{Conn6, Conn18, Conn26} {
		c, err := Label(m, conn)
		if err != nil {
			t.Fatal(err)
		}
		key := map[Connectivity]string{Conn6: "n6", Conn18: "n18", Conn26: "n26"}[conn]
		if c.N != ref[key] {
			t.Errorf("%d-connectivity: %d components, scipy %d", conn, c.N, ref[key])
		}
		want := readFile(t, maskPath+".labels"+key[1:], n, 4)
		for i := 0; i < n; i++ {
			if w := int32(binary.LittleEndian.Uint32(want[4*i:])); w != c.Labels[i] {
				t.Fatalf("%d-connectivity: voxel %d label %d, scipy %d", conn, i, c.Labels[i], w)
			}
		}
		sum := 0
		for _, s := range c.Sizes {
			sum += s
		}
		if sum != n {
			t.Errorf("sizes sum to %d, want %d", sum, n)
		}
		t.Logf("%d-connectivity: %d components, largest %d voxels", conn, c.N, c.Sizes[c.Largest()])
	}

	edt, err := EDT(m, spacing)
	if err != nil {
		t.Fatal(err)
	}
	want := readFile(t, maskPath+".edt", n, 4)
	var worst float64
	for i := 0; i < n; i++ {
		w := float64(math.Float32frombits(binary.LittleEndian.Uint32(want[4*i:])))
		d := math.Abs(float64(edt[i]) - w)
		worst = math.Max(worst, d)
		if d > 1e-5*math.Max(1, w) {
			t.Fatalf("EDT voxel %d: %g, scipy %g", i, edt[i], w)
		}
	}
	t.Logf("EDT worst absolute difference %.2g mm", worst)

	compareMask := func(name string, got *Mask, path string) {
		t.Helper()
		want := readFile(t, path, n, 1)
		bad := 0
		for i := 0; i < n; i++ {
			if got.Data[i] != (want[i] == 1) {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d voxels differ from scipy", name, bad)
		}
	}
	fill, err := FillHoles(m, Conn6)
	if err != nil {
		t.Fatal(err)
	}
	compareMask("FillHoles", fill, maskPath+".fill")
	fz, err := FillHolesSlices(m, 2)
	if err != nil {
		t.Fatal(err)
	}
	compareMask("FillHolesSlices", fz, maskPath+".fillz")
	dil, err := Dilate(m, spacing, radius)
	if err != nil {
		t.Fatal(err)
	}
	compareMask("Dilate", dil, maskPath+".dilate")
	ero, err := Erode(m, spacing, radius)
	if err != nil {
		t.Fatal(err)
	}
	compareMask("Erode", ero, maskPath+".erode")

	// Keep the largest component of each label of a three-label map.
	seg := volume.New(volume.NewGeometry(dims, spacing), volume.Uint8)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				if p := i + dims[0]*(j+dims[1]*k); m.Data[p] {
					seg.Data[p] = float32(1 + i*3/dims[0])
				}
			}
		}
	}
	kept, err := KeepLargestPerLabel(seg, Conn26)
	if err != nil {
		t.Fatal(err)
	}
	wantKeep := readFile(t, maskPath+".keep26", n, 1)
	for i := 0; i < n; i++ {
		if kept.Data[i] != float32(wantKeep[i]) {
			t.Fatalf("KeepLargestPerLabel voxel %d: %g, scipy %d", i, kept.Data[i], wantKeep[i])
		}
	}
	for conn, key := range map[Connectivity]string{Conn6: "euler6", Conn26: "euler26"} {
		e, err := EulerNumber(m, conn)
		if err != nil {
			t.Fatal(err)
		}
		if e != ref[key] {
			t.Errorf("Euler number %d-connectivity %d, skimage %d", conn, e, ref[key])
		}
		t.Logf("Euler number %d-connectivity: %d", conn, e)
	}
}

func shapeMask(dims [3]int, in func(x, y, z float64) bool) *Mask {
	m := NewMask(dims)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				m.Data[i+dims[0]*(j+dims[1]*k)] = in(float64(i)-float64(dims[0]-1)/2, float64(j)-float64(dims[1]-1)/2, float64(k)-float64(dims[2]-1)/2)
			}
		}
	}
	return m
}

func TestEulerNumberShapes(t *testing.T) {
	dims := [3]int{24, 24, 24}
	tests := []struct {
		name string
		in   func(x, y, z float64) bool
		want int
	}{
		{"ball", func(x, y, z float64) bool { return x*x+y*y+z*z < 64 }, 1},
		{"hollow sphere", func(x, y, z float64) bool { r := x*x + y*y + z*z; return r < 81 && r > 25 }, 2},
		{"torus", func(x, y, z float64) bool {
			q := math.Hypot(x, y) - 6
			return q*q+z*z < 6.25
		}, 0},
		{"two balls", func(x, y, z float64) bool {
			return (x-5)*(x-5)+y*y+z*z < 9 || (x+5)*(x+5)+y*y+z*z < 9
		}, 2},
		{"empty", func(x, y, z float64) bool { return false }, 0},
	}
	for _, tc := range tests {
		m := shapeMask(dims, tc.in)
		for _, conn := range []Connectivity{Conn6, Conn26} {
			got, err := EulerNumber(m, conn)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s, %d-connectivity: Euler number %d, want %d", tc.name, conn, got, tc.want)
			}
		}
	}
	// A diagonal pair of voxels: one component with 26, two with 6.
	m := NewMask([3]int{3, 3, 3})
	m.Data[0], m.Data[1+3*(1+3*1)] = true, true
	for conn, want := range map[Connectivity]int{Conn6: 2, Conn26: 1} {
		if got, _ := EulerNumber(m, conn); got != want {
			t.Errorf("corner pair %d-connectivity: %d, want %d", conn, got, want)
		}
	}
	if _, err := EulerNumber(m, Conn18); err == nil {
		t.Error("18-connectivity accepted")
	}
}

func TestLargestAndKeepLargestPerLabel(t *testing.T) {
	g := volume.NewGeometry([3]int{10, 6, 4}, [3]float64{1, 1, 1})
	v := volume.New(g, volume.Uint8)
	set := func(lo, hi [3]int, l float32) {
		for k := lo[2]; k < hi[2]; k++ {
			for j := lo[1]; j < hi[1]; j++ {
				for i := lo[0]; i < hi[0]; i++ {
					v.Set(i, j, k, l)
				}
			}
		}
	}
	set([3]int{0, 0, 0}, [3]int{3, 3, 3}, 1)  // label 1, 27 voxels
	set([3]int{5, 0, 0}, [3]int{6, 1, 1}, 1)  // label 1 speck
	set([3]int{3, 0, 0}, [3]int{5, 2, 2}, 2)  // label 2 touching label 1: separate by value
	set([3]int{7, 3, 1}, [3]int{10, 6, 4}, 2) // label 2, larger
	set([3]int{9, 0, 0}, [3]int{10, 1, 1}, 3) // label 3 alone
	out, err := KeepLargestPerLabel(v, Conn26)
	if err != nil {
		t.Fatal(err)
	}
	count := map[float32]int{}
	for _, x := range out.Data {
		count[x]++
	}
	if count[1] != 27 || count[2] != 27 || count[3] != 1 {
		t.Errorf("counts after keep-largest: %v", count)
	}
	if out.At(5, 0, 0) != 0 || out.At(3, 0, 0) != 0 || v.At(3, 0, 0) != 2 {
		t.Error("wrong voxels removed or input modified")
	}
	lc, err := LargestComponent(Nonzero(v), Conn6)
	if err != nil {
		t.Fatal(err)
	}
	// label 1 block + label 2 small block + speck touch by faces: 27+8+1.
	if lc.Count() != 36 {
		t.Errorf("largest component %d voxels, want 36", lc.Count())
	}
	rs, err := RemoveSmall(Nonzero(v), Conn6, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Count() != 36+27 {
		t.Errorf("remove small kept %d voxels, want %d", rs.Count(), 63)
	}
	bad := v.Clone()
	bad.Data[0] = -1
	if _, err := KeepLargestPerLabel(bad, Conn26); err == nil {
		t.Error("negative label accepted")
	}
	if _, err := Label(&Mask{Dims: [3]int{2, 2, 2}, Data: make([]bool, 3)}, Conn6); err == nil {
		t.Error("short mask accepted")
	}
	if _, err := Label(NewMask([3]int{2, 2, 2}), 7); err == nil {
		t.Error("connectivity 7 accepted")
	}
}

func TestDilateErodeEdgeCases(t *testing.T) {
	sp := [3]float64{1, 1, 1}
	empty := NewMask([3]int{5, 5, 5})
	d, err := Dilate(empty, sp, 2)
	if err != nil || d.Count() != 0 {
		t.Errorf("dilating nothing gave %d voxels, %v", d.Count(), err)
	}
	full := NewMask([3]int{5, 5, 5})
	for i := range full.Data {
		full.Data[i] = true
	}
	e, err := Erode(full, sp, 2)
	if err != nil || e.Count() != 125 {
		t.Errorf("eroding everything (border counts as foreground) gave %d voxels, %v", e.Count(), err)
	}
	one := NewMask([3]int{7, 7, 7})
	one.Data[3+7*(3+7*3)] = true
	d, _ = Dilate(one, sp, 1)
	if d.Count() != 7 {
		t.Errorf("radius-1 ball has %d voxels, want 7", d.Count())
	}
	d, _ = Dilate(one, sp, math.Sqrt(3))
	if d.Count() != 27 {
		t.Errorf("radius-sqrt3 ball has %d voxels, want 27", d.Count())
	}
	if _, err := EDT(one, [3]float64{1, 0, 1}); err == nil {
		t.Error("zero spacing accepted")
	}
}

func BenchmarkEDT(b *testing.B) {
	for _, c := range []struct {
		name string
		dims [3]int
	}{{"ROI160", [3]int{160, 160, 160}}, {"CT512x512x200", [3]int{512, 512, 200}}} {
		b.Run(c.name, func(b *testing.B) {
			m := benchMask(c.dims)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := EDT(m, [3]float64{0.45, 0.45, 0.6}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLabel(b *testing.B) {
	for _, c := range []struct {
		name string
		dims [3]int
		conn Connectivity
	}{{"ROI160-26", [3]int{160, 160, 160}, Conn26}, {"CT512x512x200-6", [3]int{512, 512, 200}, Conn6}, {"CT512x512x200-26", [3]int{512, 512, 200}, Conn26}} {
		b.Run(c.name, func(b *testing.B) {
			m := benchMask(c.dims)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Label(m, c.conn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKeepLargestPerLabel(b *testing.B) {
	dims := [3]int{512, 512, 200}
	m := benchMask(dims)
	v := volume.New(volume.NewGeometry(dims, [3]float64{0.45, 0.45, 0.6}), volume.Uint8)
	for i, on := range m.Data {
		if on {
			v.Data[i] = float32(1 + (i/512/64)%3)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := KeepLargestPerLabel(v, Conn26); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMask is bone-like: about a fifth of the voxels in many blobs.
func benchMask(dims [3]int) *Mask {
	m := NewMask(dims)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				x := math.Sin(float64(i)*0.21) + math.Sin(float64(j)*0.17+1) + math.Sin(float64(k)*0.29+2)
				m.Data[i+dims[0]*(j+dims[1]*k)] = x > 1.2
			}
		}
	}
	return m
}

func TestFillHolesShapes(t *testing.T) {
	dims := [3]int{21, 21, 21}
	shell := shapeMask(dims, func(x, y, z float64) bool { r := x*x + y*y + z*z; return r < 64 && r >= 25 })
	ball := shapeMask(dims, func(x, y, z float64) bool { return x*x+y*y+z*z < 64 })
	f, err := FillHoles(shell, Conn6)
	if err != nil {
		t.Fatal(err)
	}
	if f.Count() != ball.Count() {
		t.Errorf("filled shell has %d voxels, ball %d", f.Count(), ball.Count())
	}
	// A tube open at both ends has no 3-D hole, but every axial slice does.
	tube := shapeMask(dims, func(x, y, z float64) bool { r := x*x + y*y; return r < 49 && r >= 16 })
	disc := shapeMask(dims, func(x, y, z float64) bool { return x*x+y*y < 49 })
	f, _ = FillHoles(tube, Conn6)
	if f.Count() != tube.Count() {
		t.Errorf("3-D fill changed an open tube: %d -> %d voxels", tube.Count(), f.Count())
	}
	f, _ = FillHolesSlices(tube, 2)
	if f.Count() != disc.Count() {
		t.Errorf("slice fill of a tube: %d voxels, want %d", f.Count(), disc.Count())
	}
	f, _ = FillHolesSlices(tube, 0)
	if f.Count() != tube.Count() {
		t.Errorf("slice fill across the tube's axis changed it: %d -> %d", tube.Count(), f.Count())
	}
	if _, err := FillHolesSlices(tube, 3); err == nil {
		t.Error("axis 3 accepted")
	}
}

func BenchmarkFillHoles(b *testing.B) {
	for _, c := range []struct {
		name string
		dims [3]int
	}{{"ROI160", [3]int{160, 160, 160}}, {"CT512x512x200", [3]int{512, 512, 200}}} {
		b.Run(c.name, func(b *testing.B) {
			m := benchMask(c.dims)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := FillHoles(m, Conn6); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDilate(b *testing.B) {
	m := benchMask([3]int{160, 160, 160})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Dilate(m, [3]float64{0.25, 0.25, 0.25}, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEulerNumber(b *testing.B) {
	m := benchMask([3]int{160, 160, 160})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := EulerNumber(m, Conn26); err != nil {
			b.Fatal(err)
		}
	}
}
