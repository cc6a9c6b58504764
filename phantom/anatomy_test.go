package phantom

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/otoseg/otoseg/ear"

	"github.com/otoseg/otoseg/volume"
)

// fineEar renders one left ear on a fine clean grid, for geometry tests.
func fineEar(t *testing.T, seed uint64, path string, sev float64, sp float64) (*volume.Volume, *volume.Volume, Meta) {
	t.Helper()
	c, _ := CentreByName("C")
	img, lab, m, err := Generate(Config{Centre: c, Seed: seed, Pathology: path, Severity: sev, Side: "left",
		FOV: FOVEar, Extent: [3]float64{24, 24, 20}, Spacing: [3]float64{sp, sp, sp}, Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	return img, lab, m
}

// TestNormalAnatomy measures normal ears on their label maps: labyrinth
// volume, A value, turns, canal radii within the reference ranges
// (docs/../reference: A 8.75 ± 0.31 mm, 2.57 ± 0.28 turns, canal radii
// ~3.2 / 3.2 / 2.5 mm), and each canal a closed loop joined to the
// vestibule.
func TestNormalAnatomy(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			normalAnatomy(t, seed)
		})
	}
}

func normalAnatomy(t *testing.T, seed uint64) {
	{
		_, lab, m := fineEar(t, seed, Normal, 0, 0.15)
		e := m.Ears[0]
		if e.Side != "left" || !e.InFOV {
			t.Fatalf("seed %d: ear %+v", seed, e)
		}
		vox := lab.Spacing[0] * lab.Spacing[1] * lab.Spacing[2]
		var n [4]int
		for _, v := range lab.Data {
			n[int(v)]++
		}
		vol := float64(n[1]+n[2]+n[3]) * vox
		// reference: total bony labyrinth ~150-200 mm^3 (unverified); the
		// phantom's lumen without aqueducts sits at the low end
		if vol < 120 || vol > 220 {
			t.Errorf("seed %d: labyrinth volume %.1f mm^3, want 120..220", seed, vol)
		}
		for l := 1; l <= 3; l++ {
			if n[l] == 0 {
				t.Fatalf("seed %d: label %d missing", seed, l)
			}
		}
		// A value: largest diameter of the cochlea seen along the modiolus
		a := feret(points(lab, int(ear.Cochlea)), e.Axis) + lab.Spacing[0]
		if a < 7.8 || a > 11 {
			t.Errorf("seed %d: A value on the label %.2f mm, want 7.8..9.9 (8.75 ± 3 SD)", seed, a)
		}
		if math.Abs(a-e.AValue) > 0.6 {
			t.Errorf("seed %d: A value on the label %.2f, sidecar says %.2f", seed, a, e.AValue)
		}
		turns := turnsFromLabel(lab, vec3(e.Cochlea).sub(vec3(e.Axis).scale(e.CochleaHeight/2)), e.Axis)
		// the rounded apical end and the hook add a little to the mean
		// crossing count, so the label count runs ~0.15 above the number
		// of turns of the duct's centre line
		if turns < 2.0 || turns > 3.4 || math.Abs(turns-0.15-e.Turns) > 0.35 {
			t.Errorf("seed %d: %.2f turns on the label, sidecar %.2f, want 2.57 ± 0.6 (+0.15)", seed, turns, e.Turns)
		}
		for c, want := range [3][2]float64{{2.6, 4.3}, {2.6, 4.3}, {2.0, 3.5}} {
			r, np := canalRadius(lab, e.CanalCentre[c], e.CanalNormal[c], e.CanalRadius[c])
			if np < 30 || r < want[0] || r > want[1] || math.Abs(r-e.CanalRadius[c]) > 0.3 {
				t.Errorf("seed %d canal %d: radius %.2f mm from %d voxels, sidecar %.2f, want %.1f..%.1f", seed, c, r, np, e.CanalRadius[c], want[0], want[1])
			}
		}
		if !(e.CanalRadius[Lateral] < 0.9*e.CanalRadius[Anterior] && e.CanalRadius[Lateral] < 0.9*e.CanalRadius[Posterior]) {
			t.Errorf("seed %d: lateral canal radius %.2f not ~20%% below %.2f / %.2f", seed, e.CanalRadius[Lateral], e.CanalRadius[Anterior], e.CanalRadius[Posterior])
		}
		// vestibule + canals: one piece with three handles, no cavity
		comps, cav, tun, chi := topology(mask(lab, int(ear.Vestibule), int(ear.Canals)), lab.Dims)
		if comps != 1 || cav != 0 || tun != 3 {
			t.Errorf("seed %d: vestibule+canals have %d components, %d cavities, %d tunnels (χ=%d), want 1, 0, 3", seed, comps, cav, tun, chi)
		}
		// the whole labyrinth is one connected piece; the cochlea alone too
		if c := countComponents(mask(lab, 1, 2, 3), lab.Dims, true); c != 1 {
			t.Errorf("seed %d: labyrinth in %d pieces", seed, c)
		}
		if c := countComponents(mask(lab, int(ear.Cochlea)), lab.Dims, true); c != 1 {
			t.Errorf("seed %d: cochlea in %d pieces", seed, c)
		}
		t.Logf("seed %d: volume %.1f mm^3 (cochlea %.1f, vestibule %.1f, canals %.1f), A %.2f (sidecar %.2f), turns %.2f (%.2f), CDL %.1f mm, height %.2f",
			seed, vol, float64(n[1])*vox, float64(n[2])*vox, float64(n[3])*vox, a, e.AValue, turns, e.Turns, e.CDL, e.CochleaHeight)
	}
}

