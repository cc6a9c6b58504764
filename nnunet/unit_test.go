package nnunet

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nnU-Net's compute_steps_for_sliding_window, including the example in its
// source comment (110 voxels, patch 64: starts 0, 23, 46).
func TestWindowStarts(t *testing.T) {
	for _, tc := range []struct {
		size, patch int
		want        []int
	}{
		{110, 64, []int{0, 23, 46}},
		{64, 64, []int{0}},
		{65, 64, []int{0, 1}},
		{200, 160, []int{0, 40}},
		{325, 160, []int{0, 55, 110, 165}},
		{45, 32, []int{0, 13}},
	} {
		if got := windowStarts(tc.size, tc.patch, 0.5); !slices.Equal(got, tc.want) {
			t.Errorf("size %d patch %d: %v, want %v", tc.size, tc.patch, got, tc.want)
		}
	}
}

// The Gaussian importance map peaks at 10 in the centre voxel (p/2), is
// symmetric about it and has no zeros.
func TestGaussianWeights(t *testing.T) {
	p := [3]int{8, 16, 12}
	g := gaussianWeights(p)
	at := func(z, y, x int) float32 { return g[(z*p[1]+y)*p[2]+x] }
	if c := at(4, 8, 6); math.Abs(float64(c)-10) > 1e-5 {
		t.Errorf("centre %g, want 10", c)
	}
	if at(3, 8, 6) != at(5, 8, 6) || at(4, 2, 6) != at(4, 14, 6) {
		t.Error("not symmetric about the centre voxel")
	}
	if slices.Min(g) <= 0 {
		t.Error("zero weight")
	}
}

func TestHalfToFloat(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x0001, 5.960464477539063e-08},
		{0x8001, -5.960464477539063e-08}, {0x7bff, 65504}, {0x0000, 0},
	} {
		if got := halfToFloat(tc.h); got != tc.want {
			t.Errorf("%#04x: %g, want %g", tc.h, got, tc.want)
		}
	}
	if !math.IsInf(float64(halfToFloat(0x7c00)), 1) || !math.IsNaN(float64(halfToFloat(0x7e00))) {
		t.Error("inf or nan wrong")
	}
}

func TestMirrorCombos(t *testing.T) {
	if got := mirrorCombos([]int{0, 1, 2}); len(got) != 8 || got[0] != [3]bool{} {
		t.Errorf("%v", got)
	}
	if got := mirrorCombos([]int{2}); len(got) != 2 || got[1] != [3]bool{false, false, true} {
		t.Errorf("%v", got)
	}
	if got := mirrorCombos(nil); len(got) != 1 {
		t.Errorf("%v", got)
	}
}

// A damaged checkpoint gives an error naming the file, whatever the damage.
func TestReadCheckpointErrorsNameTheFile(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(fixtures[0].dir, "fold_1", "checkpoint_final.pth"))
	if err != nil {
		t.Fatalf("%v %s", err, fixtureHint)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a PyTorch zip"},
		{"truncated", good[:len(good)/3], "not a PyTorch zip"},
		{"legacy pickle", []byte("\x80\x02\x8a\x0alp\xfc\x9cF\xf9 j\xa8P\x19."), "not a PyTorch zip"},
	} {
		p := filepath.Join(t.TempDir(), "checkpoint_final.pth")
		if err := os.WriteFile(p, tc.b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadCheckpoint(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s and %q", tc.name, err, p, tc.want)
		}
	}
	// The fixture itself: trainer, mirroring axes, both copies of every
	// block's weights (convs.N.all_modules.*, decoder.encoder.*).
	c, err := DecodeCheckpoint(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if c.TrainerName != "nnUNetTrainer" || !slices.Equal(c.MirrorAxes, []int{0, 1, 2}) {
		t.Errorf("trainer %q, mirror axes %v", c.TrainerName, c.MirrorAxes)
	}
	var dup int
	for _, n := range c.Names {
		if _, d := canonicalName(n); d {
			dup++
		}
	}
	if dup == 0 || dup >= len(c.Names) {
		t.Errorf("%d of %d keys are nnU-Net's duplicate registrations", dup, len(c.Names))
	}
}

// The card's folder checksum is what `sha256sum FILES | sort -k2 | sha256sum`
// prints for the imported files.
func TestSourceChecksum(t *testing.T) {
	l := importFixture(t, fixtures[0].dir, nil)
	var lines []string
	for _, rel := range []string{"dataset.json", "fold_0/checkpoint_final.pth", "fold_1/checkpoint_final.pth", "plans.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures[0].dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%x  %s\n", sha256.Sum256(b), rel))
	}
	want := fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(lines, ""))))
	if l.SourceSHA256 != want || len(l.SourceFiles) != 4 {
		t.Errorf("source checksum %s over %d files, want %s", l.SourceSHA256, len(l.SourceFiles), want)
	}
}
