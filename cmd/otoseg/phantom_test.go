package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/phantom"
)

// nibabelCheck reads a phantom cohort with nibabel, as the study's
// independent checker does: dtypes, shapes, affines, label values, manifest.
const nibabelCheck = `
import csv, sys, os
import numpy as np, nibabel as nib
d = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(d, "manifest.csv"))))
need = "case_id,image,label,center,split,subgroup,pathology,spacing_mm,manual_seconds".split(",")
assert list(rows[0].keys())[:9] == need, list(rows[0].keys())
for r in rows:
    im = nib.load(os.path.join(d, r["image"])); lb = nib.load(os.path.join(d, r["label"]))
    a = np.asanyarray(im.dataobj); l = np.asanyarray(lb.dataobj)
    assert a.dtype == np.int16, a.dtype
    assert l.dtype == np.uint8, l.dtype
    assert a.shape == l.shape, (a.shape, l.shape)
    assert np.allclose(im.affine, lb.affine)
    assert set(np.unique(l)) <= {0, 1, 2, 3}, np.unique(l)
    assert (l > 0).sum() > 0
    z = [float(x) for x in r["spacing_mm"].split("x")]
    assert np.allclose(im.header.get_zooms()[:3], z, atol=1e-3), (im.header.get_zooms(), z)
    assert r["subgroup"] in ("normal", "pathological") and r["split"] in ("train", "validation", "external")
    assert float(r["manual_seconds"]) > 0
    assert a.min() >= -1024 and a.max() > 1500
    # geometry: the labels sit where the sidecar says, in nibabel's RAS
    import json
    m = json.load(open(os.path.join(d, "meta", r["case_id"] + ".json")))
    ijk = np.argwhere(l > 0)
    ras = nib.affines.apply_affine(lb.affine, ijk)
    ears = [e for e in m["ears"]]
    cs = np.array([e["labyrinth_centre_ras_mm"] for e in ears])
    near = np.argmin(((ras[:, None, :] - cs[None, :, :]) ** 2).sum(-1), axis=1)
    for n, e in enumerate(ears):
        if not e["in_fov"]:
            continue
        c = ras[near == n].mean(0)
        assert np.abs(c - cs[n]).max() < 1.0, (r["case_id"], e["side"], c, cs[n])
        # the left ear is on the patient's left: +x in LPS, -x in RAS
        assert (c[0] < 0) == (e["side"] == "left"), (e["side"], c)
print("ok", len(rows))
`

func TestPhantomCommandNibabel(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	o := &phantomOptions{Out: dir, Cases: 2, Seed: 7, Centres: "E,C", Pathological: 0.5, Body: "head"}
	if err := runPhantom(context.Background(), o, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "wrote 2 cases (1 pathological)") {
		t.Errorf("stderr %q", errb.String())
	}
	if !strings.Contains(errb.String(), "2/2") {
		t.Errorf("no progress on stderr: %q", errb.String())
	}
	py := exec.Command("/usr/bin/python3", "-c", nibabelCheck, dir)
	res, err := py.CombinedOutput()
	if err != nil {
		t.Fatalf("nibabel check (needs /usr/bin/python3 with nibabel and numpy): %v\n%s", err, res)
	}
	if !strings.HasPrefix(string(res), "ok 2") {
		t.Fatalf("nibabel check: %s", res)
	}

	// snapshot of the first case, with and without its label
	png := filepath.Join(dir, "snap.png")
	so := &snapshotOptions{Image: filepath.Join(dir, "images", "c000_E.nii.gz"), Label: filepath.Join(dir, "labels", "c000_E.nii.gz"),
		Out: png, FieldMM: 40, Window: "4000,1000"}
	out.Reset()
	if err := runSnapshot(so, &out); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Fatalf("snapshot: %v", err)
	}
	if !strings.Contains(out.String(), "from label: cochlea, then vestibule") {
		t.Errorf("snapshot centre not from the label: %q", out.String())
	}
	so.Label = ""
	out.Reset()
	if err := runSnapshot(so, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "from sidecar") {
		t.Errorf("snapshot centre not from the sidecar: %q", out.String())
	}
}

