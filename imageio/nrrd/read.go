package nrrd

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/volume"
)

// Options choose what Read returns from a 4-D file.
type Options struct {
	// PickVolume selects Volume (0-based index along the one non-spatial
	// axis, e.g. a list or time axis); without it a file with such an axis
	// longer than 1 is an error.
	PickVolume bool
	Volume     int
}

// Layout says how the 3-D volumes sit in the file's axes.
type Layout struct {
	Geometry volume.Geometry
	// Spatial lists the file axes that are i, j, k, in order.
	Spatial []int
	// VolumeAxis is the non-spatial axis longer than 1, or -1.
	VolumeAxis int
	Volumes    int64
}

// ReadHeader reads and checks the header of path.
func ReadHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nrrd %s: %w", path, err)
	}
	defer f.Close()
	h, err := parseHeader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("nrrd %s: %w", path, err)
	}
	return h, nil
}

// Layout derives the geometry and axis roles from the header.
func (h *Header) Layout() (*Layout, error) {
	n := h.Dimension
	spatial := make([]bool, n)
	switch {
	case h.SpaceDirections != nil:
		for a, d := range h.SpaceDirections {
			spatial[a] = d != nil
		}
	case h.Kinds != nil:
		for a, k := range h.Kinds {
			switch strings.ToLower(k) {
			case "domain", "space", "???", "none":
				spatial[a] = true
			}
		}
	default:
		for a := range n {
			spatial[a] = a < 3
		}
	}
	l := &Layout{VolumeAxis: -1, Volumes: 1}
	for a := range n {
		if spatial[a] {
			l.Spatial = append(l.Spatial, a)
			continue
		}
		if h.Sizes[a] == 1 {
			continue
		}
		if l.VolumeAxis >= 0 {
			return nil, fmt.Errorf("axes %d and %d are both non-spatial; only one volume axis is supported", l.VolumeAxis, a)
		}
		l.VolumeAxis, l.Volumes = a, h.Sizes[a]
	}
	if len(l.Spatial) == 0 || len(l.Spatial) > 3 {
		return nil, fmt.Errorf("%d spatial axes, want 1..3", len(l.Spatial))
	}
	var dims [3]int64
	for i := range 3 {
		dims[i] = 1
		if i < len(l.Spatial) {
			dims[i] = h.Sizes[l.Spatial[i]]
		}
	}
	if _, err := voxio.VoxelCount(dims[:]...); err != nil {
		return nil, err
	}
	if l.Volumes > 1<<20 {
		return nil, fmt.Errorf("volume axis of %d is longer than %d", l.Volumes, 1<<20)
	}
	g := volume.Geometry{Dims: [3]int{int(dims[0]), int(dims[1]), int(dims[2])}}
	if h.SpaceDirections != nil {
		signs := [3]float64{1, 1, 1}
		if s, ok := spaces[h.Space]; ok {
			signs = s.signs
		}
		var aff [4][4]float64
		var cols [3][3]float64
		for i, a := range l.Spatial {
			copy(cols[i][:], h.SpaceDirections[a])
		}
		switch len(l.Spatial) {
		case 1:
			return nil, errors.New("one spatial axis: not an image volume")
		case 2:
			// A 2-D image in 3-D space: the missing axis is the normal.
			c := cross(cols[0], cols[1])
			nrm := math.Sqrt(c[0]*c[0] + c[1]*c[1] + c[2]*c[2])
			for r := range 3 {
				cols[2][r] = c[r] / nrm
			}
		}
		for c := range 3 {
			for r := range 3 {
				aff[r][c] = signs[r] * cols[c][r]
			}
		}
		for r := range min(3, len(h.SpaceOrigin)) {
			aff[r][3] = signs[r] * h.SpaceOrigin[r]
		}
		aff[3][3] = 1
		geo, err := volume.GeometryFromAffineLPS(g.Dims, aff)
		if err != nil {
			return nil, fmt.Errorf("space directions: %w", err)
		}
		g = geo
	} else {
		g.Direction = volume.Identity()
		for i := range 3 {
			g.Spacing[i] = 1
			if i < len(l.Spatial) && h.Spacings != nil {
				if s := math.Abs(h.Spacings[l.Spatial[i]]); s > 0 && !math.IsInf(s, 0) {
					g.Spacing[i] = s
				}
			}
		}
		if h.SpaceOrigin != nil {
			signs := [3]float64{1, 1, 1}
			if s, ok := spaces[h.Space]; ok {
				signs = s.signs
			}
			for r := range min(3, len(h.SpaceOrigin)) {
				g.Origin[r] = signs[r] * h.SpaceOrigin[r]
			}
		}
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	l.Geometry = g
	return l, nil
}

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// Read reads a .nrrd or .nhdr file. Errors name the file.
func Read(path string, opt Options) (*volume.Volume, error) {
	v, _, err := read(path, opt)
	if err != nil {
		return nil, fmt.Errorf("nrrd %s: %w", path, err)
	}
	return v, nil
}

func read(path string, opt Options) (*volume.Volume, *Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	cr := &countReader{r: f}
	br := bufio.NewReaderSize(cr, 1<<16)
	h, err := parseHeader(br)
	if err != nil {
		return nil, nil, err
	}
	l, err := h.Layout()
	if err != nil {
		return nil, nil, err
	}
	pick, err := voxio.PickVolume(l.Volumes, opt.PickVolume, opt.Volume)
	if err != nil {
		return nil, nil, err
	}
	// The data stream: what follows the header, or the detached file.
	var (
		raw      io.Reader = br
		dataSize           = st.Size() - (cr.n - int64(br.Buffered()))
		dataFile           = f
	)
	if h.DataFile != "" {
		name := h.DataFile
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), name)
		}
		df, err := os.Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("data file: %w", err)
		}
		defer df.Close()
		dst, err := df.Stat()
		if err != nil {
			return nil, nil, fmt.Errorf("data file: %w", err)
		}
		raw, dataSize, dataFile = bufio.NewReaderSize(df, 1<<16), dst.Size(), df
	}
	n3 := int64(l.Geometry.Len())
	total := n3 * l.Volumes
	elem := int64(h.Kind.Size())
	// Line skip counts lines of the (compressed or not) data file.
	for range h.LineSkip {
		if _, err := readRawLine(raw); err != nil {
			return nil, nil, fmt.Errorf("line skip: %w", err)
		}
		dataSize = -1 // unknown; only checked for raw below
	}
	var data io.Reader
	switch h.Encoding {
	case "raw":
		if h.ByteSkip == -1 {
			// The voxels are the last bytes of the data file.
			off := dataFileSize(dataFile) - total*elem
			if off < 0 {
				return nil, nil, fmt.Errorf("%w: file too small for %d voxel bytes", voxio.ErrTruncated, total*elem)
			}
			if _, err := dataFile.Seek(off, io.SeekStart); err != nil {
				return nil, nil, err
			}
			raw, dataSize = bufio.NewReaderSize(dataFile, 1<<16), total*elem
		}
		if dataSize >= 0 {
			if err := voxio.CheckAvailable(max(h.ByteSkip, 0)+total*elem, dataSize, false); err != nil {
				return nil, nil, err
			}
		}
		data = raw
	case "gzip":
		if dataSize >= 0 {
			if err := voxio.CheckAvailable(h.ByteSkip+total*elem, dataSize, true); err != nil {
				return nil, nil, err
			}
		}
		zr, err := voxio.Inflate(raw)
		if err != nil {
			return nil, nil, err
		}
		defer zr.Close()
		data = bufio.NewReaderSize(zr, 1<<16)
	case "bzip2":
		if dataSize >= 0 {
			if err := voxio.CheckRatio(h.ByteSkip+total*elem, dataSize, voxio.MaxBzip2Ratio); err != nil {
				return nil, nil, err
			}
		}
		data = bufio.NewReaderSize(bzip2.NewReader(raw), 1<<16)
	case "ascii":
		// Each value takes at least two bytes: a digit and a separator.
		if dataSize >= 0 && total > (dataSize+1)/2 {
			return nil, nil, fmt.Errorf("%w: %d ascii values cannot fit in %d bytes", voxio.ErrTruncated, total, dataSize)
		}
		data = raw
	}
	if h.ByteSkip > 0 {
		if err := voxio.Skip(data, h.ByteSkip); err != nil {
			return nil, nil, fmt.Errorf("byte skip: %w", err)
		}
	}
	v := volume.New(l.Geometry, h.Kind.DType())
	if h.Encoding == "ascii" {
		err = readASCII(data, v.Data, h, l, pick)
	} else {
		err = readBinary(data, v.Data, h, l, pick)
	}
	if err != nil {
		return nil, nil, err
	}
	return v, h, nil
}

func dataFileSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func readRawLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < MaxHeaderBytes {
		if _, err := io.ReadFull(r, one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return string(b), nil
		}
		b = append(b, one[0])
	}
	return "", errors.New("line too long")
}

// split returns, for the volume axis, the number of voxels before it (inner),
// its length, and the number of voxel blocks after it (outer).
func split(h *Header, l *Layout) (inner, length, outer int64) {
	inner, length, outer = 1, 1, 1
	if l.VolumeAxis < 0 {
		for _, s := range h.Sizes {
			inner *= s
		}
		return
	}
	for a, s := range h.Sizes {
		switch {
		case a < l.VolumeAxis:
			inner *= s
		case a == l.VolumeAxis:
			length = s
		default:
			outer *= s
		}
	}
	return
}

// readBinary reads volume pick into dst, striding over the volume axis
// wherever it sits.
func readBinary(r io.Reader, dst []float32, h *Header, l *Layout, pick int64) error {
	inner, length, outer := split(h, l)
	elem := int64(h.Kind.Size())
	if inner*elem >= 1<<16 || length == 1 {
		// Big contiguous runs: skip the other volumes, read ours.
		for q := range outer {
			if err := voxio.Skip(r, pick*inner*elem); err != nil {
				return err
			}
			if err := voxio.ReadInto(r, dst[q*inner:(q+1)*inner], h.Kind, h.Order); err != nil {
				return err
			}
			if err := voxio.Skip(r, (length-pick-1)*inner*elem); err != nil {
				return err
			}
		}
		return nil
	}
	// Interleaved (e.g. a list axis first): read whole groups and pick.
	group := inner * length * elem
	per := max(1, (1<<20)/group)
	buf := make([]byte, per*group)
	for q := int64(0); q < outer; q += per {
		m := min(per, outer-q)
		if n, err := io.ReadFull(r, buf[:m*group]); err != nil {
			return fmt.Errorf("%w: voxel data ended %d bytes early", voxio.ErrTruncated, m*group-int64(n))
		}
		for g := range m {
			off := g*group + pick*inner*elem
			voxio.Decode(dst[(q+g)*inner:(q+g+1)*inner], buf[off:off+inner*elem], h.Kind, h.Order)
		}
	}
	return nil
}

// readASCII parses whitespace-separated numbers, keeping volume pick.
func readASCII(r io.Reader, dst []float32, h *Header, l *Layout, pick int64) error {
	inner, length, outer := split(h, l)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	sc.Split(bufio.ScanWords)
	var idx int64
	total := inner * length * outer
	for idx < total {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w: %d of %d ascii values", voxio.ErrTruncated, idx, total)
		}
		x, err := strconv.ParseFloat(sc.Text(), 64)
		if err != nil {
			return fmt.Errorf("ascii value %d: %.20q is not a number", idx, sc.Text())
		}
		p := idx % inner
		t := (idx / inner) % length
		q := idx / (inner * length)
		if t == pick {
			dst[q*inner+p] = float32(x)
		}
		idx++
	}
	return nil
}
