package phantom

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// TestLabelVolumeMatchesFineGrid checks that the label means the same
// thing at every spacing: a voxel is labyrinth when at least half of it is
// lumen, so the labelled volume of one ear at each built-in centre's voxel
// size agrees with the same ear rendered on a 0.1 mm grid (the lumen's
// volume to well under 1%) within 2%.
func TestLabelVolumeMatchesFineGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("renders a 0.1 mm grid")
	}
	const seed = 21
	labVol := func(sp [3]float64) float64 {
		c, _ := CentreByName("C")
		_, lab, _, err := Generate(Config{Centre: c, Seed: seed, Side: "left", FOV: FOVEar,
			Extent: [3]float64{22, 22, 18}, Spacing: sp, Clean: true})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range lab.Data {
			if v > 0 {
				n++
			}
		}
		return float64(n) * sp[0] * sp[1] * sp[2]
	}
	fine := labVol([3]float64{0.1, 0.1, 0.1})
	for _, c := range Centres {
		for _, ip := range c.InPlane {
			for _, sl := range c.Slice {
				sp := [3]float64{ip, ip, sl}
				t.Run(fmt.Sprintf("%s_%gx%g", c.Name, ip, sl), func(t *testing.T) {
					v := labVol(sp)
					rel := (v - fine) / fine
					t.Logf("%v mm: %.1f mm³, 0.1 mm grid %.1f mm³ (%+.2f%%)", sp, v, fine, 100*rel)
					if math.Abs(rel) > 0.02 {
						t.Errorf("%v mm: labelled volume %.1f mm³ is %+.1f%% off the 0.1 mm grid's %.1f mm³", sp, v, 100*rel, fine)
					}
				})
			}
		}
	}
}

