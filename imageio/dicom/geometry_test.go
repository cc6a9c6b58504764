package dicom

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// stack returns axial slices at the given z positions (mm).
func stack(z ...float64) []slice {
	var out []slice
	for i, p := range z {
		out = append(out, slice{
			name: fmt.Sprintf("s%d", i), rows: 4, cols: 5, ipp: [3]float64{-1, -2, p},
			iop: [6]float64{1, 0, 0, 0, 1, 0}, pixelSpacing: [2]float64{0.5, 0.25},
			hasIPP: true, hasIOP: true, hasSpacing: true, sliceThickness: 9,
		})
	}
	return out
}

// TestAssembleTolerances: rounding jitter in positions is accepted, real
// gaps, drift and duplicates are not.
func TestAssembleTolerances(t *testing.T) {
	var drift []float64 // steps of 0.6 then 0.65: each step plausible, the sum is not
	for k := 0; k < 40; k++ {
		if k < 20 {
			drift = append(drift, 0.6*float64(k))
		} else {
			drift = append(drift, 0.6*19+0.65*float64(k-19))
		}
	}
	tests := []struct {
		name string
		z    []float64
		step float64 // want, when no error
		err  string
	}{
		{"regular, shuffled", []float64{1.5, 0, 0.5, 1, 2}, 0.5, ""},
		{"0.1 mm rounding of 0.625 mm steps", []float64{0, 0.6, 1.3, 1.9, 2.5, 3.1, 3.8, 4.4}, 4.4 / 7, ""},
		{"single slice uses SliceThickness", []float64{3}, 9, ""},
		{"two missing", []float64{0, 0.5, 1, 2.5, 3}, 0, "2 slice(s) missing between s2 and s3"},
		{"uneven gap", []float64{0, 0.5, 1, 1.8, 2.3}, 0, "uneven slice spacing: 0.8 mm"},
		{"one step 20% long", []float64{0, 0.7, 1.4, 2.1, 2.94, 3.64, 4.34, 5.04}, 0, "uneven slice spacing: 0.84 mm"},
		{"drift", drift, 0, "off a regular grid"},
		{"duplicate", []float64{0, 0.5, 0.5, 1}, 0, "duplicate slice positions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := assemble(stack(tc.z...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.Dims != [3]int{5, 4, len(tc.z)} || g.Spacing[0] != 0.25 || g.Spacing[1] != 0.5 || math.Abs(g.Spacing[2]-tc.step) > 1e-9 {
				t.Errorf("dims %v spacing %v, want step %g", g.Dims, g.Spacing, tc.step)
			}
			lo := tc.z[0]
			for _, z := range tc.z {
				lo = math.Min(lo, z)
			}
			if g.Origin != [3]float64{-1, -2, lo} {
				t.Errorf("origin %v, want the lowest slice", g.Origin)
			}
		})
	}
}

func TestDropLocalizers(t *testing.T) {
	s := stack(0, 0.5, 1)
	scout := slice{name: "scout", localizer: true, rows: 9, cols: 9, hasIPP: true, hasIOP: true, iop: [6]float64{0, 1, 0, 0, 0, -1}}
	g, err := assemble(dropLocalizers(append(s, scout)))
	if err != nil || g.Dims[2] != 3 {
		t.Errorf("series with a localizer: %v, %v", g.Dims, err)
	}
	if got := dropLocalizers([]slice{scout}); len(got) != 1 {
		t.Errorf("a series of localizers only lost them: %d slices", len(got))
	}
}
