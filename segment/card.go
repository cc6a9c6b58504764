package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Checksum returns the SHA-256 of a file, hex encoded, for the model card.
func Checksum(path string) (string, error) {
	return checksumFS(os.DirFS(filepath.Dir(path)), filepath.Base(path))
}

func checksumFS(fsys fs.FS, name string) (string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyChecksums compares the weights files of a model folder against the
// checksums its card records ("sha256 <hex> <file>" lines).
func VerifyChecksums(fsys fs.FS) ([]string, error) {
	b, err := fs.ReadFile(fsys, CardFile)
	if err != nil {
		return nil, err
	}
	var report []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.Trim(line, "`- "))
		if len(f) != 3 || f[0] != "sha256" {
			continue
		}
		got, err := checksumFS(fsys, f[2])
		if err != nil {
			return report, err
		}
		if got != f[1] {
			return report, fmt.Errorf("%s: checksum %s does not match the card's %s", f[2], got, f[1])
		}
		report = append(report, f[2]+": sha256 ok")
	}
	if len(report) == 0 {
		return nil, fmt.Errorf("%s records no checksums", CardFile)
	}
	return report, nil
}
