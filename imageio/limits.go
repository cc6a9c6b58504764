package imageio

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/imageio/metaimage"
	"github.com/otoseg/otoseg/imageio/nifti"
	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/volume"
)

// DefaultMaxBytes is the memory a read may take when Options.MaxBytes is 0:
// 4 GiB, eight times a 512 x 512 x 1000 CT (1 GiB as float32), so no scan a
// scanner writes is refused while a 4 MB .nii.gz that claims 1536 x 1536 x
// 900 voxels (8 GiB as float32) is refused from its header, in milliseconds,
// instead of driving the machine into swap.
const DefaultMaxBytes int64 = 4 << 30

// ErrTooLarge reports an image whose voxels would need more memory than
// Options.MaxBytes allows (errors.Is).
var ErrTooLarge = dicom.ErrTooLarge

// BytesPerVoxel is what a read holds per voxel: volume.Volume keeps every
// voxel as float32, whatever the file's datatype. Readers stream the file
// into that slice, so its size is the whole cost.
const BytesPerVoxel = 4

// Header is what Probe learns without reading voxels.
type Header struct {
	Format   Format
	Geometry volume.Geometry
	// Series is the DICOM series a read would take, and why (nil for
	// other formats).
	Series *dicom.Choice
}

// ReadBytes is the memory a read of the image takes.
func (h Header) ReadBytes() int64 { return BytesPerVoxel * int64(h.Geometry.Len()) }

// Probe reads the header of the image at path (for DICOM, every file's
// header, choosing the series as ReadWith would): its format and geometry,
// to size a read or a segmentation before any voxel is read.
func Probe(path string, opt Options) (Header, error) {
	h := Header{Format: FormatOf(path)}
	switch h.Format {
	case NIfTI:
		info, err := nifti.ReadHeader(path)
		if err != nil {
			return h, err
		}
		h.Geometry = info.Geometry
	case NRRD:
		hd, err := nrrd.ReadHeader(path)
		if err != nil {
			return h, err
		}
		l, err := hd.Layout()
		if err != nil {
			return h, fmt.Errorf("nrrd %s: %w", path, err)
		}
		h.Geometry = l.Geometry
	case MetaImage:
		hd, err := metaimage.ReadHeader(path)
		if err != nil {
			return h, err
		}
		g, err := hd.Geometry()
		if err != nil {
			return h, fmt.Errorf("metaimage %s: %w", path, err)
		}
		h.Geometry = g
	case DICOM:
		c, err := dicom.Probe(path, dicom.Options{Series: opt.Series})
		if err != nil {
			return h, err
		}
		h.Series = &c
		h.Geometry.Dims = c.Dims
	default:
		return h, unknownFormat(path)
	}
	return h, nil
}

// limit is the memory ceiling opt sets: DefaultMaxBytes for 0, none (-1)
// for a negative value.
func (opt Options) limit() int64 {
	switch {
	case opt.MaxBytes == 0:
		return DefaultMaxBytes
	case opt.MaxBytes < 0:
		return -1
	}
	return opt.MaxBytes
}

// CheckMemory refuses need bytes when they exceed opt's ceiling, naming
// the file, what needs them, the estimate, the limit and how to raise it.
func CheckMemory(path, what string, need int64, opt Options) error {
	lim := opt.limit()
	if lim < 0 || need <= lim {
		return nil
	}
	return fmt.Errorf("%s: %w: %s needs about %s, more than the limit of %s (raise it with the MaxBytes option, --max-memory on the command line)",
		path, ErrTooLarge, what, voxio.FormatBytes(need), voxio.FormatBytes(lim))
}

// ParseBytes reads a memory size for a command-line flag: a number with an
// optional binary unit (K, M, G, T, with or without "iB"/"B", any case:
// "4GiB", "6g", "1.5G", "512M"), or "none"/"unlimited" for no limit (-1).
// A bare number is bytes.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "none" || t == "unlimited" {
		return -1, nil
	}
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	mult := 1.0
	if n := len(t); n > 0 {
		if i := strings.IndexByte("kmgt", t[n-1]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			t = t[:n-1]
		}
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(x > 0) || math.IsInf(x*mult, 0) || x*mult >= 1<<62 {
		return 0, fmt.Errorf("memory size %q: want a positive number with an optional unit (e.g. 4GiB, 512M), or none", s)
	}
	return int64(x * mult), nil
}
