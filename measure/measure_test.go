package measure

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/phantom"
	"github.com/otoseg/otoseg/volume"
)

// earPhantom generates a clean single-ear phantom (centre C's cone-beam
// field of view) and returns its labels and the ear's truth.
func earPhantom(t *testing.T, seed uint64, path, side string, spacing [3]float64) (*volume.Volume, phantom.Ear) {
	t.Helper()
	_, lab, meta, err := phantom.Generate(phantom.Config{Centre: phantom.Centres[2], Seed: seed, Pathology: path,
		Severity: 0.6, Side: side, Spacing: spacing, Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range meta.Ears {
		if e.InFOV {
			return lab, e
		}
	}
	t.Fatal("phantom has no ear in view")
	return nil, phantom.Ear{}
}

func angleDeg(a, b [3]float64) float64 {
	return math.Acos(math.Min(1, math.Abs(vec(a).dot(vec(b))))) * 180 / math.Pi
}

// TestMeasureAgainstPhantomTruth measures normal phantom ears of both
// sides at two spacings and compares with the generator's exact figures.
func TestMeasureAgainstPhantomTruth(t *testing.T) {
	cases := []struct {
		name    string
		seed    uint64
		side    string
		spacing [3]float64
	}{
		{"left 0.3 mm", 5, "left", [3]float64{0.3, 0.3, 0.3}},
		{"right 0.3x0.3x0.6 mm", 8, "right", [3]float64{0.3, 0.3, 0.6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lab, g := earPhantom(t, c.seed, "", c.side, c.spacing)
			rec, err := Measure(lab, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Ears) != 1 || rec.Ears[0].Side != c.side {
				t.Fatalf("ears %+v, want one %s ear", rec.Ears, c.side)
			}
			e := rec.Ears[0]
			if e.AValue == nil || e.Turns == nil || e.CDLLateralWall == nil || e.Height == nil {
				t.Fatalf("figures missing: %v", e.Warnings)
			}
			t.Logf("A %.2f/%.2f turns %.2f/%.2f height %.2f/%.2f CDL %.1f/%.1f", *e.AValue, g.AValue, *e.Turns, g.Turns, *e.Height, g.CochleaHeight, *e.CDLLateralWall, g.CDL)
			checks := []struct {
				what      string
				got, want float64
				tol       float64
			}{
				{"A value", *e.AValue, g.AValue, 0.3},
				{"turns", *e.Turns, g.Turns, 0.2},
				{"height", *e.Height, g.CochleaHeight, 0.4},
				{"CDL (fraction)", *e.CDLLateralWall / g.CDL, 1, 0.05},
				{"modiolar axis (deg)", angleDeg(e.Cochlea.Axis, g.Axis), 0, 3},
				{"modiolus (mm)", vec(e.Cochlea.ModiolusMM).sub(vec(g.Cochlea)).norm(), 0, 0.4},
			}
			for i, cn := range []*Canal{e.Canals.Anterior, e.Canals.Posterior, e.Canals.Lateral} {
				if cn == nil {
					t.Fatalf("canal %d not found: %v", i, e.Warnings)
				}
				checks = append(checks, struct {
					what      string
					got, want float64
					tol       float64
				}{"canal radius", cn.RadiusMM, g.CanalRadius[i], 0.3}, struct {
					what      string
					got, want float64
					tol       float64
				}{"canal plane (deg)", angleDeg(cn.Normal, g.CanalNormal[i]), 0, 10})
			}
			for _, ch := range checks {
				if math.Abs(ch.got-ch.want) > ch.tol {
					t.Errorf("%s: got %.3f, truth %.3f (tolerance %.2f)", ch.what, ch.got, ch.want, ch.tol)
				}
			}
			// volumes are the labelled voxels the generator counted
			mm3 := c.spacing[0] * c.spacing[1] * c.spacing[2]
			if got, want := e.VolumeMM3.Labyrinth, float64(g.LabelVoxels[0]+g.LabelVoxels[1]+g.LabelVoxels[2])*mm3; math.Abs(got-want) > 0.01 {
				t.Errorf("labyrinth volume %.2f, generator counted %.2f", got, want)
			}
			if len(e.Warnings) != 0 {
				t.Errorf("normal ear warned: %v", e.Warnings)
			}
		})
	}
}

// TestMeasureMalformedWarns checks that ears the figures do not apply to
// get warnings per figure, never numbers.
func TestMeasureMalformedWarns(t *testing.T) {
	cases := []struct {
		path     string
		missing  []string // figures that must be nil, each with a warning
		presentA bool
	}{
		{phantom.IncompletePartition1, []string{"a_value_mm", "turns", "cdl_lateral_wall_mm"}, false},
		{phantom.IncompletePartition2, []string{"turns", "cdl_lateral_wall_mm", "cdl_organ_of_corti_mm"}, false},
		{phantom.CochlearHypoplasia, []string{"turns", "cdl_lateral_wall_mm"}, true},
		{phantom.LabyrinthitisOssificans, []string{"a_value_mm", "turns", "cdl_lateral_wall_mm"}, false},
		{phantom.CanalAplasia, []string{"canals.lateral"}, true},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			lab, _ := earPhantom(t, 11, c.path, "left", [3]float64{0.3, 0.3, 0.3})
			rec, err := Measure(lab, Options{})
			if err != nil {
				t.Fatal(err)
			}
			e := rec.Ears[0]
			if (e.AValue != nil) != c.presentA {
				t.Errorf("A value present %v, want %v (warnings %v)", e.AValue != nil, c.presentA, e.Warnings)
			}
			if c.path == phantom.CanalAplasia && e.Canals.Lateral != nil {
				t.Errorf("lateral canal measured in an aplastic ear: %+v", e.Canals.Lateral)
			}
			for _, f := range c.missing {
				if f == "turns" && e.Turns != nil || f == "cdl_lateral_wall_mm" && e.CDLLateralWall != nil {
					t.Errorf("%s measured in a malformed ear", f)
				}
				found := false
				for _, w := range e.Warnings {
					found = found || strings.HasPrefix(w, f+": not measured")
				}
				if !found {
					t.Errorf("no warning for %s in %v", f, e.Warnings)
				}
			}
			if e.VolumeMM3.Labyrinth <= 0 {
				t.Error("volume not measured")
			}
		})
	}
}