// TestCochlearTurnsSeparate checks over many subjects, normal and
// hypoplastic, that successive turns of the duct never touch: a bony septum
// of at least 0.1 mm stays between their elliptic cross-sections.
func TestCochlearTurnsSeparate(t *testing.T) {
	for seed := uint64(0); seed < 80; seed++ {
		for _, sev := range []float64{0, 0.3, 1} {
			e := sampleEar(seedStream(seed, 1), AnatomyNormal)
			if sev > 0 {
				applyShape(&e, CochlearHypoplasia, sev)
			}
			tmax := 2 * math.Pi * e.turns
			for th := 0.0; th+2*math.Pi < tmax; th += 0.05 {
				t2 := th + 2*math.Pi
				// boundary of the outer section at t2 against the section at th,
				// in the (radial, axial) plane
				for a := 0.0; a < 2*math.Pi; a += math.Pi / 45 {
					x := e.rad(t2) + e.ra(t2)*math.Cos(a) - e.rad(th)
					y := e.rise + e.rz(t2)*math.Sin(a)
					if g := ellipse2(x, y, e.ra(th), e.rz(th)); g < 0.1 {
						t.Fatalf("seed %d severity %g: turns at θ=%.2f and θ+2π are %.3f mm apart", seed, sev, th, g)
					}
				}
			}
		}
	}
}

