package mesh

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/internal/atomicfile"
)

// WriteFile writes m to path in the format named by its extension: .stl
// (binary STL), .ply (binary little-endian PLY), .obj (Wavefront OBJ), .json
// ({"vertices": [...], "triangles": [...]}) or .otomesh (EncodeBinary). The
// file is written to a temporary name in the same directory and renamed, so
// a failed write never leaves a partial mesh behind.
func WriteFile(path string, m *Mesh) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("mesh: write %s: %w", path, err)
	}
	var enc func(io.Writer, *Mesh) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".stl":
		enc = EncodeSTL
	case ".ply":
		enc = EncodePLY
	case ".obj":
		enc = EncodeOBJ
	case ".json":
		enc = func(w io.Writer, m *Mesh) error { return json.NewEncoder(w).Encode(m) }
	case ".otomesh":
		enc = EncodeBinary
	default:
		return fmt.Errorf("mesh: write %s: unknown extension (want .stl, .ply, .obj, .json or .otomesh)", path)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return enc(w, m) }); err != nil {
		return fmt.Errorf("mesh: %w", err)
	}
	return nil
}

// EncodeSTL writes binary STL: an 80-byte header naming the LPS frame, the
// triangle count and per triangle its unit normal and three corners as
// float32. STL has no shared vertices; Weld restores them on reading.
func EncodeSTL(w io.Writer, m *Mesh) error {
	var hdr [84]byte
	copy(hdr[:80], "otoseg mesh, LPS millimetres, outward normals")
	if m.NumTriangles() > math.MaxUint32 {
		return errors.New("too many triangles for STL")
	}
	binary.LittleEndian.PutUint32(hdr[80:], uint32(m.NumTriangles()))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	var rec [50]byte
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		a, b, c := m.Vertex(m.Triangles[t]), m.Vertex(m.Triangles[t+1]), m.Vertex(m.Triangles[t+2])
		n := cross3(sub(b, a), sub(c, a))
		if l := math.Sqrt(n[0]*n[0] + n[1]*n[1] + n[2]*n[2]); l > 0 {
			n = [3]float64{n[0] / l, n[1] / l, n[2] / l}
		}
		vals := [12]float64{n[0], n[1], n[2], a[0], a[1], a[2], b[0], b[1], b[2], c[0], c[1], c[2]}
		for i, x := range vals {
			binary.LittleEndian.PutUint32(rec[4*i:], math.Float32bits(float32(x)))
		}
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
	}
	return nil
}

// EncodePLY writes binary little-endian PLY with float x, y, z vertices and
// uchar-counted uint vertex_indices faces.
func EncodePLY(w io.Writer, m *Mesh) error {
	hdr := fmt.Sprintf("ply\nformat binary_little_endian 1.0\ncomment otoseg mesh, LPS millimetres\n"+
		"element vertex %d\nproperty float x\nproperty float y\nproperty float z\n"+
		"element face %d\nproperty list uchar uint vertex_indices\nend_header\n", m.NumVertices(), m.NumTriangles())
	if _, err := io.WriteString(w, hdr); err != nil {
		return err
	}
	buf := make([]byte, 4*len(m.Vertices))
	for i, x := range m.Vertices {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	var rec [13]byte
	rec[0] = 3
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		for e := 0; e < 3; e++ {
			binary.LittleEndian.PutUint32(rec[1+4*e:], m.Triangles[t+e])
		}
		if _, err := w.Write(rec[:]); err != nil {
			return err
		}
	}
	return nil
}

