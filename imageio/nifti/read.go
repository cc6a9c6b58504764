package nifti

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/volume"
)

// Options choose what Read returns from a 4-D file.
type Options struct {
	// PickVolume selects Volume (0-based) of a 4-D file; without it a 4-D
	// file is an error.
	PickVolume bool
	Volume     int
}

// maxVolumes caps the 4th-and-higher dimensions so offsets cannot overflow.
const maxVolumes = 1 << 20

// Info is what ReadHeader learns about a file without reading its voxels.
type Info struct {
	Header *Header
	// Kind is the on-disk voxel type.
	Kind voxio.Kind
	// Volumes is the number of 3-D volumes (product of dims 4..7).
	Volumes int64
	// AffineSource says which of sform, qform, pixdim gave the geometry.
	AffineSource string
	Geometry     volume.Geometry
}

// Read reads a NIfTI-1 or NIfTI-2 file (.nii, .nii.gz, or the .hdr of a
// .hdr/.img pair). Errors name the file.
func Read(path string, opt Options) (*volume.Volume, error) {
	v, err := read(path, opt)
	if err != nil {
		return nil, fmt.Errorf("nifti %s: %w", path, err)
	}
	return v, nil
}

// ReadHeader reads only the header and the geometry it implies.
func ReadHeader(path string) (*Info, error) {
	src, err := voxio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nifti %s: %w", path, err)
	}
	defer src.Close()
	info, err := readInfo(src)
	if err != nil {
		return nil, fmt.Errorf("nifti %s: %w", path, err)
	}
	return info, nil
}

func readInfo(src *voxio.Source) (*Info, error) {
	buf := make([]byte, size2)
	if n, err := io.ReadFull(src, buf[:4]); err != nil {
		return nil, fmt.Errorf("reading header: %w (got %d bytes)", err, n)
	}
	size := headerSize(buf)
	if size == 0 {
		return nil, fmt.Errorf("not a NIfTI file: sizeof_hdr is neither 348 nor 540")
	}
	if n, err := io.ReadFull(src, buf[4:size]); err != nil {
		return nil, fmt.Errorf("truncated header: %d of %d bytes", n+4, size)
	}
	h, err := parseHeader(buf[:size])
	if err != nil {
		return nil, err
	}
	return checkHeader(h)
}

// checkHeader refuses headers no image can have, and derives the geometry.
func checkHeader(h *Header) (*Info, error) {
	nd := h.Dim[0]
	if nd < 1 || nd > 7 {
		return nil, fmt.Errorf("dim[0] is %d, want 1..7", nd)
	}
	var dims3 [3]int64
	for i := range 3 {
		dims3[i] = 1
		if int64(i+1) <= nd {
			dims3[i] = h.Dim[i+1]
		}
	}
	if _, err := voxio.VoxelCount(dims3[:]...); err != nil {
		return nil, err
	}
	nvol := int64(1)
	for i := int64(4); i <= nd; i++ {
		d := h.Dim[i]
		if d <= 0 {
			return nil, fmt.Errorf("dim[%d] is %d, want > 0", i, d)
		}
		if nvol > maxVolumes/d {
			return nil, fmt.Errorf("dims 4..%d hold more than %d volumes", nd, maxVolumes)
		}
		nvol *= d
	}
	if h.VoxOffset < 0 || h.VoxOffset > 1<<40 {
		return nil, fmt.Errorf("vox_offset %d is out of range", h.VoxOffset)
	}
	k, ok := kindOfCode[h.Datatype]
	if !ok {
		return nil, fmt.Errorf("unsupported datatype code %d (supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64)", h.Datatype)
	}
	for i := range 3 {
		p := h.Pixdim[i+1]
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("pixdim[%d] is %g", i+1, p)
		}
	}
	aff, src, err := h.BestAffine()
	if err != nil {
		return nil, err
	}
	dims := [3]int{int(dims3[0]), int(dims3[1]), int(dims3[2])}
	g, err := volume.GeometryFromAffineRAS(dims, aff)
	if err == nil {
		err = g.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%s affine: %w", src, err)
	}
	return &Info{Header: h, Kind: k, Volumes: nvol, AffineSource: src, Geometry: g}, nil
}