// TestPopulationMatchesMorphometry draws 40 subjects' left ears and checks
// the population on the label maps and sidecars against the published
// adult figures in docs/phantom.md: labelled labyrinth volume mean in
// 170-205 mm³ with SD >= 15 mm³ (73 clinical-CT surface models: 187 ± 24),
// and every drawn parameter inside its published range.
func TestPopulationMatchesMorphometry(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 40 ears")
	}
	const n = 40
	sp := 0.3
	c, _ := CentreByName("C")
	var vols []float64
	var ext [3][]float64
	stats := map[string][]float64{}
	order := []string{}
	note := func(k string, v float64) {
		if _, ok := stats[k]; !ok {
			order = append(order, k)
		}
		stats[k] = append(stats[k], v)
	}
	for i := 0; i < n; i++ {
		seed := uint64(5000 + i)
		_, lab, m, err := Generate(Config{Centre: c, Seed: seed, Side: "left", FOV: FOVEar,
			Extent: [3]float64{26, 26, 22}, Spacing: [3]float64{sp, sp, sp}, Clean: true})
		if err != nil {
			t.Fatal(err)
		}
		e := m.Ears[0]
		vols = append(vols, e.Volume)
		vox := sp * sp * sp
		note("labyrinth volume (mm³)", e.Volume)
		note("cochlea volume (mm³)", float64(e.LabelVoxels[0])*vox)
		note("vestibule volume (mm³)", float64(e.LabelVoxels[1])*vox)
		note("canals volume (mm³)", float64(e.LabelVoxels[2])*vox)
		note("size factor", e.Size)
		note("A value (mm)", e.AValue)
		note("turns", e.Turns)
		note("cochlear height (mm)", e.CochleaHeight)
		note("lateral-wall duct length (mm)", e.CDL)
		note("vestibule width x length x height (mm): width", 2*e.Vestibule3[0])
		note("vestibule length", 2*e.Vestibule3[1])
		note("vestibule height", 2*e.Vestibule3[2])
		for c, name := range []string{"anterior", "posterior", "lateral"} {
			note(name+" canal radius (mm)", e.CanalRadius[c])
			note(name+" canal flatness", e.CanalFlatness[c])
			note(name+" canal twist |mm|", math.Abs(e.CanalTwist[c]))
		}
		note("canal lumen diameter (mm)", 2*e.CanalLumen)
		angle := func(a, b int) float64 {
			// the acute angle between the planes: published oriented
			// angles such as 94° read 86° here. The phantom's planes, fixed
			// by their attachment points, meet at 65-84° (a known
			// deviation, docs/phantom.md); the bound guards against worse.
			d := math.Abs(vec3(e.CanalNormal[a]).dot(vec3(e.CanalNormal[b])))
			return math.Acos(math.Min(1, d)) * 180 / math.Pi
		}
		for _, pr := range []struct {
			name string
			a, b int
			lo   float64
			hi   float64
		}{{"angle anterior-posterior (deg)", Anterior, Posterior, 60, 90}, {"angle anterior-lateral (deg)", Anterior, Lateral, 60, 90}, {"angle posterior-lateral (deg)", Posterior, Lateral, 60, 90}} {
			a := angle(pr.a, pr.b)
			note(pr.name, a)
			if a < pr.lo || a > pr.hi {
				t.Errorf("seed %d: %s %.1f outside %.0f-%.0f", seed, pr.name, a, pr.lo, pr.hi)
			}
		}
		for _, r := range []struct {
			what      string
			v, lo, hi float64
		}{
			{"A value (mm)", e.AValue, 7.9, 10.8},
			{"turns", e.Turns, 2.0, 3.1},
			{"lateral-wall duct length (mm)", e.CDL, 29, 46},
			{"anterior canal radius (mm)", e.CanalRadius[Anterior], 2.6, 4.3},
			{"posterior canal radius (mm)", e.CanalRadius[Posterior], 2.6, 4.3},
			{"lateral canal radius (mm)", e.CanalRadius[Lateral], 2.0, 3.5},
			{"canal lumen diameter (mm)", 2 * e.CanalLumen, 0.8, 1.6},
			{"vestibule width (mm)", 2 * e.Vestibule3[0], 1.8, 3.6},
			{"vestibule length (mm)", 2 * e.Vestibule3[1], 5.0, 7.8},
		} {
			if !(r.v >= r.lo && r.v <= r.hi) {
				t.Errorf("seed %d: %s %.2f outside the published %.1f-%.1f", seed, r.what, r.v, r.lo, r.hi)
			}
		}
		lo, hi := [3]float64{1e9, 1e9, 1e9}, [3]float64{-1e9, -1e9, -1e9}
		for k := 0; k < lab.Dims[2]; k++ {
			for j := 0; j < lab.Dims[1]; j++ {
				for i := 0; i < lab.Dims[0]; i++ {
					if lab.At(i, j, k) == 0 {
						continue
					}
					w := lab.World(float64(i), float64(j), float64(k))
					for a := 0; a < 3; a++ {
						lo[a], hi[a] = math.Min(lo[a], w[a]), math.Max(hi[a], w[a])
					}
				}
			}
		}
		for a := 0; a < 3; a++ {
			ext[a] = append(ext[a], hi[a]-lo[a]+sp)
		}
	}
	for _, k := range order {
		m, s := meanSD(stats[k])
		t.Logf("| %s | %.2f ± %.2f | %.2f-%.2f |", k, m, s, slices.Min(stats[k]), slices.Max(stats[k]))
	}
	mu, sd := meanSD(vols)
	t.Logf("labelled labyrinth volume over %d ears: %.1f ± %.1f mm³ (min %.1f, max %.1f)", n, mu, sd, slices.Min(vols), slices.Max(vols))
	for a := 0; a < 3; a++ {
		m, s := meanSD(ext[a])
		t.Logf("extent along world axis %d: %.1f ± %.1f mm", a, m, s)
	}
	if mu < 170 || mu > 205 || sd < 15 {
		t.Errorf("labyrinth volume %.1f ± %.1f mm³, want mean 170-205 and SD >= 15 (adults: 187 ± 24)", mu, sd)
	}
}

func meanSD(x []float64) (float64, float64) {
	var s, s2 float64
	for _, v := range x {
		s += v
		s2 += v * v
	}
	n := float64(len(x))
	mu := s / n
	return mu, math.Sqrt(math.Max(0, s2/n-mu*mu) * n / (n - 1))
}
