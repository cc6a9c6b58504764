package nnunet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/dataset"
	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// writeCohort writes n tiny CT/label pairs and their manifest; the last
// case is external.
func writeCohort(t *testing.T, dir string, n int) *dataset.Manifest {
	t.Helper()
	var cases []dataset.Case
	for c := range n {
		g := volume.NewGeometry([3]int{6, 5, 4}, [3]float64{0.4, 0.4, 0.6})
		img, lab := volume.New(g, volume.Int16), volume.New(g, volume.Uint8)
		for i := range img.Data {
			img.Data[i] = float32((i*37+c*11)%2000 - 1000)
			lab.Data[i] = float32((i + c) % 4)
		}
		id := "case" + string(rune('a'+c))
		ip, lp := filepath.Join(dir, "images", id+".nii.gz"), filepath.Join(dir, "labels", id+".nrrd")
		for _, w := range []struct {
			p string
			v *volume.Volume
		}{{ip, img}, {lp, lab}} {
			if err := os.MkdirAll(filepath.Dir(w.p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := imageio.Write(w.p, w.v); err != nil {
				t.Fatal(err)
			}
		}
		split := dataset.SplitTrain
		if c == n-1 {
			split = dataset.SplitExternal
		}
		cases = append(cases, dataset.Case{ID: id, Image: ip, Label: lp, Center: "A", Split: split, Subgroup: dataset.SubgroupNormal})
	}
	mp := filepath.Join(dir, "manifest.csv")
	if err := dataset.Write(mp, cases, nil); err != nil {
		t.Fatal(err)
	}
	m, err := dataset.Read(mp)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameVoxels(t *testing.T, a, b string) {
	t.Helper()
	va, err := imageio.Read(a)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := imageio.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	if !va.SameGrid(vb.Geometry, 1e-6) || !slices.Equal(va.Data, vb.Data) {
		t.Errorf("%s and %s differ", a, b)
	}
}

// otoseg manifest -> nnU-Net raw dataset -> manifest gives the same cases,
// voxels and labels back, and the dataset passes nnU-Net's rules.
func TestRawRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := writeCohort(t, filepath.Join(dir, "cohort"), 3)
	raw := filepath.Join(dir, "nnUNet_raw", "Dataset501_Phantoms")
	if n, err := ExportRaw(m, raw); err != nil || n != 3 {
		t.Fatalf("export: %d cases, %v", n, err)
	}
	if err := CheckRaw(raw); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"imagesTr/casea_0000.nii.gz", "labelsTr/caseb.nii.gz", "imagesTs/casec_0000.nii.gz", "labelsTs/casec.nii.gz"} {
		if _, err := os.Stat(filepath.Join(raw, p)); err != nil {
			t.Errorf("nnU-Net layout: %v", err)
		}
	}
	back := filepath.Join(dir, "back", "manifest.csv")
	if n, err := ImportRaw(raw, back, nil); err != nil || n != 3 {
		t.Fatalf("import: %d cases, %v", n, err)
	}
	m2, err := dataset.Read(back)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.CheckFiles(); err != nil {
		t.Fatal(err)
	}
	for i, c := range m2.Cases {
		o := m.Cases[i]
		if c.ID != o.ID || c.Split != o.Split {
			t.Errorf("case %d: %s/%s, exported %s/%s", i, c.ID, c.Split, o.ID, o.Split)
		}
		sameVoxels(t, c.Image, o.Image)
		sameVoxels(t, c.Label, o.Label)
	}
	if _, err := ExportRaw(m, raw); err == nil {
		t.Error("export over an existing dataset accepted")
	}
	if _, err := ImportRaw(raw, filepath.Join(raw, "dataset.json"), nil); err == nil || !strings.Contains(err.Error(), "inside the dataset") {
		t.Errorf("manifest over dataset.json: %v", err)
	}
	if _, err := ExportRaw(m, filepath.Join(dir, "Phantoms")); err == nil || !strings.Contains(err.Error(), "DatasetNNN_Name") {
		t.Errorf("badly named dataset: %v", err)
	}
}

// Labels named otherwise are mapped with --labels into remapped copies;
// the dataset is left as it was.
func TestImportRawMapsLabels(t *testing.T) {
	dir := t.TempDir()
	m := writeCohort(t, filepath.Join(dir, "cohort"), 2)
	raw := filepath.Join(dir, "Dataset502_Other")
	if _, err := ExportRaw(m, raw); err != nil {
		t.Fatal(err)
	}
	dj := filepath.Join(raw, "dataset.json")
	b, _ := os.ReadFile(dj)
	other := strings.NewReplacer(`"cochlea"`, `"scala"`, `"vestibule"`, `"utricle"`).Replace(string(b))
	if err := os.WriteFile(dj, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.csv")
	if _, err := ImportRaw(raw, out, nil); err == nil || !strings.Contains(err.Error(), "--labels") {
		t.Fatalf("unknown label names: %v", err)
	}
	lm, err := ParseLabelMap("1=vestibule, 2=cochlea")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ImportRaw(raw, out, lm); err != nil {
		t.Fatal(err)
	}
	m2, err := dataset.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := imageio.Read(filepath.Join(raw, "labelsTr", "casea.nii.gz"))
	got, _ := imageio.Read(m2.Cases[0].Label)
	want := map[float32]float32{0: 0, 1: 2, 2: 1, 3: 0}
	for i, v := range src.Data {
		if got.Data[i] != want[v] {
			t.Fatalf("voxel %d: %g mapped to %g, want %g", i, v, got.Data[i], want[v])
		}
	}
	if !strings.Contains(m2.Cases[0].Label, "labels-otoseg") {
		t.Errorf("remapped labels at %s, want beside the manifest", m2.Cases[0].Label)
	}
	if _, err := ParseLabelMap("1=malleus"); err == nil {
		t.Error("unknown otoseg label accepted")
	}
}

// Raw datasets that break nnU-Net's rules are refused with the file named.
func TestReadRawErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(raw string) error
		want   string
	}{
		{"label missing", func(r string) error { return os.Remove(filepath.Join(r, "labelsTr", "casea.nii.gz")) }, "has no label"},
		{"no channel suffix", func(r string) error {
			return os.Rename(filepath.Join(r, "imagesTr", "casea_0000.nii.gz"), filepath.Join(r, "imagesTr", "casea.nii.gz"))
		}, "_0000"},
		{"numTraining", func(r string) error {
			return replaceIn(filepath.Join(r, "dataset.json"), `"numTraining": 1`, `"numTraining": 5`)
		}, "numTraining"},
		{"regions", func(r string) error {
			return replaceIn(filepath.Join(r, "dataset.json"), `"cochlea": 1`, `"cochlea": [1, 2]`)
		}, "region"},
		{"no background", func(r string) error { return replaceIn(filepath.Join(r, "dataset.json"), `"background": 0`, `"bg": 0`) }, "background"},
		{"two channels", func(r string) error {
			return replaceIn(filepath.Join(r, "dataset.json"), `"0": "CT"`, `"0": "CT", "1": "T1"`)
		}, "channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := writeCohort(t, filepath.Join(dir, "cohort"), 2)
			raw := filepath.Join(dir, "Dataset503_Bad")
			if _, err := ExportRaw(m, raw); err != nil {
				t.Fatal(err)
			}
			if err := tc.break_(raw); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadRaw(raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), raw) {
				t.Errorf("error %v, want one naming %s and %q", err, raw, tc.want)
			}
		})
	}
}

func replaceIn(p, old, new string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), old) {
		return os.ErrNotExist
	}
	return os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
}