func read(path string, opt Options) (*volume.Volume, error) {
	src, err := voxio.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	info, err := readInfo(src)
	if err != nil {
		return nil, err
	}
	h := info.Header
	pick, err := voxio.PickVolume(info.Volumes, opt.PickVolume, opt.Volume)
	if err != nil {
		return nil, err
	}
	n := int64(info.Geometry.Len())
	volBytes := n * int64(info.Kind.Size())
	// Positions count bytes from the start of the (decompressed) stream
	// that holds the voxels: the .img of a pair, else the .nii itself,
	// whose header was consumed already.
	data, pos, start := src, int64(h.Size()), max(h.VoxOffset, int64(h.Size()+4))
	if h.Pair {
		img, err := pairImage(path)
		if err != nil {
			return nil, err
		}
		if data, err = voxio.Open(img); err != nil {
			return nil, fmt.Errorf("image file of the pair: %w", err)
		}
		defer data.Close()
		pos, start = 0, max(h.VoxOffset, 0)
	}
	if err := data.CheckAvailable(start + (pick+1)*volBytes); err != nil {
		return nil, err
	}
	if err := voxio.Skip(data, start+pick*volBytes-pos); err != nil {
		return nil, err
	}
	v := volume.New(info.Geometry, info.Kind.DType())
	if err := voxio.ReadInto(data, v.Data, info.Kind, h.Order); err != nil {
		return nil, err
	}
	applyScaling(v, h.SclSlope, h.SclInter, info.Kind)
	return v, nil
}

// pairImage names the .img of a .hdr (keeping a .gz suffix).
func pairImage(path string) (string, error) {
	for _, s := range []string{".hdr", ".HDR"} {
		for _, gz := range []string{"", ".gz"} {
			if strings.HasSuffix(path, s+gz) {
				return strings.TrimSuffix(path, s+gz) + map[string]string{".hdr": ".img", ".HDR": ".IMG"}[s] + gz, nil
			}
		}
	}
	return "", errors.New("header says the voxels are in a separate .img file, but the file name does not end in .hdr")
}

// applyScaling applies scl_slope/scl_inter as nibabel does (slope 0 or NaN
// means unscaled). Integer data scaled by integers stays an integer type when
// its range allows, so label maps and CT numbers keep their exact values.
func applyScaling(v *volume.Volume, slope, inter float64, k voxio.Kind) {
	if slope == 0 || math.IsNaN(slope) || math.IsInf(slope, 0) {
		return
	}
	if math.IsNaN(inter) || math.IsInf(inter, 0) {
		inter = 0
	}
	if slope == 1 && inter == 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, x := range v.Data {
		y := float32(float64(x)*slope + inter)
		v.Data[i] = y
		lo = math.Min(lo, float64(y))
		hi = math.Max(hi, float64(y))
	}
	v.DType = volume.Float32
	if !k.IsInt() || slope != math.Trunc(slope) || inter != math.Trunc(inter) {
		return
	}
	for _, d := range []volume.DType{k.DType(), volume.Int16, volume.Int32} {
		if r, ok := dtypeRange[d]; ok && lo >= r[0] && hi <= r[1] {
			v.DType = d
			return
		}
	}
}

// dtypeRange is the range of integers each integer DType holds exactly
// (int32 only up to 2^24, float32's exact-integer range).
var dtypeRange = map[volume.DType][2]float64{
	volume.Uint8:  {0, math.MaxUint8},
	volume.Int16:  {math.MinInt16, math.MaxInt16},
	volume.Uint16: {0, math.MaxUint16},
	volume.Int32:  {-(1 << 24), 1 << 24},
}
