package phantom

import (
	"math"
	"testing"

	"github.com/otoseg/otoseg/ear"

	"github.com/otoseg/otoseg/volume"
)

func labelCounts(lab *volume.Volume) [4]int {
	var n [4]int
	for _, v := range lab.Data {
		if v >= 0 && v < 4 {
			n[int(v)]++
		}
	}
	return n
}

// lowHU counts voxels below hu within r mm of world point c.
func lowHU(img *volume.Volume, c [3]float64, r, hu float64) int {
	n := 0
	for k := 0; k < img.Dims[2]; k++ {
		for j := 0; j < img.Dims[1]; j++ {
			for i := 0; i < img.Dims[0]; i++ {
				if float64(img.At(i, j, k)) < hu && vec3(img.World(float64(i), float64(j), float64(k))).sub(c).norm() < r {
					n++
				}
			}
		}
	}
	return n
}

// TestPathologies checks that each pathology changes what it should, on
// the same subject (seed) as a normal ear, and records itself.
func TestPathologies(t *testing.T) {
	const seed, sp = 21, 0.2
	nImg, nLab, nMeta := fineEar(t, seed, Normal, 0, sp)
	nc := labelCounts(nLab)
	ne := nMeta.Ears[0]
	vox := sp * sp * sp
	_, _, nTun, _ := topologyOf(nLab)
	if nTun != 3 {
		c, cv, tn, chi := topologyOf(nLab)
		t.Fatalf("normal ear has %d canal loops, want 3 (%d %d %d %d)", nTun, c, cv, tn, chi)
	}
	sameLabels := func(t *testing.T, lab *volume.Volume) {
		t.Helper()
		for i := range lab.Data {
			if lab.Data[i] != nLab.Data[i] {
				t.Fatalf("label changed at voxel %d (%g -> %g); this pathology must keep the labels", i, nLab.Data[i], lab.Data[i])
			}
		}
	}
	tests := []struct {
		name  string
		sev   float64
		check func(t *testing.T, img, lab *volume.Volume, m Meta)
	}{
		{CochlearHypoplasia, 0.6, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			c, e := labelCounts(lab), m.Ears[0]
			if float64(c[1]) > 0.75*float64(nc[1]) || e.AValue > ne.AValue-1 || e.Turns > ne.Turns-0.5 {
				t.Errorf("cochlea %.1f mm^3 (normal %.1f), A %.2f (%.2f), turns %.2f (%.2f): not hypoplastic",
					float64(c[1])*vox, float64(nc[1])*vox, e.AValue, ne.AValue, e.Turns, ne.Turns)
			}
		}},
		{IncompletePartition1, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			c := labelCounts(lab)
			if m.Ears[0].Turns != 0 || c[1] == 0 || float64(c[2]) < 1.3*float64(nc[2]) {
				t.Errorf("IP-I: turns %.2f, cochlea %d voxels, vestibule %d (normal %d): want a cyst and a dilated vestibule", m.Ears[0].Turns, c[1], c[2], nc[2])
			}
			// no modiolus: the cystic cochlea is one blob without septa
			if tn := turnsFromLabel(lab, vec3(m.Ears[0].Cochlea).sub(vec3(m.Ears[0].Axis).scale(1.6)), m.Ears[0].Axis); tn > 1.3 {
				t.Errorf("IP-I cochlea shows %.2f turns, want one cavity", tn)
			}
		}},
		{IncompletePartition2, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			c, e := labelCounts(lab), m.Ears[0]
			tn := turnsFromLabel(lab, vec3(e.Cochlea).sub(vec3(e.Axis).scale(e.CochleaHeight/2)), e.Axis)
			if tn > 2.1 || float64(c[2]) < 1.1*float64(nc[2]) || e.VAMidWidth < 1.5 {
				t.Errorf("IP-II: %.2f turns on the label, vestibule %d (normal %d), aqueduct %.2f mm", tn, c[2], nc[2], e.VAMidWidth)
			}
		}},
		{EnlargedAqueduct, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			sameLabels(t, lab)
			if m.Ears[0].VAMidWidth <= 1.5 {
				t.Errorf("aqueduct %.2f mm, want > 1.5", m.Ears[0].VAMidWidth)
			}
			a, b := lowHU(img, ne.Vestibule, 14, 600), lowHU(nImg, ne.Vestibule, 14, 600)
			if float64(a-b)*vox < 8 {
				t.Errorf("fluid near the vestibule grew by %.1f mm^3, want the wide aqueduct (> 8)", float64(a-b)*vox)
			}
		}},
		{CanalAplasia, 0.2, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			c := labelCounts(lab)
			_, _, tun, _ := topologyOf(lab)
			if tun != 2 || m.Ears[0].CanalPresent[Lateral] || float64(c[3]) > 0.85*float64(nc[3]) {
				t.Errorf("aplasia: %d canal loops, present %v, canals %d voxels (normal %d)", tun, m.Ears[0].CanalPresent, c[3], nc[3])
			}
		}},
		{CanalAplasia, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			// lateral and posterior gone: the anterior canal is the one loop left,
			// so each canal was a loop of its own through the vestibule
			_, _, tun, _ := topologyOf(lab)
			if p := m.Ears[0].CanalPresent; tun != 1 || p != [3]bool{true, false, false} {
				t.Errorf("aplasia of two canals: %d loops, present %v; want 1 (anterior)", tun, p)
			}
		}},
		{CanalAplasia, 1, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			c := labelCounts(lab)
			_, _, tun, _ := topologyOf(lab)
			if tun != 0 || c[3] != 0 {
				t.Errorf("aplasia of all canals: %d loops, %d canal voxels", tun, c[3])
			}
		}},
		{CanalDysplasia, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			_, _, tun, _ := topologyOf(lab)
			if tun != 2 {
				t.Errorf("dysplasia: %d canal loops, want 2 (lateral canal fused with the vestibule)", tun)
			}
		}},
		{LabyrinthitisOssificans, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			c := labelCounts(lab)
			if float64(c[1]) > 0.85*float64(nc[1]) {
				t.Errorf("cochlea %d voxels (normal %d): ossification should remove lumen", c[1], nc[1])
			}
			var lost []float64
			for i := range lab.Data {
				if lab.Data[i] > 0 && lab.Data[i] != nLab.Data[i] {
					t.Fatalf("voxel %d became label %g (normal %g): ossification only removes lumen", i, lab.Data[i], nLab.Data[i])
				}
				if nLab.Data[i] > 0 && lab.Data[i] == 0 {
					lost = append(lost, float64(img.Data[i]))
				}
			}
			if med := median(lost); !(med > 1000) {
				t.Errorf("voxels taken out of the label have median %.0f HU, want new bone > 1000", med)
			}
		}},
		{Otosclerosis, 0.8, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			sameLabels(t, lab)
			var dense, ndense int
			for i := range img.Data {
				if img.Data[i] > 1900 {
					dense++
				}
				if nImg.Data[i] > 1900 {
					ndense++
				}
			}
			if float64(dense) > 0.95*float64(ndense) {
				t.Errorf("capsule voxels > 1900 HU: %d (normal %d); foci should lower the capsule density", dense, ndense)
			}
		}},
		{CochlearImplant, 0.5, func(t *testing.T, img, lab *volume.Volume, m Meta) {
			sameLabels(t, lab)
			var metal int
			for i := range img.Data {
				if img.Data[i] >= 3071 {
					metal++
				}
			}
			if metal < 20 {
				t.Errorf("%d voxels at the HU ceiling, want the electrode's contacts", metal)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// the checks are serial; overlap them with other cases' rendering
			t.Parallel()
			img, lab, m := fineEar(t, seed, tc.name, tc.sev, sp)
			if m.Pathology != tc.name || m.Severity != tc.sev || m.Ears[0].Pathology != tc.name || m.Ears[0].Severity != tc.sev {
				t.Errorf("meta records %q %.2f, left ear %q %.2f; want %q %.2f", m.Pathology, m.Severity, m.Ears[0].Pathology, m.Ears[0].Severity, tc.name, tc.sev)
			}
			if Row(m).Subgroup != "pathological" || Row(m).Pathology != tc.name {
				t.Errorf("manifest row %+v", Row(m))
			}
			tc.check(t, img, lab, m)
		})
	}
}

