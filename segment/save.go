package segment

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// Save writes the model folder dir, the one writer of the format LoadModel
// reads: plans.json, the two weights files (each with its metadata: Meta
// for the segmenter, LocatorMeta for the localiser) and MODEL_CARD.md, which
// is card followed by a "Checksums" section with the SHA-256 of the three
// files just written (VerifyChecksums checks them). Each file is written
// atomically.
func (m *Model) Save(dir, card string) error {
	if m.Plan == nil || m.Seg == nil || m.Locator == nil {
		return fmt.Errorf("model %s: plan or network missing", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model %s: %w", dir, err)
	}
	if err := m.Plan.Save(filepath.Join(dir, PlansFile)); err != nil {
		return err
	}
	if err := m.Locator.Save(filepath.Join(dir, LocatorFile), m.LocatorMeta); err != nil {
		return err
	}
	if err := m.Seg.Save(filepath.Join(dir, SegmenterFile), m.Meta); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(card)
	b.WriteString("## Checksums\n\n")
	for _, f := range []string{PlansFile, LocatorFile, SegmenterFile} {
		sum, err := Checksum(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "- `sha256 %s %s`\n", sum, f)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, CardFile), []byte(b.String())); err != nil {
		return fmt.Errorf("model card: %w", err)
	}
	m.Dir = dir
	return nil
}