// EncodeOBJ writes Wavefront OBJ: "v x y z" lines then 1-based "f a b c".
func EncodeOBJ(w io.Writer, m *Mesh) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# otoseg mesh, LPS millimetres\n")
	var b []byte
	for i := 0; i+2 < len(m.Vertices); i += 3 {
		b = append(b[:0], 'v')
		for c := 0; c < 3; c++ {
			b = append(b, ' ')
			b = strconv.AppendFloat(b, float64(m.Vertices[i+c]), 'g', -1, 32)
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	for t := 0; t+2 < len(m.Triangles); t += 3 {
		b = append(b[:0], 'f')
		for c := 0; c < 3; c++ {
			b = append(b, ' ')
			b = strconv.AppendUint(b, uint64(m.Triangles[t+c])+1, 10)
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	return bw.Flush()
}

// The compact binary form is what the review app fetches and draws, one
// request per surface, all numbers little-endian:
//
//	offset          size     content
//	0               8        magic: "OTOMESH1" (no labels) or "OTOMESH2" (labels)
//	8               4        uint32 vertex count nv
//	12              4        uint32 triangle count nt
//	16              12*nv    float32 x, y, z per vertex (LPS mm)
//	16+12*nv        12*nt    uint32 vertex indices, three per triangle
//	16+12*nv+12*nt  nv       "OTOMESH2" only: uint8 label per vertex
//
// Every section starts at a multiple of 4 bytes, so a browser wraps the
// response in a Float32Array, a Uint32Array and a Uint8Array without
// copying. The magic says whether labels follow, so a reader never has to
// guess from the length.
const (
	binaryMagic        = "OTOMESH1"
	binaryMagicLabels  = "OTOMESH2"
	binaryHeaderLength = 16
)

// MaxBinaryElements caps the vertex and triangle counts DecodeBinary accepts
// from a header (64 M each, far beyond an inner-ear surface).
const MaxBinaryElements = 1 << 26

// EncodeBinary writes the compact binary form described above: "OTOMESH2"
// with the labels when m.Labels is not nil, else "OTOMESH1".
func EncodeBinary(w io.Writer, m *Mesh) error {
	if m.NumVertices() > MaxBinaryElements || m.NumTriangles() > MaxBinaryElements {
		return fmt.Errorf("mesh too large for the binary form: %d vertices, %d triangles", m.NumVertices(), m.NumTriangles())
	}
	if m.Labels != nil && len(m.Labels) != m.NumVertices() {
		return fmt.Errorf("mesh: %d labels for %d vertices", len(m.Labels), m.NumVertices())
	}
	hdr := make([]byte, binaryHeaderLength, binaryHeaderLength+4*len(m.Vertices)+4*len(m.Triangles)+len(m.Labels))
	copy(hdr, binaryMagic)
	if m.Labels != nil {
		copy(hdr, binaryMagicLabels)
	}
	binary.LittleEndian.PutUint32(hdr[8:], uint32(m.NumVertices()))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(m.NumTriangles()))
	for _, x := range m.Vertices {
		hdr = binary.LittleEndian.AppendUint32(hdr, math.Float32bits(x))
	}
	for _, t := range m.Triangles {
		hdr = binary.LittleEndian.AppendUint32(hdr, t)
	}
	hdr = append(hdr, m.Labels...)
	_, err := w.Write(hdr)
	return err
}

// DecodeBinary reads the form EncodeBinary writes, refusing headers with
// counts over MaxBinaryElements, truncated data and triangles that name
// missing vertices.
func DecodeBinary(r io.Reader) (*Mesh, error) {
	var hdr [binaryHeaderLength]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("mesh: binary header: %w", err)
	}
	magic := string(hdr[:8])
	if magic != binaryMagic && magic != binaryMagicLabels {
		return nil, fmt.Errorf("mesh: not an otoseg binary mesh (magic %q)", hdr[:8])
	}
	nv, nt := binary.LittleEndian.Uint32(hdr[8:]), binary.LittleEndian.Uint32(hdr[12:])
	if nv > MaxBinaryElements || nt > MaxBinaryElements {
		return nil, fmt.Errorf("mesh: binary header claims %d vertices and %d triangles, over the limit %d", nv, nt, MaxBinaryElements)
	}
	// Read in chunks, growing the slice only as data arrives, so a header
	// that lies about its counts cannot make us allocate up front.
	readU32 := func(n int) ([]uint32, error) {
		out := make([]uint32, 0, min(n, 1<<16))
		buf := make([]byte, 4*4096)
		for len(out) < n {
			want := min(4096, n-len(out))
			if _, err := io.ReadFull(r, buf[:4*want]); err != nil {
				return nil, err
			}
			for i := 0; i < want; i++ {
				out = append(out, binary.LittleEndian.Uint32(buf[4*i:]))
			}
		}
		return out, nil
	}
	vb, err := readU32(3 * int(nv))
	if err != nil {
		return nil, fmt.Errorf("mesh: binary vertices: %w", err)
	}
	tri, err := readU32(3 * int(nt))
	if err != nil {
		return nil, fmt.Errorf("mesh: binary triangles: %w", err)
	}
	m := &Mesh{Vertices: make([]float32, len(vb)), Triangles: tri}
	for i, b := range vb {
		m.Vertices[i] = math.Float32frombits(b)
	}
	if magic == binaryMagicLabels {
		// nv is at most MaxBinaryElements, and the vertices it counts
		// have already arrived, so this allocation is backed by data.
		m.Labels = make([]uint8, nv)
		if _, err := io.ReadFull(r, m.Labels); err != nil {
			return nil, fmt.Errorf("mesh: binary labels: %w", err)
		}
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadFile reads a mesh written by WriteFile as .otomesh or .json.
func ReadFile(path string) (*Mesh, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mesh: %w", err)
	}
	defer f.Close()
	var m *Mesh
	switch strings.ToLower(filepath.Ext(path)) {
	case ".otomesh":
		m, err = DecodeBinary(bufio.NewReader(f))
	case ".json":
		m = &Mesh{}
		err = json.NewDecoder(f).Decode(m)
		if err == nil {
			err = m.Check()
		}
	default:
		return nil, fmt.Errorf("mesh: read %s: only .otomesh and .json are read back", path)
	}
	if err != nil {
		return nil, fmt.Errorf("mesh: read %s: %w", path, err)
	}
	return m, nil
}
