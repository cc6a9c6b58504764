package dicomseg

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomenc"
	"github.com/otoseg/otoseg/volume"
)

// source writes a small oblique CT series and returns its folder, its
// reference and a label map on its grid: labels 1 and 2 on a few slices,
// label 3 nowhere, the first and last slices empty.
func source(t testing.TB, dir string) (string, *dicom.Reference, *volume.Volume) {
	t.Helper()
	c, s := math.Cos(0.2), math.Sin(0.2)
	g := volume.NewGeometry([3]int{9, 7, 6}, [3]float64{0.3, 0.35, 0.5})
	g.Origin = [3]float64{-60.5, 22.25, -10}
	g.Direction = [3][3]float64{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
	ct := volume.New(g, volume.Int16)
	for i := range ct.Data {
		ct.Data[i] = float32(i%300 - 100)
	}
	series := filepath.Join(dir, "ct")
	if err := dicom.WriteSeries(series, ct, dicom.WriteOptions{PatientName: "Doe^Jane", PatientID: "P7", StudyTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	ref, err := dicom.ReadReference(series, dicom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lab := volume.New(ref.Geometry, volume.Uint8)
	for k := 1; k <= 3; k++ {
		for j := 2; j < 5; j++ {
			for i := 1; i < 4; i++ {
				lab.Set(i, j, k, 1)
				lab.Set(i+4, j, k+1, 2)
			}
		}
	}
	return series, ref, lab
}

var testSegments = []Segment{
	{Label: 1, Name: "cochlea", Color: [3]float64{0.9, 0.6, 0.4}},
	{Label: 2, Name: "vestibule", Color: [3]float64{0.5, 0.7, 0.5}},
	{Label: 3, Name: "semicircular canals", Color: [3]float64{0.4, 0.6, 0.9}},
}

func testOptions() Options {
	return Options{Segments: testSegments, Algorithm: "otoseg", Version: "test", ModelChecksum: strings.Repeat("ab", 32), Time: time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)}
}

// TestRoundTrip: what Write writes, Read reads back: the same labels on
// the same grid, the segments named and coded.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	_, ref, lab := source(t, dir)
	path := filepath.Join(dir, "seg.dcm")
	if err := Write(path, lab, ref, testOptions()); err != nil {
		t.Fatal(err)
	}
	if !IsSegmentation(path) {
		t.Fatal("IsSegmentation is false for a written SEG")
	}
	v, info, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !v.SameGrid(ref.Geometry, 1e-6) {
		t.Fatalf("grid %+v, want %+v", v.Geometry, ref.Geometry)
	}
	for i := range lab.Data {
		if v.Data[i] != lab.Data[i] {
			t.Fatalf("voxel %d: %g, want %g", i, v.Data[i], lab.Data[i])
		}
	}
	if info.ReferencedSeries != ref.SeriesUID || len(info.Segments) != 3 || info.Segments[0].Type.Value != "80169004" || info.Segments[2].Label != "semicircular canals" {
		t.Errorf("info %+v", info)
	}
	// 3 slices of label 1, 3 of label 2, plus the two extent frames.
	if info.Frames != 8 {
		t.Errorf("%d frames, want 8", info.Frames)
	}
}

// pydicomSEG checks a SEG with pydicom against the CT series it came from:
// the file's own attributes, each frame's source image (the CT file at the
// same position) and the label map rebuilt from frames and positions.
const pydicomSEG = `
import sys, glob, json, numpy as np, pydicom
seg = pydicom.dcmread(sys.argv[1]); ct = [pydicom.dcmread(p) for p in glob.glob(sys.argv[2] + "/*.dcm")]
assert seg.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4" and seg.Modality == "SEG" and seg.SegmentationType == "BINARY"
assert seg.FrameOfReferenceUID == ct[0].FrameOfReferenceUID and seg.StudyInstanceUID == ct[0].StudyInstanceUID
assert seg.PatientID == ct[0].PatientID == "P7" and str(seg.PatientName) == "Doe^Jane"
rs = seg.ReferencedSeriesSequence[0]
assert rs.SeriesInstanceUID == ct[0].SeriesInstanceUID
assert sorted(i.ReferencedSOPInstanceUID for i in rs.ReferencedInstanceSequence) == sorted(c.SOPInstanceUID for c in ct)
alg = seg.SegmentSequence[0].SegmentationAlgorithmIdentificationSequence[0]
assert alg.AlgorithmName == "otoseg" and "ab" * 32 in alg.AlgorithmParameters, alg
by_pos = {tuple(round(float(x), 3) for x in c.ImagePositionPatient): c for c in ct}
r = np.array(ct[0].ImageOrientationPatient[:3], float); c_ = np.array(ct[0].ImageOrientationPatient[3:], float); n = np.cross(r, c_)
ct.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), n)))
k_of = {c.SOPInstanceUID: k for k, c in enumerate(ct)}
px = seg.pixel_array
if px.ndim == 2: px = px[None]
lab = np.zeros((len(ct), ct[0].Rows, ct[0].Columns), np.uint8)
shared = seg.SharedFunctionalGroupsSequence[0]
assert np.allclose([float(x) for x in shared.PlaneOrientationSequence[0].ImageOrientationPatient], [float(x) for x in ct[0].ImageOrientationPatient], atol=1e-9)
assert np.allclose([float(x) for x in shared.PixelMeasuresSequence[0].PixelSpacing], [float(x) for x in ct[0].PixelSpacing], atol=1e-9)
for f, fg in enumerate(seg.PerFrameFunctionalGroupsSequence):
    pos = tuple(round(float(x), 3) for x in fg.PlanePositionSequence[0].ImagePositionPatient)
    src = by_pos[pos]
    assert fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    s = fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber
    assert fg.FrameContentSequence[0].DimensionIndexValues[0] == s
    lab[k_of[src.SOPInstanceUID]][px[f] > 0] = s
lab.tofile(sys.argv[3])
print(json.dumps({"segments": [s.SegmentLabel for s in seg.SegmentSequence], "frames": int(seg.NumberOfFrames)}))
`

// TestPydicom checks the SEG with pydicom, a reader nobody here wrote.
func TestPydicom(t *testing.T) {
	dir := t.TempDir()
	series, ref, lab := source(t, dir)
	path := filepath.Join(dir, "seg.dcm")
	if err := Write(path, lab, ref, testOptions()); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "lab.u8")
	out, err := exec.Command("/usr/bin/python3", "-c", pydicomSEG, path, series, raw).CombinedOutput()
	if err != nil {
		t.Fatalf("pydicom: %v\n%s", err, out)
	}
	var got struct {
		Segments []string `json:"segments"`
		Frames   int      `json:"frames"`
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Segments) != 3 {
		t.Fatalf("%s: %v", out, err)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	// pydicom's array is [slice][row][column]: the same order as Data.
	for i := range lab.Data {
		if float32(b[i]) != lab.Data[i] {
			t.Fatalf("voxel %d: pydicom %d, want %g", i, b[i], lab.Data[i])
		}
	}
}

// TestDciodvfy runs dicom3tools' IOD checker: no errors, and it must see a
// Segmentation. dcmtk's dcmdump must parse the file too.
func TestDciodvfy(t *testing.T) {
	dir := t.TempDir()
	_, ref, lab := source(t, dir)
	path := filepath.Join(dir, "seg.dcm")
	if err := Write(path, lab, ref, testOptions()); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("dciodvfy", path).CombinedOutput()
	if !strings.Contains(string(out), "Segmentation") {
		t.Fatalf("dciodvfy did not recognise a Segmentation:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Error") {
			t.Errorf("dciodvfy: %s", line)
		}
	}
	dump, err := exec.Command("dcmdump", "-q", path).CombinedOutput()
	if err != nil || !strings.Contains(string(dump), "SegmentationType") {
		t.Errorf("dcmdump: %v\n%s", err, dump)
	}
}

// TestWriteRefusals: what a SEG cannot say is an error naming the file,
// and nothing is written.
func TestWriteRefusals(t *testing.T) {
	dir := t.TempDir()
	_, ref, lab := source(t, dir)
	moved := &volume.Volume{Geometry: lab.Geometry, Data: lab.Data}
	moved.Origin[0] += 1
	four := volume.New(lab.Geometry, volume.Uint8)
	four.Data[5] = 4
	gap := testOptions()
	gap.Segments = []Segment{testSegments[0], testSegments[2]}
	tests := []struct {
		name string
		v    *volume.Volume
		ref  *dicom.Reference
		o    Options
		err  string
	}{
		{"off the series grid", moved, ref, testOptions(), "not the grid of source series"},
		{"label without a segment", four, ref, testOptions(), "voxel 5 is 4"},
		{"segments not 1..N", lab, ref, gap, "labels 1..N in order"},
		{"no source series", lab, nil, testOptions(), "needs the DICOM series"},
		{"no segments", lab, ref, Options{}, "0 segments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "out.dcm")
			err := Write(path, tc.v, tc.ref, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want %q naming the file", err, tc.err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("output written despite the error")
			}
		})
	}
}

// encodeWith builds a valid SEG's data set, lets edit change it, and
// returns the file's bytes.
func encodeWith(t testing.TB, edit func(ds dicomenc.Dataset) dicomenc.Dataset) []byte {
	dir := t.TempDir()
	_, ref, lab := source(t, dir)
	lab = &volume.Volume{Geometry: ref.Geometry, Data: lab.Data}
	ds, sop := buildDataset(lab, ref, testOptions(), planFrames(lab, 3))
	var b bytes.Buffer
	if err := dicomenc.Write(&b, SegmentationStorage, sop, edit(ds)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// replace returns ds with the element of e's tag replaced by e.
func replace(e dicomenc.Element) func(dicomenc.Dataset) dicomenc.Dataset {
	return func(ds dicomenc.Dataset) dicomenc.Dataset {
		out := dicomenc.Dataset{}
		for _, x := range ds {
			if x.Tag == e.Tag {
				x = e
			}
			out = append(out, x)
		}
		return out
	}
}

// TestReadErrors: SEGs a label map cannot hold, and broken ones, are
// errors that say what is wrong.
func TestReadErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(dicomenc.Dataset) dicomenc.Dataset
		err  string
	}{
		{"fractional", replace(dicomenc.Str(tSegmentationType, "CS", "FRACTIONAL")), "only BINARY"},
		{"pixel data short", replace(dicomenc.Bytes(tPixelData, "OB", []byte{1, 2})), "cannot hold 8 frames"},
		{"frames miscounted", replace(dicomenc.IS(tNumberOfFrames, 7)), "8 per-frame functional group items for 7 frames"},
		{"not a SEG", replace(dicomenc.Str(tSOPClass, "UI", "1.2.840.10008.5.1.4.1.1.2")), "is not a DICOM Segmentation"},
		{"undefined segment", replace(dicomenc.Seq(tSegmentSeq, segmentItems(Options{Segments: testSegments[:1]})...)), "segment 2, which SegmentSequence does not define"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decode(encodeWith(t, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "junk.dcm")
	os.WriteFile(path, []byte("not dicom at all"), 0o644)
	if _, _, err := Read(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("junk file: %v", err)
	}
}

// FuzzDecode: any bytes give a label map that fits its grid or an error,
// never a panic or an unbounded allocation.
func FuzzDecode(f *testing.F) {
	f.Add(encodeWith(f, func(ds dicomenc.Dataset) dicomenc.Dataset { return ds }))
	f.Add([]byte("DICM"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := decode(b)
		if err != nil {
			return
		}
		if err := v.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzMetaSOPClass: the meta walker never reads out of bounds.
func FuzzMetaSOPClass(f *testing.F) {
	f.Add(encodeWith(f, func(ds dicomenc.Dataset) dicomenc.Dataset { return ds })[:400])
	f.Fuzz(func(t *testing.T, b []byte) { metaSOPClass(b) })
}

// TestSeriesBesideItsSEG: a folder holding a CT series and its SEG (a PACS
// export) still reads as the CT series.
func TestSeriesBesideItsSEG(t *testing.T) {
	dir := t.TempDir()
	series, ref, lab := source(t, dir)
	if err := Write(filepath.Join(series, "zz_seg.dcm"), lab, ref, testOptions()); err != nil {
		t.Fatal(err)
	}
	v, err := dicom.Read(series, dicom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !v.SameGrid(ref.Geometry, 1e-9) || v.DType != volume.Int16 {
		t.Errorf("read %v %v, want the CT series", v.Dims, v.DType)
	}
}
