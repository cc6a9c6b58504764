// Package safeout checks, before any work, that an output path can be
// written and that writing it destroys nothing a command reads: no output
// may be an input (by name, by link or by inode), no output folder may be
// the folder the inputs come from, no file may be asked where a folder
// stands. A refusal names the path and the reason; commands turn it into a
// usage error.
package safeout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrRefused marks every refusal, so callers can tell a refusal from a
// failure to look (errors.Is).
var ErrRefused = errors.New("output refused")

func refuse(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

// File checks that out can be written as a file: it is not an existing
// folder, it is none of inputs (the same file by path or inode, hard and
// symbolic links included), and its folder exists or can be created and is
// writable. It creates the missing folders, so that every command creates
// them alike.
func File(out string, inputs ...string) error {
	if out == "" {
		return refuse("no output path")
	}
	if st, err := os.Stat(out); err == nil {
		if st.IsDir() {
			return refuse("%s is a folder; give a file name", out)
		}
		for _, in := range inputs {
			if same(out, in) {
				return refuse("%s is also the input %s: writing it would destroy the input", out, in)
			}
		}
	}
	for _, in := range inputs {
		if st, err := os.Stat(in); err == nil && st.IsDir() && within(out, in) && isDICOMInput(in) {
			return refuse("%s lies inside the input folder %s; write it elsewhere", out, in)
		}
	}
	return writableDir(filepath.Dir(out))
}

// Dir checks that out can be used as an output folder: it is not an
// existing file, not one of the input folders (or an input file's folder)
// where outputs would replace or mix with the scans, and it exists or can be
// created and is writable. It creates it.
func Dir(out string, inputs ...string) error {
	if out == "" {
		return refuse("no output folder")
	}
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return refuse("%s is a file; give a folder", out)
	}
	for _, in := range inputs {
		dir := in
		if st, err := os.Stat(in); err == nil && !st.IsDir() {
			dir = filepath.Dir(in)
		}
		if same(out, dir) {
			return refuse("%s is the input folder %s: its scans would be overwritten or mixed with the outputs; write to another folder", out, in)
		}
	}
	return writableDir(out)
}

// writableDir creates dir if needed and checks that files can be created
// in it, by creating and removing one.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: cannot create the folder %s: %v", ErrRefused, dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".otoseg-write-check-*")
	if err != nil {
		return fmt.Errorf("%w: the folder %s is not writable: %v", ErrRefused, dir, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// same reports whether a and b name the same existing file or folder.
func same(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(sa, sb)
}

// within reports whether path lies inside the folder dir (after resolving
// both to absolute, cleaned paths).
func within(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// isDICOMInput reports whether a folder read as input is a DICOM folder
// (every file in it is read, so an output written into it would be read
// back as a slice next time).
func isDICOMInput(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		n := strings.ToLower(e.Name())
		if strings.HasSuffix(n, ".nii") || strings.HasSuffix(n, ".nii.gz") || strings.HasSuffix(n, ".nrrd") || strings.HasSuffix(n, ".mha") || strings.HasSuffix(n, ".mhd") {
			return false
		}
	}
	return true
}

// unwrapPath drops the *PathError's repetition of the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
