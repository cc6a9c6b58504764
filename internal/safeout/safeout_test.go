package safeout

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestFileAndDir(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.nii.gz")
	mustWrite(t, scan)
	hard := filepath.Join(dir, "hard.nii.gz")
	if err := os.Link(scan, hard); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.nii.gz")
	if err := os.Symlink(scan, sym); err != nil {
		t.Fatal(err)
	}
	dicom := filepath.Join(dir, "dicom")
	mustWrite(t, filepath.Join(dicom, "IM0001"))
	images := filepath.Join(dir, "images")
	mustWrite(t, filepath.Join(images, "a.nii.gz"))
	readOnly := filepath.Join(dir, "ro")
	if err := os.MkdirAll(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	rootCanWrite := os.Geteuid() == 0 || runtime.GOOS == "windows"

	tests := []struct {
		name    string
		check   func() error
		refused string // "" for accepted
	}{
		{"new file", func() error { return File(filepath.Join(dir, "out", "labels.nii.gz"), scan) }, ""},
		{"same path", func() error { return File(scan, scan) }, "would destroy the input"},
		{"same path spelled differently", func() error { return File(filepath.Join(dir, ".", "scan.nii.gz"), scan) }, "would destroy the input"},
		{"hard link", func() error { return File(hard, scan) }, "would destroy the input"},
		{"symbolic link", func() error { return File(sym, scan) }, "would destroy the input"},
		{"a folder where a file is asked", func() error { return File(images, scan) }, "is a folder"},
		{"inside a DICOM input folder", func() error { return File(filepath.Join(dicom, "ears.nii.gz"), dicom) }, "inside the input folder"},
		{"empty", func() error { return File("") }, "no output path"},
		{"folder: new", func() error { return Dir(filepath.Join(dir, "pred"), images) }, ""},
		{"folder: the input folder", func() error { return Dir(images, images) }, "input folder"},
		{"folder: an input file's folder", func() error { return Dir(dir, scan) }, "input folder"},
		{"folder: a file", func() error { return Dir(scan) }, "is a file"},
		{"folder under a file", func() error { return Dir(filepath.Join(scan, "x")) }, "cannot create"},
	}
	if !rootCanWrite {
		tests = append(tests, struct {
			name    string
			check   func() error
			refused string
		}{"read-only folder", func() error { return File(filepath.Join(readOnly, "x.nii.gz")) }, "not writable"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			switch {
			case tt.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.refused != "" && (err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.refused)):
				t.Fatalf("err = %v, want a refusal saying %q", err, tt.refused)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err != nil {
		t.Errorf("File did not create the output's folder: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".otoseg-write-check-*"))
	if len(left) > 0 {
		t.Errorf("write checks left files behind: %v", left)
	}
}

func mustWrite(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
