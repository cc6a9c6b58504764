package phantom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxSitesBytes caps a sites file: a few hundred centres fit in far less.
const maxSitesBytes = 1 << 20

// ParseSites reads custom centre profiles: a JSON array of objects with the
// fields of Centre (the same as the "centre" record of every case's meta
// JSON, so a case's drawn scanner can be copied out and reused). Unknown
// fields are errors, because a misspelt "psf_sigma_mm" would otherwise
// leave a sharp kernel where a smooth one was meant. Each profile is
// validated.
func ParseSites(data []byte) ([]Centre, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var sites []Centre
	if err := dec.Decode(&sites); err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("sites: trailing data after the array")
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("sites: no centres")
	}
	if err := checkSites(sites); err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	return sites, nil
}

// checkSites reports a custom centre that cannot go into a cohort: no
// name, a name that cannot be part of a case ID and file name, a name given
// twice, or a scanner that fails Validate. ParseSites and Plan share it.
func checkSites(sites []Centre) error {
	seen := map[string]bool{}
	for i, c := range sites {
		switch {
		case c.Name == "":
			return fmt.Errorf("centre %d has no name", i+1)
		case strings.ContainsAny(c.Name, ",/\\ "):
			return fmt.Errorf("centre name %q: want a name without commas, slashes or spaces", c.Name)
		case seen[c.Name]:
			return fmt.Errorf("centre %s given twice", c.Name)
		}
		seen[c.Name] = true
		if err := c.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ReadSites reads a sites file (see ParseSites); errors name the file.
func ReadSites(path string) ([]Centre, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSitesBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxSitesBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a sites file", path, maxSitesBytes)
	}
	sites, err := ParseSites(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sites, nil
}