// TestLumenInDenseBone checks on a clinical-resolution scan that labels sit
// in low-HU lumen surrounded by dense bone.
func TestLumenInDenseBone(t *testing.T) {
	for _, c := range []string{"A", "C"} {
		cen, _ := CentreByName(c)
		ext := cen.Extent
		if cen.FOV != FOVEar {
			ext = [3]float64{40, 40, 24} // keep the test small: one ear
		}
		img, lab, m, err := Generate(Config{Centre: cen, Seed: 11, Side: "left", FOV: FOVEar, Extent: ext})
		if err != nil {
			t.Fatal(err)
		}
		var in, ring []float64
		d := lab.Dims
		for k := 0; k < d[2]; k++ {
			for j := 0; j < d[1]; j++ {
				for i := 0; i < d[0]; i++ {
					idx := lab.Index(i, j, k)
					if lab.Data[idx] > 0 {
						in = append(in, float64(img.Data[idx]))
						continue
					}
					// ring: unlabelled voxels 2 voxels from a label in-plane
					near := false
					for _, o := range [][2]int{{2, 0}, {-2, 0}, {0, 2}, {0, -2}} {
						ii, jj := i+o[0], j+o[1]
						if ii >= 0 && jj >= 0 && ii < d[0] && jj < d[1] && lab.At(ii, jj, k) > 0 {
							near = true
						}
					}
					if near {
						ring = append(ring, float64(img.Data[idx]))
					}
				}
			}
		}
		mi, mr := median(in), median(ring)
		if mi > 700 || mr < 1300 || mr-mi < 900 {
			t.Errorf("centre %s: median HU in label %.0f, in the ring around it %.0f; want lumen < 700 inside bone > 1300", c, mi, mr)
		}
		t.Logf("centre %s (%v mm): median HU label %.0f, ring %.0f, volume %.1f", c, m.Spacing, mi, mr, m.Ears[0].Volume)
	}
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := append([]float64{}, x...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// TestAmpullaeSeparate checks over many subjects that the anterior and
// lateral ampullae, which sit side by side, keep bone between them (else
// the label would gain a false loop).
func TestAmpullaeSeparate(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		e := sampleEar(seedStream(seed, 1), AnatomyNormal)
		cg := e.canals()
		gap := cg[Anterior].at(0.07).sub(cg[Lateral].at(0.07)).norm() - 2*e.ampulla*1.35
		// spheres enclosing the elongated ampullae do not overlap
		if gap < 0 {
			t.Errorf("seed %d: ampullae %.2f mm apart (elongated bound)", seed, gap)
		}
	}
}

// TestShiftedAnatomy checks that --anatomy shifted draws from outside the
// training population: every shifted ear is larger or smaller than any
// normal ear (normal sizes are cut at ±2.5 SD, shifted ones start at 2.6),
// and most carry shape shifts (flattened
// canals, unusual turns, extreme calibres or vestibules, stronger bending)
// that normal ears never show together.
func TestShiftedAnatomy(t *testing.T) {
	const n = 300
	lo, hi := math.Inf(1), math.Inf(-1)
	var sizes []float64
	for seed := uint64(0); seed < n; seed++ {
		e := sampleEar(seedStream(seed, 1), AnatomyNormal)
		sizes = append(sizes, e.size)
		lo, hi = math.Min(lo, e.size), math.Max(hi, e.size)
		for c := range e.canalK {
			if e.canalK[c] < 0.9 {
				t.Fatalf("normal seed %d: canal %d flattened to %.2f", seed, c, e.canalK[c])
			}
		}
	}
	sort.Float64s(sizes)
	p2, p98 := sizes[n*2/100], sizes[n*98/100]
	shifted := 0
	for seed := uint64(0); seed < n; seed++ {
		e := sampleEar(seedStream(seed, 1), AnatomyShifted)
		if e.size >= lo && e.size <= hi {
			t.Errorf("shifted seed %d: size %.3f inside the normal range %.3f-%.3f", seed, e.size, lo, hi)
		}
		odd := 0
		if min(e.canalK[0], e.canalK[1], e.canalK[2]) < 0.85 {
			odd++
		}
		if e.turns < 2.2 || e.turns > 3.0 {
			odd++
		}
		if e.canalLumen < 0.5 || e.canalLumen > 0.7 {
			odd++
		}
		if odd > 0 {
			shifted++
		}
	}
	if shifted < n/2 {
		t.Errorf("only %d of %d shifted ears have flattened canals, unusual turns or extreme calibres", shifted, n)
	}
	t.Logf("normal sizes %.3f-%.3f (2-98%%: %.3f-%.3f); %d/%d shifted ears with a shape shift beyond size", lo, hi, p2, p98, shifted, n)
	if err := ValidAnatomy("weird"); err == nil {
		t.Error("ValidAnatomy accepted an unknown anatomy")
	}
	if _, _, _, err := Generate(Config{Seed: 1, Anatomy: "weird"}); err == nil {
		t.Error("Generate accepted an unknown anatomy")
	}
}

// TestShiftedAnatomyRenders checks that shifted labyrinths still make sound
// label maps: one piece, vestibule and canals with three loops, sidecar
// recording the anatomy.
func TestShiftedAnatomyRenders(t *testing.T) {
	if testing.Short() {
		t.Skip("renders at 0.2 mm")
	}
	c, _ := CentreByName("C")
	for _, seed := range []uint64{3, 4, 5, 6} {
		_, lab, m, err := Generate(Config{Centre: c, Seed: seed, Side: "left", FOV: FOVEar, Anatomy: AnatomyShifted,
			Extent: [3]float64{26, 26, 22}, Spacing: [3]float64{0.2, 0.2, 0.2}, Clean: true})
		if err != nil {
			t.Fatal(err)
		}
		if m.Anatomy != AnatomyShifted {
			t.Errorf("seed %d: sidecar anatomy %q", seed, m.Anatomy)
		}
		if c := countComponents(mask(lab, 1, 2, 3), lab.Dims, true); c != 1 {
			t.Errorf("seed %d: labyrinth in %d pieces", seed, c)
		}
		comps, cav, tun, _ := topology(mask(lab, int(ear.Vestibule), int(ear.Canals)), lab.Dims)
		if comps != 1 || cav != 0 || tun != 3 {
			t.Errorf("seed %d: vestibule+canals %d components, %d cavities, %d tunnels, want 1, 0, 3", seed, comps, cav, tun)
		}
		t.Logf("seed %d: size %.3f, volume %.1f mm³, A %.2f, turns %.2f, flatness %v", seed, m.Ears[0].Size, m.Ears[0].Volume, m.Ears[0].AValue, m.Ears[0].Turns, m.Ears[0].CanalFlatness)
	}
}