// TestMeasureBadInput checks the messages for label maps that cannot be
// measured.
func TestMeasureBadInput(t *testing.T) {
	g := volume.NewGeometry([3]int{8, 8, 8}, [3]float64{0.5, 0.5, 0.5})
	empty := volume.New(g, volume.Uint8)
	badValue := volume.New(g, volume.Uint8)
	badValue.Set(2, 3, 4, 5)
	frac := volume.New(g, volume.Float32)
	frac.Set(1, 1, 1, 1.5)
	cases := []struct {
		name string
		v    *volume.Volume
		want string
	}{
		{"empty", empty, "no labelled voxel"},
		{"label 5", badValue, "voxel (2, 3, 4) holds 5"},
		{"fraction", frac, "holds 1.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Measure(c.v, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := Measure(empty, Options{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty map: %v, want ErrEmpty", err)
	}
}

// TestMeasureTinyEar checks that a speck of labels gives warnings and
// volumes, and a note that only one ear is present.
func TestMeasureTinyEar(t *testing.T) {
	g := volume.NewGeometry([3]int{8, 8, 8}, [3]float64{0.5, 0.5, 0.5})
	g.Origin = [3]float64{40, 0, 0}
	v := volume.New(g, volume.Uint8)
	v.Set(3, 3, 3, 1)
	v.Set(4, 3, 3, 2)
	rec, err := Measure(v, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Ears) != 1 || rec.Ears[0].Side != "left" || len(rec.Notes) != 1 {
		t.Fatalf("ears %+v notes %v", rec.Ears, rec.Notes)
	}
	e := rec.Ears[0]
	if e.AValue != nil || len(e.Warnings) < 6 {
		t.Errorf("A %v warnings %v", e.AValue, e.Warnings)
	}
	if e.VolumeMM3.Cochlea != 0.13 || e.VolumeMM3.Labyrinth != 0.25 {
		t.Errorf("volumes %+v", e.VolumeMM3)
	}
}

// TestDuctGates checks the gates on a traced lumen against cross-sections
// shaped like the phantom cohort's: a normal duct, an IP-I cyst at the
// round window, an IP-II cystic apex, a duct ossified from the round
// window, and a normal-shaped duct in a cochlea too small to count.
func TestDuctGates(t *testing.T) {
	// duct builds bins over turns whose area (points / radius) follows
	// area(φ); radius shrinks from 4 mm at the base to 0.8 at the apex.
	duct := func(turns float64, area func(phi float64) float64) *spiral {
		s := &spiral{phiEnd: turns * 2 * math.Pi}
		for i := 0; float64(i)*binW < s.phiEnd; i++ {
			phi := (float64(i) + 0.5) * binW
			r := 0.8 + 3.2*math.Exp(-phi/(2*math.Pi))
			n := int(area(phi) * r)
			s.bins = append(s.bins, bin{n: n, rSum: r * float64(n)})
		}
		return s
	}
	normal := func(phi float64) float64 { return 280 * math.Exp(-phi/(3*math.Pi)) }
	a := func(x float64) *float64 { return &x }
	cases := []struct {
		name           string
		s              *spiral
		a              *float64
		notDuct, count bool // want a reason from notADuct, from uncountable
	}{
		{"normal", duct(2.6, normal), a(9.2), false, false},
		{"ip1 cyst", duct(2, func(phi float64) float64 {
			if phi < math.Pi/2 {
				return 900
			}
			return 80
		}), a(9), true, false},
		{"ip2 cystic apex", duct(2.2, func(phi float64) float64 {
			if phi > 2.5*math.Pi {
				return 500
			}
			return normal(phi)
		}), a(9.4), false, true},
		{"ossified basal turn", duct(2.4, func(phi float64) float64 {
			if phi < 0.8*math.Pi {
				return 0
			}
			return normal(phi)
		}), a(9), true, false},
		{"hypoplasia", duct(2.6, normal), a(6.6), false, true},
		{"no A value", duct(2.6, normal), nil, false, false},
		{"more turns than a human cochlea", duct(3.5, normal), a(9.2), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if why := c.s.notADuct(); (why != "") != c.notDuct {
				t.Errorf("notADuct = %q, want a reason: %v", why, c.notDuct)
			}
			if why := c.s.uncountable(c.a); (why != "") != c.count {
				t.Errorf("uncountable = %q, want a reason: %v", why, c.count)
			}
		})
	}
}
