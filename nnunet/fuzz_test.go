package nnunet

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func fixtureCheckpoint(f *testing.F) []byte {
	b, err := os.ReadFile(filepath.Join(fixtures[0].dir, "fold_1", "checkpoint_final.pth"))
	if err != nil {
		f.Fatalf("%v %s", err, fixtureHint)
	}
	return b
}

// Whatever the bytes, DecodeCheckpoint returns a checkpoint or an error.
func FuzzDecodeCheckpoint(f *testing.F) {
	b := fixtureCheckpoint(f)
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCheckpoint(bytes.NewReader(b), int64(len(b)))
		if err == nil && c.Weights == nil {
			t.Fatal("no error and no weights")
		}
	})
}

// The pickle stage alone (zip archives hide most mutations behind their
// checksums): any data.pkl gives a checkpoint or an error.
func FuzzPickle(f *testing.F) {
	b := fixtureCheckpoint(f)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range zr.File {
		if filepath.Base(e.Name) == "data.pkl" {
			rc, _ := e.Open()
			pkl, _ := io.ReadAll(rc)
			rc.Close()
			f.Add(pkl)
		}
	}
	f.Add([]byte("\x80\x02}q\x00."))
	f.Add([]byte("\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f."))
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkPickle(b) != nil {
			return
		}
		obj, err := unpickle(b)
		if err != nil {
			return
		}
		_, _ = fromPickle(obj, func(string) *zip.File { return nil })
	})
}

func FuzzParsePlan(f *testing.F) {
	for _, fx := range fixtures {
		if b, err := os.ReadFile(filepath.Join(fx.dir, "plans.json")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"configurations": {"3d_fullres": {"inherits_from": "3d_fullres"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePlan(b, "3d_fullres")
		if err == nil {
			if err := p.Net.Validate(); err != nil {
				t.Fatalf("accepted plan with an invalid network: %v", err)
			}
		}
	})
}

func FuzzParseDatasetJSON(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(fixtures[0].dir, "dataset.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"channel_names": {"0": "CT"}, "labels": {"background": 0, "a": [1, 2]}, "numTraining": 1, "file_ending": ".nii.gz"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDatasetJSON(b)
		if err != nil {
			return
		}
		// What parses must write back to something that parses the same.
		out, err := d.Marshal()
		if err != nil {
			t.Fatalf("parsed dataset.json does not marshal: %v", err)
		}
		d2, err := ParseDatasetJSON(out)
		if err != nil || len(d2.Labels) != len(d.Labels) || d2.NumTraining != d.NumTraining {
			t.Fatalf("round trip changed it: %v", err)
		}
	})
}
