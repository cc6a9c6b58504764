// Package testtool runs the independent reference tools (nibabel through
// Debian's /usr/bin/python3, plastimatch) that the image I/O tests check
// otoseg against, and compares geometry and voxels. A missing tool fails
// the test: CI installs them, and a skipped check proves nothing.
package testtool

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

// Python is the interpreter that has nibabel (Debian's python3-nibabel).
const Python = "/usr/bin/python3"

// Script returns the absolute path of a script in imageio/testdata.
func Script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", name)
}

// Run runs a command and fails the test with its output if it fails.
func Run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required for this test (apt-get install python3-nibabel plastimatch): %v", name, err)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// NibInfo is what testdata/nib.py reports for one file.
type NibInfo struct {
	File   string        `json:"file"`
	Shape  []int         `json:"shape"`
	Affine [4][4]float64 `json:"affine"`
	DType  string        `json:"dtype"`
	Axcode string        `json:"axcodes"`
	// Data is the path of the voxels as little-endian float64, x fastest.
	Data string `json:"data"`
	// Volume is the 4-D volume Data holds, or -1.
	Volume int    `json:"volume"`
	Note   string `json:"note"`
}

// NibLoad has nibabel load each file and returns what it saw.
func NibLoad(t testing.TB, files ...string) []NibInfo {
	t.Helper()
	out := filepath.Join(t.TempDir(), "nib.json")
	Run(t, Python, append([]string{Script("nib.py"), "load", out}, files...)...)
	return readInfos(t, out)
}

// NibMake has nibabel write its reference cases into dir and returns them.
func NibMake(t testing.TB, dir string) []NibInfo {
	t.Helper()
	out := filepath.Join(dir, "cases.json")
	Run(t, Python, Script("nib.py"), "make", dir, out)
	return readInfos(t, out)
}

func readInfos(t testing.TB, path string) []NibInfo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var infos []NibInfo
	if err := json.Unmarshal(b, &infos); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return infos
}

// Data reads a little-endian float64 voxel dump.
func Data(t testing.TB, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// AffineClose reports the largest difference between two affines.
func AffineDiff(a, b [4][4]float64) float64 {
	var d float64
	for r := range 4 {
		for c := range 4 {
			d = math.Max(d, math.Abs(a[r][c]-b[r][c]))
		}
	}
	return d
}

// SameVoxels fails unless v holds exactly want (compared as float32, the
// precision volume keeps).
func SameVoxels(t testing.TB, name string, v *volume.Volume, want []float64) {
	t.Helper()
	if len(v.Data) != len(want) {
		t.Fatalf("%s: %d voxels, reference has %d", name, len(v.Data), len(want))
	}
	for i, x := range v.Data {
		if x != float32(want[i]) && !(x != x && want[i] != want[i]) {
			t.Fatalf("%s: voxel %d is %v, reference %v", name, i, x, want[i])
		}
	}
}
