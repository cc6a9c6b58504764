package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

// TestCommandLineRefusals is the table of command lines otoseg refuses:
// each exits with status 2 (usage), says why, names where to read how to
// use the command, leaves every input as it was, and does so before any
// work (well under a second, where segmenting takes seconds).
func TestCommandLineRefusals(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.nii.gz")
	g := volume.NewGeometry([3]int{8, 8, 8}, [3]float64{1, 1, 1})
	if err := imageio.Write(scan, volume.New(g, volume.Int16)); err != nil {
		t.Fatal(err)
	}
	images := filepath.Join(dir, "images")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	inBatch := filepath.Join(images, "a.nii.gz")
	if err := imageio.Write(inBatch, volume.New(g, volume.Int16)); err != nil {
		t.Fatal(err)
	}
	hashes := func() string {
		h := sha256.New()
		for _, f := range []string{scan, inBatch} {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
		ents, _ := os.ReadDir(images)
		fmt.Fprint(h, len(ents))
		return fmt.Sprintf("%x", h.Sum(nil))
	}
	before := hashes()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"segment onto its input", []string{"segment", scan, "-o", scan}, "would destroy the input"},
		{"segment a folder onto itself", []string{"segment", images, "-o", images}, "input folder"},
		{"segment to an unknown format", []string{"segment", scan, "-o", filepath.Join(dir, "x.txt")}, "cannot write this format"},
		{"segment to a folder where a file is asked", []string{"segment", scan, "-o", images}, "is a folder"},
		{"segment without -o", []string{"segment", scan}, "-o OUT is required"},
		{"segment with a threshold above 1", []string{"segment", scan, "-o", filepath.Join(dir, "l.nii.gz"), "--threshold", "5"}, "--threshold 5"},
		{"segment with a negative ear volume", []string{"segment", scan, "-o", filepath.Join(dir, "l.nii.gz"), "--min-ear-volume", "-1"}, "--min-ear-volume"},
		{"segment with two inputs", []string{"segment", scan, scan, "-o", filepath.Join(dir, "l.nii.gz")}, "accepts 1 arg"},
		{"unknown flag", []string{"segment", scan, "--bogus"}, "unknown flag"},
		{"convert onto its input", []string{"convert", scan, scan, "--spacing", "1"}, "would destroy the input"},
		{"convert with -o and a second argument", []string{"convert", scan, filepath.Join(dir, "a.nii"), "-o", filepath.Join(dir, "b.nii")}, "give OUT once"},
		{"convert with --interp alone", []string{"convert", scan, "-o", filepath.Join(dir, "c.nii"), "--interp", "linear"}, "without --spacing"},
		{"snapshot to a JPEG name", []string{"snapshot", scan, "-o", filepath.Join(dir, "x.jpg")}, "writes PNG"},
		{"snapshot with a bad window", []string{"snapshot", scan, "-o", filepath.Join(dir, "x.png"), "--window", "0,0"}, "window"},
		{"train without a manifest", []string{"train", "-o", filepath.Join(dir, "m")}, "--manifest"},
		{"evaluate with a manifest and a reference", []string{"evaluate", "--manifest", "m.csv", "--ref", scan, "--pred", dir, "-o", filepath.Join(dir, "r")}, "one of --manifest"},
		{"evaluate into the predictions", []string{"evaluate", "--ref", scan, "--pred", images, "-o", images}, "input folder"},
		{"phantom with a fraction above 1", []string{"phantom", "-o", filepath.Join(dir, "p"), "--pathological", "2"}, "--pathological"},
		{"phantom without -o", []string{"phantom"}, "-o/--out DIR is required"},
		{"qc calibrate with a prediction folder short", []string{"qc", "calibrate", "--manifest", "a.csv", "--manifest", "b.csv", "--pred", dir, "-o", filepath.Join(dir, "c.json")}, "one prediction folder per manifest"},
		{"review export without a study", []string{"review", "export", "-o", filepath.Join(dir, "r.csv")}, "--study"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			msg, err := execute(t, tt.args...)
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("exit status %d (err %v, output %q), want %d", code, err, msg, exitUsage)
			}
			cmd, _, _ := newRootCmd().Find(tt.args)
			text := errorMessage(cmd, err)
			if !strings.Contains(text, tt.want) || !strings.Contains(text, "--help' for usage") {
				t.Errorf("message %q, want it to say %q and point to --help", text, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refused after %v: checks must come before the work", d)
			}
		})
	}
	if after := hashes(); after != before {
		t.Error("a refused command changed an input")
	}
}

// TestExitCodes: the status every kind of outcome maps to.
func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("disk full"), 1},
		{usagef("bad flag"), 2},
		{fmt.Errorf("scan.nii.gz: %w", segment.ErrNoEar), 3},
		{fmt.Errorf("mr.nii.gz: %w", segment.ErrNotCT), 4},
		{fmt.Errorf("slice.nii.gz: %w", segment.ErrNotVolume), 4},
		{fmt.Errorf("noisy.nii.gz: %w", segment.ErrNoLabyrinth), 5},
		{fmt.Errorf("segment: %w: threshold", segment.ErrInvalidOption), 2},
		{fmt.Errorf("segment: %w", context.Canceled), 130},
		{exitError{code: 1, err: errors.New("2 of 5 scans failed")}, 1},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if msg := errorMessage(nil, context.Canceled); !strings.Contains(msg, "interrupted") {
		t.Errorf("interrupted run reported as %q", msg)
	}
}

// TestVersion: --version and `version` say the build and the model.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, err := execute(t, args...)
		if err != nil || !strings.Contains(out, "otoseg") || !strings.Contains(out, "sha256 ") || !strings.Contains(out, "revision") {
			t.Errorf("%v: %q, %v", args, out, err)
		}
	}
}

// TestEveryCommandHasExamples: `--help` of every runnable command shows
// how to use it.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRootCmd()
	for _, c := range root.Commands() {
		cmds := append(c.Commands(), c)
		for _, sc := range cmds {
			if sc.Runnable() && !sc.HasExample() && sc.Name() != "help" && sc.Name() != "completion" {
				t.Errorf("%s --help has no examples", sc.CommandPath())
			}
		}
	}
}

// TestSegmentRefusesWhatIsNotCT: a single slice and an MR-like volume are
// refused with status 4 and a message saying what was found, before any
// ear search, and no label map is written.
func TestSegmentRefusesWhatIsNotCT(t *testing.T) {
	dir := t.TempDir()
	slice := volume.New(volume.NewGeometry([3]int{64, 64, 1}, [3]float64{0.5, 0.5, 1}), volume.Int16)
	mr := volume.New(volume.NewGeometry([3]int{48, 48, 40}, [3]float64{0.5, 0.5, 0.5}), volume.Int16)
	for i := range mr.Data {
		mr.Data[i] = float32(200 + i%700) // 200..900: no air, no bone
	}
	for _, tt := range []struct {
		name string
		v    *volume.Volume
		want string
	}{
		{"slice", slice, "3-D"},
		{"mr", mr, "not a CT"},
	} {
		in := filepath.Join(dir, tt.name+".nii.gz")
		if err := imageio.Write(in, tt.v); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out", tt.name+".nii.gz")
		_, err := execute(t, "segment", in, "-o", out)
		if code := exitCode(err); code != exitNotCT || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: exit %d, err %v; want %d and a message saying %q", tt.name, code, err, exitNotCT, tt.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: a label map was written (%v)", tt.name, err)
		}
	}
}
