package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
)

// ModelChecksum identifies a model by its contents: the SHA-256 of its plan
// and both networks' weights, each file's name and bytes in turn. Outputs
// that must say which model made them (a DICOM Segmentation's algorithm
// identification, a batch job's uniqueness key) record it; renaming or
// copying a model folder keeps it, retraining changes it.
func ModelChecksum(fsys fs.FS) (string, error) {
	h := sha256.New()
	for _, name := range []string{PlansFile, SegmenterFile, LocatorFile} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("model checksum: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
