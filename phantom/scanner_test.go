package phantom

import (
	"math"
	"reflect"
	"testing"
)

// TestVaried draws many scanners around every centre and checks that each
// stays within the documented ranges, keeps the centre's identity and
// geometry, is the same for the same seed, and that the draws cover the
// ranges rather than sitting at one value.
func TestVaried(t *testing.T) {
	for _, c := range Centres {
		minK, maxK := math.Inf(1), math.Inf(-1)
		for seed := uint64(1); seed <= 400; seed++ {
			v := c.Varied(seed)
			if !reflect.DeepEqual(v, c.Varied(seed)) {
				t.Fatalf("%s seed %d: two draws differ", c.Name, seed)
			}
			if v.Name != c.Name || v.FOV != c.FOV || v.Extent != c.Extent || v.Matrix != c.Matrix || v.External != c.External {
				t.Fatalf("%s: identity or FOV changed: %+v", c.Name, v)
			}
			if !reflect.DeepEqual(v.InPlane, c.InPlane) || !reflect.DeepEqual(v.Slice, c.Slice) {
				t.Fatalf("%s: spacings changed", c.Name)
			}
			k := v.PSF[0] / c.PSF[0]
			if r := v.PSF[1] / c.PSF[1]; math.Abs(r-k) > 1e-12 {
				t.Errorf("%s: in-plane and through-plane PSF scaled by %g and %g", c.Name, k, r)
			}
			minK, maxK = math.Min(minK, k), math.Max(maxK, k)
			for _, chk := range []struct {
				name        string
				got, lo, hi float64
			}{
				{"psf", k, 0.75, 2},
				{"noise", v.Noise / c.Noise, 0.6, 1.6},
				{"noise grain", v.NoiseCorr / c.NoiseCorr, 0.7, 1.6},
				{"gain", v.Gain / c.Gain, 0.94, 1.06},
				{"offset", v.Offset - c.Offset, -40, 40},
				{"rotation", v.Rotation / c.Rotation, 1, 2},
			} {
				if !(chk.got >= chk.lo-1e-12 && chk.got <= chk.hi+1e-12) {
					t.Errorf("%s seed %d: %s factor %g outside [%g, %g]", c.Name, seed, chk.name, chk.got, chk.lo, chk.hi)
				}
			}
			if err := v.Validate(); err != nil {
				t.Errorf("%s seed %d: %v", c.Name, seed, err)
			}
		}
		if minK > 0.8 || maxK < 1.8 {
			t.Errorf("%s: PSF factors span only [%.2f, %.2f] in 400 draws", c.Name, minK, maxK)
		}
	}
	// The copy must not share the spacing slices with the built-in table.
	v := Centres[0].Varied(1)
	v.InPlane[0] = 99
	if Centres[0].InPlane[0] == 99 {
		t.Fatal("Varied aliases the centre's spacings")
	}
}

// TestPlanVaryScanner checks that only VaryScanner changes the protocols a
// cohort plan uses, and that the cases' seeds and pathologies stay put.
func TestPlanVaryScanner(t *testing.T) {
	plain, err := Plan(CohortOptions{Cases: 10, Seed: 5, Pathological: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	varied, err := Plan(CohortOptions{Cases: 10, Seed: 5, Pathological: 0.3, VaryScanner: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain {
		p, v := plain[i], varied[i]
		if !reflect.DeepEqual(p.Centre, Centres[i%len(Centres)]) {
			t.Errorf("%s: plain plan changed the centre's protocol", p.ID)
		}
		if p.ID != v.ID || p.Seed != v.Seed || p.Pathology != v.Pathology || p.Split != v.Split {
			t.Errorf("case %d: varied plan %+v differs beyond the scanner from %+v", i, v, p)
		}
		if reflect.DeepEqual(p.Centre, v.Centre) {
			t.Errorf("%s: scanner not varied", v.ID)
		}
		if !reflect.DeepEqual(v.Centre, p.Centre.Varied(p.Seed)) {
			t.Errorf("%s: varied scanner is not the case seed's draw", v.ID)
		}
	}
}
