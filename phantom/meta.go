package phantom

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// maxMetaBytes caps a meta sidecar: phantoms write a few kB.
const maxMetaBytes = 1 << 20

// ReadMeta reads a case's JSON sidecar (meta/<case>.json), the one reader of
// what WriteCase writes.
func ReadMeta(path string) (Meta, error) {
	var m Meta
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMetaBytes+1))
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxMetaBytes {
		return m, fmt.Errorf("%s: larger than %d MiB: not a phantom sidecar", path, maxMetaBytes>>20)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// MetaPath is where WriteCase put the sidecar of the image at imagePath
// (DIR/images/<case>.nii.gz -> DIR/meta/<case>.json).
func MetaPath(imagePath string) string {
	id := imageio.TrimExtension(filepath.Base(imagePath))
	return filepath.Join(filepath.Dir(filepath.Dir(imagePath)), "meta", id+".json")
}

// EarCentre returns the voxel of img at the first in-view ear's labyrinth
// centre, as the sidecar beside a phantom image records it; ok is false when
// there is no readable sidecar or no such ear inside img.
func EarCentre(imagePath string, img *volume.Volume) (c [3]int, ok bool) {
	m, err := ReadMeta(MetaPath(imagePath))
	if err != nil {
		return c, false
	}
	for _, e := range m.Ears {
		if !e.InFOV {
			continue
		}
		ci := img.ContinuousIndex(e.Centre)
		c = [3]int{int(math.Round(ci[0])), int(math.Round(ci[1])), int(math.Round(ci[2]))}
		if c[0] >= 0 && c[1] >= 0 && c[2] >= 0 && c[0] < img.Dims[0] && c[1] < img.Dims[1] && c[2] < img.Dims[2] {
			return c, true
		}
	}
	return [3]int{}, false
}
