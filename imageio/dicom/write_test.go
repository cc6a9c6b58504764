package dicom

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// testVolume is a small volume of dims with direction d whose voxels are
// f(i, j, k).
func testVolume(dims [3]int, spacing [3]float64, d [3][3]float64, dt volume.DType, f func(i, j, k int) float32) *volume.Volume {
	g := volume.NewGeometry(dims, spacing)
	g.Origin = [3]float64{-71.25, 30.5, -12.125}
	g.Direction = d
	v := volume.New(g, dt)
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				v.Set(i, j, k, f(i, j, k))
			}
		}
	}
	return v
}

// writeCases are volumes of every storage and orientation WriteSeries handles.
func writeCases() []struct {
	name string
	v    *volume.Volume
	tol  float64 // largest value error allowed
} {
	c, s := math.Cos(0.3), math.Sin(0.3)
	ct := func(i, j, k int) float32 { return float32((i*37+j*11+k*101)%3224 - 1024) }
	return []struct {
		name string
		v    *volume.Volume
		tol  float64
	}{
		{"int16 CT, axial", testVolume([3]int{7, 5, 4}, [3]float64{0.3, 0.4, 0.6}, volume.Identity(), volume.Int16, ct), 0},
		{"int16 CT, oblique", testVolume([3]int{6, 5, 3}, [3]float64{0.25, 0.25, 0.5}, [3][3]float64{{c, 0, s}, {0, 1, 0}, {-s, 0, c}}, volume.Int16, ct), 0},
		{"left-handed (slices reversed)", testVolume([3]int{4, 3, 5}, [3]float64{0.5, 0.5, 1}, [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, -1}}, volume.Int16, ct), 0},
		{"uint16 beyond int16", testVolume([3]int{4, 4, 2}, [3]float64{1, 1, 1}, volume.Identity(), volume.Uint16, func(i, j, k int) float32 { return float32(40000 + i*1000 + j*7 + k) }), 0},
		{"float, rescaled", testVolume([3]int{5, 4, 3}, [3]float64{1, 1, 2}, volume.Identity(), volume.Float32, func(i, j, k int) float32 { return float32(i)*0.137 - float32(j)*2.5 + float32(k)*1e3 }), 2010.0 / 65535 / 2 * 1.001},
		{"constant float", testVolume([3]int{3, 3, 2}, [3]float64{1, 1, 1}, volume.Identity(), volume.Float32, func(i, j, k int) float32 { return 0.25 }), 0},
	}
}

// TestWriteSeriesRoundTrip writes each case and reads it back with this
// package's reader: same voxels at the same places.
func TestWriteSeriesRoundTrip(t *testing.T) {
	for _, tc := range writeCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "series")
			if err := WriteSeries(dir, tc.v, WriteOptions{PatientID: "p1", SeriesDescription: tc.name}); err != nil {
				t.Fatal(err)
			}
			got, err := Read(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := rightHanded(tc.v)
			if !got.SameGrid(want.Geometry, 1e-6) {
				t.Fatalf("geometry %+v, want %+v", got.Geometry, want.Geometry)
			}
			for n := range want.Data {
				if d := math.Abs(float64(got.Data[n] - want.Data[n])); d > tc.tol+1e-4*math.Abs(float64(want.Data[n])) {
					t.Fatalf("voxel %d: %g, want %g", n, got.Data[n], want.Data[n])
				}
			}
			// Physically the same, independently of rightHanded: every
			// input voxel's world position holds its value in the result.
			for k := 0; k < tc.v.Dims[2]; k++ {
				for j := 0; j < tc.v.Dims[1]; j++ {
					for i := 0; i < tc.v.Dims[0]; i++ {
						c := got.ContinuousIndex(tc.v.World(float64(i), float64(j), float64(k)))
						x := got.At(int(math.Round(c[0])), int(math.Round(c[1])), int(math.Round(c[2])))
						if d := math.Abs(float64(x - tc.v.At(i, j, k))); d > tc.tol+1e-4*math.Abs(float64(x)) {
							t.Fatalf("voxel (%d,%d,%d) reads back as %g, want %g", i, j, k, x, tc.v.At(i, j, k))
						}
					}
				}
			}
		})
	}
}

// pydicomCheck reads a written folder with pydicom and reports the
// geometry and voxels it finds, computed from the attributes as the
// standard defines them (PS3.3 C.7.6.2).
const pydicomCheck = `
import sys, json, glob, numpy as np, pydicom
files = [pydicom.dcmread(p) for p in sorted(glob.glob(sys.argv[1] + "/*.dcm"))]
r = np.array(files[0].ImageOrientationPatient[:3], float); c = np.array(files[0].ImageOrientationPatient[3:], float)
n = np.cross(r, c)
files.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), n)))
pos = [np.array(d.ImagePositionPatient, float) for d in files]
step = float(np.dot(pos[-1] - pos[0], n)) / max(len(files) - 1, 1) if len(files) > 1 else float(files[0].SliceThickness)
vol = np.stack([d.pixel_array.astype(np.float64) * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in files])
for d in files:
    assert d.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2", d.SOPClassUID
    assert d.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
vol.astype("<f4").tofile(sys.argv[2])
json.dump({"dims": [int(files[0].Columns), int(files[0].Rows), len(files)],
           "spacing": [float(files[0].PixelSpacing[1]), float(files[0].PixelSpacing[0]), step],
           "origin": [float(x) for x in pos[0]],
           "direction": [[float(r[i]), float(c[i]), float(n[i])] for i in range(3)]}, sys.stdout)
`

