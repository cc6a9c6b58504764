package dicom

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeChoiceStudy writes testdata/make_choice.py's study folder (pydicom).
func makeChoiceStudy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "make_choice.py"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make_choice.py (needs python3-pydicom): %v\n%s", err, out)
	}
	return dir
}

// A study with a scout, one acquisition in a soft (120 slices) and a bone
// kernel (119 slices), a derived reformat with thinner slices and an MR
// series with the most slices: the bone series is read, and the reason
// names what each other series was passed over for.
func TestSeriesChoice(t *testing.T) {
	dir := makeChoiceStudy(t)
	list, err := ListSeries(dir)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	for _, s := range list {
		order = append(order, s.Number)
	}
	// bone, soft (original beats derived), derived reformat, scout, MR last.
	if want := []int{3, 2, 4, 1, 5}; !equalInts(order, want) {
		t.Errorf("series ranked %v, want %v: %+v", order, want, list)
	}
	v, c, err := ReadChosen(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != 3 || c.Kernel != "H70h" || c.KernelClass != KernelSharp || v.Dims[2] != 119 || c.Found != 5 {
		t.Errorf("read series #%d kernel %q (%s), %d slices of %d series; want #3 H70h sharp, 119, 5", c.Number, c.Kernel, c.KernelClass, v.Dims[2], c.Found)
	}
	for _, w := range []string{`#3 "Head 0.6 H70h"`, "sharp kernel H70h", `#2 "Head 0.6 H30s" (soft kernel H30s)`, "(derived/secondary)", "(localiser)", "(modality MR)"} {
		if !strings.Contains(c.Reason, w) {
			t.Errorf("reason %q does not say %q", c.Reason, w)
		}
	}
	// Chosen explicitly: by number, and by UID.
	for _, sel := range []string{"2", list[1].UID} {
		v, c, err := ReadChosen(dir, Options{Series: sel})
		if err != nil {
			t.Fatalf("series %s: %v", sel, err)
		}
		if c.Number != 2 || v.Dims[2] != 120 || !strings.Contains(c.Reason, "asked for") {
			t.Errorf("series %s: read #%d with %d slices, reason %q", sel, c.Number, v.Dims[2], c.Reason)
		}
	}
	if _, _, err := ReadChosen(dir, Options{Series: "9"}); err == nil || !strings.Contains(err.Error(), `no series "9"`) || !strings.Contains(err.Error(), "Head 0.6 H70h") {
		t.Errorf("series 9: error %v, want one listing the series", err)
	}
	if p, err := Probe(dir, Options{}); err != nil || p.Number != 3 || p.Dims != [3]int{8, 8, 119} {
		t.Errorf("Probe: %+v, %v", p, err)
	}
	// The memory ceiling is checked before pixels are read.
	if _, _, err := ReadChosen(dir, Options{MaxBytes: 8*8*119*4 - 1}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "8x8x119") {
		t.Errorf("1 byte short of the volume: %v, want ErrTooLarge naming the size", err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKernelClass(t *testing.T) {
	tests := []struct{ kernel, desc, want string }{
		{"H70h", "", KernelSharp},
		{"H30s", "", KernelSoft},
		{"Hr64", "", KernelSharp},
		{"Br36", "", KernelSoft},
		{"Ur77u", "", KernelSharp},
		{`J70h\3`, "", KernelSharp},
		{"B50f", "", KernelUnknown},
		{"BONE", "", KernelSharp},
		{"BONEPLUS", "", KernelSharp},
		{"STANDARD", "", KernelSoft},
		{"SOFT", "", KernelSoft},
		{"FC30", "", KernelSharp},
		{"FC81", "", KernelSharp},
		{"FC26", "", KernelSoft},
		{"YE", "", KernelSharp},
		{"UB", "", KernelSoft},
		{"", "Felsenbein Knochen 0.6", KernelSharp},
		{"", "Head 0.6 bone", KernelSharp},
		{"", "Bone HR 0.6", KernelSharp},
		{"", "Weichteil 3mm", KernelSoft},
		{"", "Brain 5mm", KernelSoft},
		{"", "chronic otitis", KernelUnknown}, // "HR" inside a word is no kernel
		{"", "", KernelUnknown},
		{"XYZ", "bone", KernelSharp}, // an unknown kernel defers to the description
	}
	for _, tc := range tests {
		if got := KernelClass(tc.kernel, tc.desc); got != tc.want {
			t.Errorf("KernelClass(%q, %q) = %s, want %s", tc.kernel, tc.desc, got, tc.want)
		}
	}
}

// Kernel names and descriptions come from files: any bytes classify
// without panicking, as one of the three classes.
func FuzzKernelClass(f *testing.F) {
	for _, s := range []string{"H70h", "FC30", `Hr64\3`, "Bone HR", "\xff\x00", "99"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, k, d string) {
		switch c := KernelClass(k, d); c {
		case KernelSharp, KernelSoft, KernelUnknown:
		default:
			t.Fatalf("KernelClass(%q, %q) = %q", k, d, c)
		}
	})
}
