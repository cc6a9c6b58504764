package main

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestInfoDICOMSeries runs `otoseg info --json` on a DICOM folder holding two
// series, with and without --series: the series read, the list of series
// and the RAS geometry pydicom gives (testdata/expected of imageio/dicom).
func TestInfoDICOMSeries(t *testing.T) {
	dir := filepath.Join("..", "..", "imageio", "dicom", "testdata", "axial")
	tests := []struct {
		series    string
		wantUID   string
		dims      [3]int
		originRAS [3]float64
		min, max  float64
	}{
		{"", "1.2.826.0.1.3680043.8.498.77.1", [3]int{16, 12, 8}, [3]float64{3.2, 2.75, 10}, -1024, 3071},
		{"1.2.826.0.1.3680043.8.498.77.2", "1.2.826.0.1.3680043.8.498.77.2", [3]int{8, 6, 3}, [3]float64{-20, 30, 5}, -16394.25, 16373.25},
		{"2", "1.2.826.0.1.3680043.8.498.77.2", [3]int{8, 6, 3}, [3]float64{-20, 30, 5}, -16394.25, 16373.25}, // by series number
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := runInfo(&buf, dir, infoOptions{JSON: true, Series: tc.series}); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Dims        [3]int     `json:"dims"`
			Origin      [3]float64 `json:"origin"`
			Min         float64    `json:"min"`
			Max         float64    `json:"max"`
			Series      string     `json:"series"`
			DICOMSeries []struct {
				UID    string `json:"uid"`
				Slices int    `json:"slices"`
			} `json:"dicom_series"`
		}
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Series != tc.wantUID || got.Dims != tc.dims || got.Min != tc.min || got.Max != tc.max {
			t.Errorf("series %q: got %+v", tc.series, got)
		}
		for a := range 3 {
			if math.Abs(got.Origin[a]-tc.originRAS[a]) > 1e-9 {
				t.Errorf("origin %v, want RAS %v", got.Origin, tc.originRAS)
			}
		}
		if len(got.DICOMSeries) != 2 || got.DICOMSeries[0].Slices != 8 || got.DICOMSeries[1].Slices != 3 {
			t.Errorf("dicom_series = %+v", got.DICOMSeries)
		}
	}
	var buf bytes.Buffer
	if err := runInfo(&buf, dir, infoOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`series     * 1.2.826.0.1.3680043.8.498.77.1 (#1 CT "axial bone", sharp kernel, 16x12x8)`,
		`read       * series #1 "axial bone": CT, sharp kernel (from the description)`, `#2 "scout" (only 3 slices)`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
	if err := runInfo(&buf, dir, infoOptions{MaxMemory: "lots"}); err == nil || !strings.Contains(err.Error(), "--max-memory") {
		t.Errorf("--max-memory lots: %v, want a usage error", err)
	}
}
