package metaimage

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"os"
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

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func gzb(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func seq(n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(i*41 - 300)
	}
	return out
}

// TestReadHandWritten reads MetaImage files as ITK/SimpleITK write them.
func TestReadHandWritten(t *testing.T) {
	vals := seq(24) // 4x3x2
	two := append(append([]int16{}, seq(24)...), vals...)
	for i := range 24 {
		two[i] = 9
	}
	geo := volume.Geometry{Dims: [3]int{4, 3, 2}, Spacing: [3]float64{0.5, 0.75, 2}, Origin: [3]float64{10, 20, -30},
		Direction: [3][3]float64{{0, 1, 0}, {-1, 0, 0}, {0, 0, 1}}}
	// TransformMatrix lists axis directions one after another: axis 0 is
	// (0,-1,0), axis 1 (1,0,0), axis 2 (0,0,1).
	const common = "ObjectType = Image\nNDims = 3\nBinaryData = True\nTransformMatrix = 0 -1 0 1 0 0 0 0 1\nOffset = 10 20 -30\nCenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\nElementSpacing = 0.5 0.75 2\nDimSize = 4 3 2\nElementType = MET_SHORT\n"
	cases := []struct {
		name, file, header string
		data               []byte
		extra              map[string][]byte
		opt                Options
	}{
		{"mha local", "a.mha", common + "BinaryDataByteOrderMSB = False\nCompressedData = False\nElementDataFile = LOCAL\n", le16(vals...), nil, Options{}},
		{"mha big endian", "a.mha", common + "ElementByteOrderMSB = True\nElementDataFile = LOCAL\n", be16(vals...), nil, Options{}},
		{"mha zlib", "a.mha", common + "CompressedData = True\nCompressedDataSize = " + strconv.Itoa(len(zl(le16(vals...)))) + "\nElementDataFile = LOCAL\n", zl(le16(vals...)), nil, Options{}},
		{"mha gzip instead of zlib", "a.mha", common + "CompressedData = True\nElementDataFile = LOCAL\n", gzb(le16(vals...)), nil, Options{}},
		{"mhd raw", "a.mhd", common + "ElementDataFile = a.raw\n", nil, map[string][]byte{"a.raw": le16(vals...)}, Options{}},
		{"mhd zraw", "a.mhd", common + "CompressedData = True\nElementDataFile = a.zraw\n", nil, map[string][]byte{"a.zraw": zl(le16(vals...))}, Options{}},
		{"mhd header size", "a.mhd", common + "HeaderSize = 5\nElementDataFile = a.raw\n", nil, map[string][]byte{"a.raw": append([]byte("12345"), le16(vals...)...)}, Options{}},
		{"mhd header size -1", "a.mhd", common + "HeaderSize = -1\nElementDataFile = a.raw\n", nil, map[string][]byte{"a.raw": append([]byte("preamble"), le16(vals...)...)}, Options{}},
		{"4-D", "a.mha", strings.Replace(strings.Replace(strings.Replace(strings.Replace(common, "NDims = 3", "NDims = 4", 1), "DimSize = 4 3 2", "DimSize = 4 3 2 2", 1), "0 -1 0 1 0 0 0 0 1", "0 -1 0 0 1 0 0 0 0 0 1 0 0 0 0 1", 1), "ElementSpacing = 0.5 0.75 2", "ElementSpacing = 0.5 0.75 2 1", 1) + "Offset = 10 20 -30 0\nElementDataFile = LOCAL\n", le16(two...), nil, Options{PickVolume: true, Volume: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, c.file)
			os.WriteFile(p, append([]byte(c.header), c.data...), 0o644)
			for n, b := range c.extra {
				os.WriteFile(filepath.Join(dir, n), b, 0o644)
			}
			v, err := Read(p, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !v.SameGrid(geo, 1e-9) || v.Spacing != geo.Spacing {
				t.Errorf("geometry\n got %+v\nwant %+v", v.Geometry, geo)
			}
			for i, w := range vals {
				if v.Data[i] != float32(w) {
					t.Fatalf("voxel %d = %v, want %v", i, v.Data[i], w)
				}
			}
			if v.DType != volume.Int16 {
				t.Errorf("dtype %v", v.DType)
			}
		})
	}
}

// TestReadErrors: broken files give an error naming the file and problem.
func TestReadErrors(t *testing.T) {
	ok := "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n"
	cases := []struct{ name, content, want string }{
		{"empty", "", "ElementDataFile"},
		{"no ndims", "DimSize = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n", "NDims"},
		{"bad type", strings.Replace(ok, "MET_SHORT", "MET_STRING", 1), "ElementType"},
		{"bad dims", strings.Replace(ok, "4 3 2", "4 -3 2", 1), "DimSize"},
		{"too many voxels", strings.Replace(ok, "4 3 2", "100000 100000 100000", 1), "exceed"},
		{"channels", strings.Replace(ok, "NDims = 3", "NDims = 3\nElementNumberOfChannels = 3", 1), "scalar"},
		{"truncated", ok + "abc", "truncated"},
		{"bad zlib", strings.Replace(ok, "NDims = 3", "NDims = 3\nCompressedData = True", 1) + "not zlib", "compressed data"},
		{"lying compressed", strings.Replace(strings.Replace(ok, "4 3 2", "1200 1200 1200", 1), "NDims = 3", "NDims = 3\nCompressedData = True", 1) + string(zl(make([]byte, 1<<16))), "truncated"},
		{"missing data file", strings.Replace(ok, "LOCAL", "nothere.raw", 1), "data file"},
		{"list", strings.Replace(ok, "LOCAL", "LIST", 1), "multi-file"},
		{"singular", strings.Replace(ok, "NDims = 3", "NDims = 3\nTransformMatrix = 1 0 0 1 0 0 0 0 1", 1) + string(le16(seq(24)...)), "orthogonal"},
		{"4-D without choice", "NDims = 4\nDimSize = 1 1 1 2\nElementType = MET_UCHAR\nElementDataFile = LOCAL\nxx", "--volume"},
		{"oversized header", strings.Repeat("Comment = padding padding padding\n", 40000), "longer than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.mha")
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

func TestWriteRoundTrip(t *testing.T) {
	g := volume.Geometry{Dims: [3]int{5, 4, 3}, Spacing: [3]float64{0.3, 0.7, 1.9}, Origin: [3]float64{-1.5, 22.25, 1e-3},
		Direction: [3][3]float64{{0, 0, 1}, {0.6, 0.8, 0}, {-0.8, 0.6, 0}}}
	for _, dt := range []volume.DType{volume.Uint8, volume.Int16, volume.Uint16, volume.Int32, volume.Float32, volume.Float64} {
		for _, compress := range []bool{false, true} {
			for _, name := range []string{"x.mha", "x.mhd"} {
				v := volume.New(g, dt)
				for i := range v.Data {
					v.Data[i] = float32((i*5 + 2) % 250)
				}
				p := filepath.Join(t.TempDir(), name)
				if err := WriteWith(p, v, WriteOptions{Compress: compress}); err != nil {
					t.Fatal(err)
				}
				w, err := Read(p, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if w.DType != dt || !w.SameGrid(g, 1e-12) {
					t.Errorf("%v %v %s: got %v %+v", dt, compress, name, w.DType, w.Geometry)
				}
				for i := range v.Data {
					if w.Data[i] != v.Data[i] {
						t.Fatalf("%v %v %s: voxel %d = %v, want %v", dt, compress, name, i, w.Data[i], v.Data[i])
					}
				}
			}
		}
	}
}