func TestPhantomCommandErrors(t *testing.T) {
	var out, errb bytes.Buffer
	for _, o := range []*phantomOptions{
		{Out: "", Cases: 1},
		{Out: t.TempDir(), Cases: 0},
		{Out: t.TempDir(), Cases: 1, Centres: "A,Q"},
		{Out: t.TempDir(), Cases: 1, Pathological: 2},
		{Out: t.TempDir(), Cases: 1, Body: "knee"},
		{Out: t.TempDir(), Cases: 1, Sites: "/nonexistent/sites.json"},
		{Out: t.TempDir(), Cases: 1, Sites: "sites.json", Centres: "A"},
	} {
		if err := runPhantom(context.Background(), o, &out, &errb); err == nil {
			t.Errorf("runPhantom(%+v) accepted", o)
		}
	}
	for _, so := range []*snapshotOptions{
		{Image: "/nonexistent.nii.gz", Out: filepath.Join(t.TempDir(), "x.png"), Window: "4000,1000"},
		{Image: "x.nii", Out: "", Window: "4000,1000"},
		{Image: "x.nii", Out: "y.png", Window: "0,1000"},
	} {
		if err := runSnapshot(so, &out); err == nil {
			t.Errorf("runSnapshot(%+v) accepted", so)
		}
	}
}

// TestPhantomCommandVaryScanner checks that --vary-scanner reaches the
// files: the sidecar records a protocol drawn around the centre's, not the
// centre's own, and the manifest still names the centre.
func TestPhantomCommandVaryScanner(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	o := &phantomOptions{Out: dir, Cases: 1, Seed: 9, Centres: "C", Body: "head", VaryScanner: true, Quiet: true}
	if err := runPhantom(context.Background(), o, &out, &errb); err != nil {
		t.Fatal(err)
	}
	meta := readCaseMeta(t, dir, "c000_C")
	c, _ := phantom.CentreByName("C")
	got := meta.Centre
	if got.Name != "C" || got.PSF == c.PSF || got.Gain == c.Gain || !strings.Contains(got.Protocol, "scanner varied") {
		t.Errorf("sidecar protocol %+v, want C's scanner varied (C: PSF %v, gain %g)", got, c.PSF, c.Gain)
	}
	man, err := os.ReadFile(filepath.Join(dir, "manifest.csv"))
	if err != nil || !strings.Contains(string(man), "c000_C,images/c000_C.nii.gz,labels/c000_C.nii.gz,C,") {
		t.Errorf("manifest: %v\n%s", err, man)
	}
}

// TestPhantomCommandSites checks the sites round trip a user makes: print
// the built-in centres, edit one (here: E with B's sharper kernel), and
// generate from the file; the case carries the edited scanner and name.
func TestPhantomCommandSites(t *testing.T) {
	var js, errb bytes.Buffer
	if err := runPhantom(context.Background(), &phantomOptions{PrintCentres: true}, &js, &errb); err != nil {
		t.Fatal(err)
	}
	var centres []map[string]any
	if err := json.Unmarshal(js.Bytes(), &centres); err != nil || len(centres) != len(phantom.Centres) {
		t.Fatalf("--print-centres wrote %d centres (%v):\n%s", len(centres), err, js.String())
	}
	e := centres[4]
	e["name"], e["psf_sigma_mm"] = "E-sharp", []float64{0.3, 0.45}
	b, _ := json.Marshal([]any{e})
	dir := t.TempDir()
	sites := filepath.Join(dir, "sites.json")
	if err := os.WriteFile(sites, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cohort")
	var stdout bytes.Buffer
	if err := runPhantom(context.Background(), &phantomOptions{Out: out, Cases: 1, Seed: 3, Sites: sites, Body: "head", Quiet: true}, &stdout, &errb); err != nil {
		t.Fatal(err)
	}
	meta := readCaseMeta(t, out, "c000_E-sharp")
	if meta.Centre.Name != "E-sharp" || meta.Centre.PSF != [2]float64{0.3, 0.45} || meta.Centre.Slice[0] != 1 {
		t.Errorf("case scanner %+v, want E's with the edited kernel", meta.Centre)
	}
}

// readCaseMeta reads the sidecar that otoseg phantom wrote for case id.
func readCaseMeta(t *testing.T, cohort, id string) phantom.Meta {
	t.Helper()
	js, err := os.ReadFile(filepath.Join(cohort, "meta", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta phantom.Meta
	if err := json.Unmarshal(js, &meta); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return meta
}
