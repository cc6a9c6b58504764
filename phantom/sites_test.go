package phantom

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The built-in centres, written as JSON, read back unchanged: the format
// a user edits is the one otoseg writes.
func TestParseSitesRoundTrip(t *testing.T) {
	data, err := json.Marshal(Centres)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSites(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Centres) {
		t.Errorf("round trip changed the centres:\n got %+v\nwant %+v", got, Centres)
	}
	// A case's drawn scanner is also a valid site.
	for seed := uint64(0); seed < 50; seed++ {
		for _, c := range Centres {
			if err := c.Varied(seed).Validate(); err != nil {
				t.Fatalf("varied %s (seed %d): %v", c.Name, seed, err)
			}
		}
	}
}

func TestParseSitesErrors(t *testing.T) {
	e, _ := CentreByName("E")
	sites := func(n int, edit func(m map[string]any)) string {
		var list []any
		for range n {
			b, _ := json.Marshal(e)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			edit(m)
			list = append(list, m)
		}
		out, _ := json.Marshal(list)
		return string(out)
	}
	site := func(edit func(m map[string]any)) string { return sites(1, edit) }
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not json", "psf: 1", "invalid character"},
		{"object, not array", `{"name":"X"}`, "cannot unmarshal"},
		{"empty", `[]`, "no centres"},
		{"trailing", site(func(map[string]any) {}) + ` []`, "trailing data"},
		{"misspelt field", site(func(m map[string]any) { m["psf_sigma"] = []float64{1, 1} }), `unknown field "psf_sigma"`},
		{"no name", site(func(m map[string]any) { m["name"] = "" }), "has no name"},
		{"name with a slash", site(func(m map[string]any) { m["name"] = "E/2" }), "without commas, slashes or spaces"},
		{"twice", sites(2, func(map[string]any) {}), "given twice"},
		{"no spacing", site(func(m map[string]any) { m["slice_mm"] = []float64{} }), "no spacing"},
		{"negative psf", site(func(m map[string]any) { m["psf_sigma_mm"] = []float64{-1, 0.5} }), "point-spread sigma"},
		{"huge noise", site(func(m map[string]any) { m["noise_hu"] = 1e6 }), "noise (HU)"},
		{"zero gain", site(func(m map[string]any) { m["gain"] = 0 }), "gain"},
		{"huge extent", site(func(m map[string]any) { m["extent_mm"] = []float64{1e9, 100, 50} }), "beyond 600 mm"},
		{"too many voxels", site(func(m map[string]any) {
			m["extent_mm"] = []float64{600, 600, 600}
			m["in_plane_mm"] = []float64{0.1}
		}), "voxels per scan"},
		{"unknown fov", site(func(m map[string]any) { m["fov"] = "chest" }), "unknown FOV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSites([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseSites(%s) = %v, want an error containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestReadSitesNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scanners.json")
	if err := os.WriteFile(path, []byte(`[{"name": "X"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadSites(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no spacing") {
		t.Errorf("ReadSites = %v, want the file's name and the problem", err)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, make([]byte, maxSitesBytes+10), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSites(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadSites(big) = %v, want a size error", err)
	}
}

// Whatever the bytes, ParseSites returns centres that pass Validate or an
// error; it never panics.
func FuzzParseSites(f *testing.F) {
	data, _ := json.Marshal(Centres)
	f.Add(data)
	f.Add([]byte(`[{"name":"X","fov":"ear","extent_mm":[40,40,30],"in_plane_mm":[0.3],"slice_mm":[0.3],"gain":1}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sites, err := ParseSites(data)
		if err != nil {
			return
		}
		for _, c := range sites {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid centre: %v", err)
			}
		}
	})
}