// TestWriteSeriesPydicom checks the written files with pydicom.
func TestWriteSeriesPydicom(t *testing.T) {
	for _, tc := range writeCases() {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			dir := filepath.Join(tmp, "series")
			if err := WriteSeries(dir, tc.v, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			raw := filepath.Join(tmp, "vox.f32")
			out, err := exec.Command("/usr/bin/python3", "-c", pydicomCheck, dir, raw).Output()
			if err != nil {
				t.Fatalf("pydicom: %v\n%s", err, exitStderr(err))
			}
			var e expectation
			if err := json.Unmarshal(out, &e); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			want := rightHanded(tc.v)
			g := volume.Geometry{Dims: e.Dims, Spacing: e.Spacing, Origin: e.Origin, Direction: e.Direction}
			if !g.SameGrid(want.Geometry, 1e-6) {
				t.Fatalf("pydicom geometry %+v, want %+v", g, want.Geometry)
			}
			b, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			for n := range want.Data {
				x := math.Float32frombits(binary.LittleEndian.Uint32(b[4*n:]))
				if d := math.Abs(float64(x - want.Data[n])); d > tc.tol+1e-4*math.Abs(float64(want.Data[n])) {
					t.Fatalf("voxel %d: pydicom %g, want %g", n, x, want.Data[n])
				}
			}
		})
	}
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestWriteSeriesDciodvfy runs dicom3tools' IOD checker on a written slice:
// no errors allowed.
func TestWriteSeriesDciodvfy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "series")
	v := writeCases()[1].v
	if err := WriteSeries(dir, v, WriteOptions{PatientName: "Doe^Jane", PatientID: "p1", SeriesNumber: 3}); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("dciodvfy", filepath.Join(dir, "IM00002.dcm")).CombinedOutput()
	if !strings.Contains(string(out), "CTImage") {
		t.Fatalf("dciodvfy did not recognise a CT image:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Error") {
			t.Errorf("dciodvfy: %s", line)
		}
	}
}

// TestWriteSeriesSameBytes: the same volume gives the same files (UIDs are
// derived from the content), a different one different UIDs.
func TestWriteSeriesSameBytes(t *testing.T) {
	tmp := t.TempDir()
	v := writeCases()[0].v
	for _, d := range []string{"a", "b"} {
		if err := WriteSeries(filepath.Join(tmp, d), v, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(tmp, "a", "IM00001.dcm"))
	b, _ := os.ReadFile(filepath.Join(tmp, "b", "IM00001.dcm"))
	if len(a) == 0 || string(a) != string(b) {
		t.Fatal("writing the same volume twice gave different files")
	}
	v.Data[0]++
	if err := WriteSeries(filepath.Join(tmp, "c"), v, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(filepath.Join(tmp, "c", "IM00001.dcm"))
	if string(a[:600]) == string(c[:600]) {
		t.Fatal("a different volume kept the same UIDs")
	}
}

// TestWriteSeriesRefusals: bad volumes and occupied targets are errors
// naming the folder, and nothing is left behind.
func TestWriteSeriesRefusals(t *testing.T) {
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "x.dcm"), []byte("keep"), 0o644)
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, []byte("keep"), 0o644)
	good := writeCases()[0].v
	nan := testVolume([3]int{2, 2, 2}, [3]float64{1, 1, 1}, volume.Identity(), volume.Float32, func(i, j, k int) float32 { return float32(math.NaN()) })
	bad := &volume.Volume{Geometry: good.Geometry, Data: good.Data[:3]}
	tests := []struct {
		name, dir string
		v         *volume.Volume
		err       string
	}{
		{"non-empty folder", full, good, "not empty"},
		{"a file", file, good, "not a folder"},
		{"NaN voxel", filepath.Join(tmp, "nan"), nan, "finite values"},
		{"data short of its geometry", filepath.Join(tmp, "short"), bad, "voxels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteSeries(tc.dir, tc.v, WriteOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.dir) {
				t.Fatalf("err = %v, want %q naming %s", err, tc.err, tc.dir)
			}
		})
	}
	ents, _ := os.ReadDir(tmp)
	if len(ents) != 2 {
		t.Errorf("left behind: %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(full, "x.dcm")); string(b) != "keep" {
		t.Error("existing file overwritten")
	}
}

// TestWriteSeriesIntoEmptyFolder: an existing empty folder is filled.
func TestWriteSeriesIntoEmptyFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(dir, 0o755)
	if err := WriteSeries(dir, writeCases()[0].v, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.dcm")); len(files) != 4 {
		t.Errorf("%d files, want 4", len(files))
	}
}
