package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/otoseg/otoseg/imageio"
)

// Input is one scan found under what was submitted.
type Input struct {
	// Path is the scan: an image file or a DICOM series folder (absolute).
	Path string
	// Rel is where its outputs go under the output folder, without
	// extension: the folders between the submitted root and the scan,
	// then the scan's case name, so scans of the same name in different
	// folders never share an output.
	Rel string
}

// Discover lists the scans of the submitted paths: an image file, a DICOM
// series folder (a folder holding DICOM files and no image files), or a
// folder searched recursively for both. Hidden files and folders are
// skipped. The list is sorted by path.
func Discover(paths []string) ([]Input, error) {
	var out []Input
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !st.IsDir() {
			if !isImageFile(abs) && imageio.FormatOf(abs) != imageio.DICOM {
				return nil, fmt.Errorf("%s: not a scan otoseg reads (an image file, a DICOM file, .zip or folder)", p)
			}
			out = append(out, Input{Path: abs, Rel: caseName(abs)})
			continue
		}
		found, err := walk(abs)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no image files or DICOM series found", p)
		}
		out = append(out, found...)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

// walk finds the scans under root.
func walk(root string) ([]Input, error) {
	var out []Input
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != root {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if isImageFile(path) {
				out = append(out, Input{Path: path, Rel: relCase(root, path)})
			}
			return nil
		}
		series, err := isDICOMSeriesDir(path)
		if err != nil {
			return err
		}
		if series {
			out = append(out, Input{Path: path, Rel: relCase(root, path)})
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	}
	return out, nil
}

// isImageFile tells image files (NIfTI, NRRD, MetaImage) by name.
func isImageFile(path string) bool {
	switch imageio.FormatOf(path) {
	case imageio.NIfTI, imageio.NRRD, imageio.MetaImage:
		return true
	}
	return false
}

// isDICOMSeriesDir tells a folder holding DICOM files (the DICM magic at
// byte 128) and no image files.
func isDICOMSeriesDir(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	dicom := false
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if isImageFile(p) {
			return false, nil
		}
		if !dicom {
			dicom = hasDICMMagic(p)
		}
	}
	return dicom, nil
}

func hasDICMMagic(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 132)
	if _, err := io.ReadFull(f, b); err != nil {
		return false
	}
	return string(b[128:]) == "DICM"
}

func caseName(path string) string {
	return imageio.TrimExtension(filepath.Base(strings.TrimRight(path, "/")))
}

// relCase is path's folder relative to root joined with its case name.
func relCase(root, path string) string {
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return caseName(path)
	}
	return filepath.Join(rel, caseName(path))
}

// ContentHash is the SHA-256 of a scan's bytes: a file's, or a folder's
// files' (relative names and bytes, in name order), so the same scan
// copied elsewhere hashes the same and any changed byte changes it.
func ContentHash(path string) (string, error) {
	h := sha256.New()
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		if err := hashFile(h, path); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(path, f)
		fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
		if err := hashFile(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	fmt.Fprintf(w, "\x00%d\x00", n)
	return err
}
