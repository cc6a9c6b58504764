package nrrd

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/otoseg/otoseg/volume"
)

func le16(vals ...int16) []byte {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func be16(vals ...int16) []byte {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.BigEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func seq(n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(i*37 - 500)
	}
	return out
}

func floats(v []int16) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestReadHandWritten reads NRRD files written byte by byte the way pynrrd,
// Slicer and teem write them, and checks geometry (in LPS) and voxels.
func TestReadHandWritten(t *testing.T) {
	vals := seq(24) // 4x3x2
	// 4-D with a list axis first: 2 components interleaved per voxel.
	inter := make([]int16, 48)
	for i := range 24 {
		inter[2*i], inter[2*i+1] = vals[i]+1000, vals[i]
	}
	// 4-D with time last: volume 1 is the second block.
	timeLast := append(append([]int16{}, seq(24)...), vals...)
	for i := range 24 {
		timeLast[i] = 7
	}
	ascii := ""
	for _, v := range vals {
		ascii += " " + strconv.Itoa(int(v))
	}
	lps := volume.Geometry{Dims: [3]int{4, 3, 2}, Spacing: [3]float64{0.5, 0.75, 2}, Origin: [3]float64{10, 20, -30}, Direction: volume.Identity()}
	ras := lps
	ras.Direction = [3][3]float64{{-1, 0, 0}, {0, -1, 0}, {0, 0, 1}}
	ras.Origin = [3]float64{-10, -20, -30}
	spacingsOnly := volume.Geometry{Dims: [3]int{4, 3, 2}, Spacing: [3]float64{0.5, 0.75, 2}, Direction: volume.Identity()}
	oblique := volume.Geometry{Dims: [3]int{4, 3, 2}, Spacing: [3]float64{0.5, 1, 2}, Origin: [3]float64{1, 2, 3},
		Direction: [3][3]float64{{0.6, 0.8, 0}, {0.8, -0.6, 0}, {0, 0, 1}}}
	const lpsHdr = "space: left-posterior-superior\nspace directions: (0.5,0,0) (0,0.75,0) (0,0,2)\nspace origin: (10,20,-30)\n"
	cases := []struct {
		name   string
		file   string
		header string
		data   []byte
		extra  map[string][]byte
		opt    Options
		geo    volume.Geometry
		want   []int16
	}{
		{"lps raw", "a.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\n" + lpsHdr + "\n", le16(vals...), nil, Options{}, lps, vals},
		{"lps gzip", "a.nrrd", "NRRD0005\n# comment\ntype: int16\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: gzip\n" + lpsHdr + "kinds: domain domain domain\nsome key:=some value\n\n", gz(le16(vals...)), nil, Options{}, lps, vals},
		{"gzip encoding holding zlib", "a.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: gzip\n" + lpsHdr + "\n", zl(le16(vals...)), nil, Options{}, lps, vals},
		{"ras big endian", "a.nrrd", "NRRD0004\ntype: signed short\ndimension: 3\nsizes: 4 3 2\nendian: big\nencoding: raw\nspace: RAS\nspace directions: (0.5,0,0) (0,0.75,0) (0,0,2)\nspace origin: (10,20,-30)\n\n", be16(vals...), nil, Options{}, ras, vals},
		{"las", "a.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\nspace: left-anterior-superior\nspace directions: (-0.5,0,0) (0,-0.75,0) (0,0,2)\nspace origin: (-10,-20,-30)\n\n", le16(vals...), nil, Options{}, volume.Geometry{Dims: lps.Dims, Spacing: lps.Spacing, Origin: [3]float64{-10, 20, -30}, Direction: [3][3]float64{{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}, vals},
		{"oblique", "a.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\nspace: left-posterior-superior\nspace directions: (0.3,0.4,0) (0.8,-0.6,0) (0,0,2)\nspace origin: (1,2,3)\n\n", le16(vals...), nil, Options{}, oblique, vals},
		{"spacings only", "a.nrrd", "NRRD0001\ntype: short\ndimension: 3\nsizes: 4 3 2\nspacings: 0.5 0.75 2\nendian: little\nencoding: raw\n\n", le16(vals...), nil, Options{}, spacingsOnly, vals},
		{"list axis first", "a.nrrd", "NRRD0004\ntype: short\ndimension: 4\nsizes: 2 4 3 2\nendian: little\nencoding: gzip\nspace: left-posterior-superior\nspace directions: none (0.5,0,0) (0,0.75,0) (0,0,2)\nkinds: list domain domain domain\nspace origin: (10,20,-30)\n\n", gz(le16(inter...)), nil, Options{PickVolume: true, Volume: 1}, lps, vals},
		{"time last", "a.nrrd", "NRRD0004\ntype: short\ndimension: 4\nsizes: 4 3 2 2\nendian: little\nencoding: raw\nspace: left-posterior-superior\nspace directions: (0.5,0,0) (0,0.75,0) (0,0,2) none\nkinds: domain domain domain time\nspace origin: (10,20,-30)\n\n", le16(timeLast...), nil, Options{PickVolume: true, Volume: 1}, lps, vals},
		{"ascii", "a.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nencoding: ascii\n" + lpsHdr + "\n", []byte(ascii + "\n"), nil, Options{}, lps, vals},
		{"detached with skips", "a.nhdr", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\n" + lpsHdr + "data file: a.raw\nline skip: 1\nbyte skip: 3\n", nil, map[string][]byte{"a.raw": append([]byte("junk line\nxyz"), le16(vals...)...)}, Options{}, lps, vals},
		{"detached gzip", "a.nhdr", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: gz\n" + lpsHdr + "datafile: sub/a.raw.gz\n", nil, map[string][]byte{"sub/a.raw.gz": gz(le16(vals...))}, Options{}, lps, vals},
		{"byte skip -1", "a.nhdr", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\n" + lpsHdr + "data file: a.raw\nbyte skip: -1\n", nil, map[string][]byte{"a.raw": append([]byte("some preamble of any length"), le16(vals...)...)}, Options{}, lps, vals},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, c.file)
			os.WriteFile(p, append([]byte(c.header), c.data...), 0o644)
			for name, b := range c.extra {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
				os.WriteFile(filepath.Join(dir, name), b, 0o644)
			}
			v, err := Read(p, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !v.SameGrid(c.geo, 1e-9) || v.Spacing != c.geo.Spacing {
				t.Errorf("geometry\n got %+v\nwant %+v", v.Geometry, c.geo)
			}
			want := floats(c.want)
			for i := range want {
				if v.Data[i] != want[i] {
					t.Fatalf("voxel %d = %v, want %v", i, v.Data[i], want[i])
				}
			}
			if v.DType != volume.Int16 {
				t.Errorf("dtype %v, want int16", v.DType)
			}
		})
	}
}

// TestReadBzip2 reads bzip2-encoded data made by Python's bz2 module (Go's
// standard library only decompresses bzip2).
func TestReadBzip2(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "v.raw")
	vals := seq(24)
	os.WriteFile(raw, le16(vals...), 0o644)
	out, err := exec.Command("/usr/bin/python3", "-c", "import bz2,sys; d=open(sys.argv[1],'rb').read(); open(sys.argv[1]+'.bz2','wb').write(bz2.compress(d))", raw).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 bz2: %v %s", err, out)
	}
	hdr := "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: bzip2\nspacings: 1 1 1\ndata file: v.raw.bz2\n"
	p := filepath.Join(dir, "v.nhdr")
	os.WriteFile(p, []byte(hdr), 0o644)
	v, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range floats(vals) {
		if v.Data[i] != w {
			t.Fatalf("voxel %d = %v, want %v", i, v.Data[i], w)
		}
	}
}

// TestReadErrors feeds broken files and requires an error that names the
// file and the problem.
func TestReadErrors(t *testing.T) {
	ok := "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: raw\nspacings: 1 1 1\n\n"
	big := "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1200 1200 1200\nencoding: gzip\nspacings: 1 1 1\n\n"
	cases := []struct{ name, content, want string }{
		{"empty", "", "not a NRRD"},
		{"bad magic", "NRRD0009\n", "not a NRRD"},
		{"no type", "NRRD0004\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n", `"type"`},
		{"bad type", "NRRD0004\ntype: block\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n", "unsupported type"},
		{"bad sizes", "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1 0 1\nencoding: raw\n\n", "size"},
		{"too many voxels", "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 100000 100000 100000\nencoding: raw\n\n", "exceed"},
		{"truncated raw", ok + string(le16(1, 2, 3)), "truncated"},
		{"truncated gzip", strings.Replace(ok, "raw", "gzip", 1) + string(gz(le16(seq(24)...))[:20]), "nrrd"},
		{"corrupt gzip", strings.Replace(ok, "raw", "gzip", 1) + "this is not gzip at all", "gzip"},
		{"lying header bomb", big + string(gz(make([]byte, 1<<16))), "truncated"},
		{"oversized header", "NRRD0004\n" + strings.Repeat("# padding padding padding\n", 50000), "longer than"},
		{"bad direction", "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1 1 1\nencoding: raw\nspace: LPS\nspace directions: (1,0,0) (1,0,0) (0,0,1)\n\nx", "orthogonal"},
		{"zero direction", "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1 1 1\nencoding: raw\nspace: LPS\nspace directions: (0,0,0) (0,1,0) (0,0,1)\n\nx", "length"},
		{"4-D without choice", "NRRD0004\ntype: uchar\ndimension: 4\nsizes: 2 1 1 1\nencoding: raw\nkinds: list domain domain domain\n\nxx", "--volume"},
		{"missing endian", "NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\nxx", "endian"},
		{"bad ascii", "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 1 1\nencoding: ascii\n\n1 x", "not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.nrrd")
			os.WriteFile(p, []byte(c.content), 0o644)
			_, err := Read(p, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q should name %s and say %q", err, p, c.want)
			}
		})
	}
}

// TestWriteRoundTrip writes each datatype and encoding, attached and
// detached, and reads it back exactly.
func TestWriteRoundTrip(t *testing.T) {
	g := volume.Geometry{Dims: [3]int{5, 4, 3}, Spacing: [3]float64{0.3, 0.7, 1.9}, Origin: [3]float64{-1.5, 22.25, 1e-3},
		Direction: [3][3]float64{{0, 0, 1}, {0.6, 0.8, 0}, {-0.8, 0.6, 0}}}
	for _, dt := range []volume.DType{volume.Uint8, volume.Int16, volume.Uint16, volume.Int32, volume.Float32, volume.Float64} {
		for _, enc := range []string{"gzip", "raw"} {
			for _, name := range []string{"x.nrrd", "x.nhdr"} {
				v := volume.New(g, dt)
				for i := range v.Data {
					v.Data[i] = float32(i*3 + 1)
				}
				p := filepath.Join(t.TempDir(), name)
				if err := WriteWith(p, v, WriteOptions{Encoding: enc}); err != nil {
					t.Fatal(err)
				}
				w, err := Read(p, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if w.DType != dt || !w.SameGrid(g, 1e-12) {
					t.Errorf("%v %s %s: got %v %+v", dt, enc, name, w.DType, w.Geometry)
				}
				for i := range v.Data {
					if w.Data[i] != v.Data[i] {
						t.Fatalf("%v %s %s: voxel %d = %v, want %v", dt, enc, name, i, w.Data[i], v.Data[i])
					}
				}
			}
		}
	}
}

// TestWriteSegmentation writes a Slicer segmentation and checks the keys
// Slicer needs, the extents, and that ReadSegments and Read get it back.
func TestWriteSegmentation(t *testing.T) {
	g := volume.Geometry{Dims: [3]int{6, 5, 4}, Spacing: [3]float64{0.2, 0.2, 0.4}, Direction: volume.Identity()}
	lab := volume.New(g, volume.Uint8)
	lab.Set(1, 2, 3, 1)
	lab.Set(4, 1, 0, 1)
	lab.Set(5, 4, 2, 2)
	segs := []Segment{
		{ID: "cochlea", Name: "Cochlea", Color: [3]float64{0.9, 0.4, 0.3}, LabelValue: 1},
		{Name: "Vestibule", Color: [3]float64{0.3, 0.6, 0.9}, LabelValue: 2},
		{Name: "Canals", Color: [3]float64{0.5, 0.9, 0.4}, LabelValue: 3},
	}
	p := filepath.Join(t.TempDir(), "ear.seg.nrrd")
	if err := WriteSegmentation(p, lab, segs); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Segment0_Extent":                   "1 4 1 2 0 3",
		"Segment1_Extent":                   "5 5 4 4 2 2",
		"Segment2_Extent":                   "0 -1 0 -1 0 -1",
		"Segment0_ID":                       "cochlea",
		"Segment1_ID":                       "Segment_2",
		"Segment0_Name":                     "Cochlea",
		"Segment0_Color":                    "0.9 0.4 0.3",
		"Segment2_LabelValue":               "3",
		"Segment1_Layer":                    "0",
		"Segmentation_MasterRepresentation": "Binary labelmap",
	} {
		if h.KeyValues[k] != want {
			t.Errorf("%s = %q, want %q", k, h.KeyValues[k], want)
		}
	}
	if h.Space != "left-posterior-superior" || h.TypeName != "uint8" {
		t.Errorf("space %q type %q", h.Space, h.TypeName)
	}
	got, err := ReadSegments(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "Cochlea" || got[1].LabelValue != 2 || got[2].Color != segs[2].Color {
		t.Errorf("ReadSegments = %+v", got)
	}
	v, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.At(1, 2, 3) != 1 || v.At(5, 4, 2) != 2 || v.DType != volume.Uint8 {
		t.Errorf("labels not kept")
	}
	for _, bad := range [][]Segment{nil, {{Name: "x", LabelValue: 0}}, {{Name: "a", LabelValue: 1}, {Name: "b", LabelValue: 1}}} {
		q := filepath.Join(t.TempDir(), "bad.seg.nrrd")
		if err := WriteSegmentation(q, lab, bad); err == nil {
			t.Errorf("segments %+v: no error", bad)
		}
		if _, err := os.Stat(q); err == nil {
			t.Errorf("segments %+v: a file was left behind", bad)
		}
	}
}