// topologyOf is topology of the vestibule and canals.
func topologyOf(lab *volume.Volume) (comps, cav, tun, chi int) {
	comps, cav, tun, chi = topology(mask(lab, int(ear.Vestibule), int(ear.Canals)), lab.Dims)
	return
}

// TestMetalStreaks checks that an implant brings streaks around it on a
// scanner with noise, beyond what noise alone gives.
func TestMetalStreaks(t *testing.T) {
	c, _ := CentreByName("C")
	cfg := Config{Centre: c, Seed: 5, Side: "left", Pathology: CochlearImplant, Severity: 0.5, Extent: [3]float64{30, 30, 16}}
	img, _, m, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pathology = Normal
	ref, _, _, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// voxels 3..10 mm from the cochlea, away from the electrode path
	var d2 float64
	var n int
	for k := 0; k < img.Dims[2]; k++ {
		for j := 0; j < img.Dims[1]; j++ {
			for i := 0; i < img.Dims[0]; i++ {
				p := vec3(img.World(float64(i), float64(j), float64(k)))
				if r := p.sub(m.Ears[0].Cochlea).norm(); r > 3 && r < 10 {
					d := float64(img.At(i, j, k) - ref.At(i, j, k))
					d2 += d * d
					n++
				}
			}
		}
	}
	rms := math.Sqrt(d2 / float64(n))
	if rms < 60 {
		t.Errorf("implant changes the surroundings by %.0f HU rms, want streaks (> 60)", rms)
	}
	t.Logf("streaks: %.0f HU rms around the cochlea", rms)
}
