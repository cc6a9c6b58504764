// Package imageio reads and writes 3-D medical images in the formats otoseg
// supports, choosing the format from the file name: NIfTI (.nii, .nii.gz,
// .hdr/.img), NRRD (.nrrd, .nhdr, .seg.nrrd), MetaImage (.mha, .mhd) and
// DICOM (a directory of series, or a .zip of one).
//
// Every reader fills volume.Volume's LPS geometry and DType; every writer
// keeps them, and writes atomically (a temporary file renamed into place) so
// a failed write never leaves a partial image behind. Errors name the file.
package imageio

import (
	"fmt"
	"os"
	"strings"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/nifti"
	"github.com/otoseg/otoseg/volume"
)

// Format is a file format imageio knows.
type Format int

// Formats, as chosen by FormatOf.
const (
	Unknown Format = iota
	NIfTI
	NRRD
	MetaImage
	DICOM
)

func (f Format) String() string {
	switch f {
	case NIfTI:
		return "NIfTI"
	case NRRD:
		return "NRRD"
	case MetaImage:
		return "MetaImage"
	case DICOM:
		return "DICOM"
	}
	return "unknown"
}

// Options choose what ReadWith returns when a file holds more than one
// 3-D volume.
type Options struct {
	// Series is the DICOM SeriesInstanceUID or SeriesNumber to read from a
	// directory or .zip holding several series; empty reads the best for
	// the inner ear (dicom.ListSeries lists them, best first, and says by
	// what rule).
	Series string
	// MaxBytes is the most memory a read may take, checked from the header
	// before any voxel is read (the error wraps ErrTooLarge): 0 means
	// DefaultMaxBytes, a negative value no limit.
	MaxBytes int64
	// PickVolume selects Volume, a 0-based index, from a 4-D file (a time
	// series). Without it, reading a 4-D file is an error that says how
	// many volumes it holds.
	PickVolume bool
	Volume     int
	// Check, when set, is called with the image's geometry once its header
	// is read and before any voxel is; a read it refuses stops with its
	// error. A caller whose memory grows with the image (segmentation)
	// checks there rather than probing the file first, which for a DICOM
	// folder is a second pass over every file.
	Check func(volume.Geometry) error
}

// suffixes maps every file name ending otoseg reads to its format, longest
// first so that ".nii.gz" wins over ".gz" lookalikes and ".seg.nrrd" over
// ".nrrd" when an ending is trimmed.
var suffixes = []struct {
	suffix string
	f      Format
}{
	{".seg.nrrd", NRRD}, {".nii.gz", NIfTI}, {".hdr.gz", NIfTI},
	{".nii", NIfTI}, {".hdr", NIfTI},
	{".nrrd", NRRD}, {".nhdr", NRRD},
	{".mha", MetaImage}, {".mhd", MetaImage},
	{".zip", DICOM}, {".dcm", DICOM},
}

// FormatOf returns the format of path from its extension (case-insensitive);
// a directory is DICOM.
func FormatOf(path string) Format {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return DICOM
	}
	_, f := splitSuffix(path)
	return f
}

// TrimExtension returns name without the image file ending FormatOf
// recognises (".nii.gz", ".seg.nrrd", ".mha", ...), or name unchanged when it
// has none: the case id that segmentation outputs and evaluation share.
func TrimExtension(name string) string {
	n, _ := splitSuffix(name)
	return name[:n]
}

// splitSuffix returns the length of path without its image ending and the
// ending's format (len(path) and Unknown when there is none).
func splitSuffix(path string) (int, Format) {
	p := strings.ToLower(path)
	for _, e := range suffixes {
		if strings.HasSuffix(p, e.suffix) {
			return len(path) - len(e.suffix), e.f
		}
	}
	return len(path), Unknown
}

// WriteExtensions lists the file name endings Write accepts, in the order
// a reader of label maps should try them.
var WriteExtensions = []string{".nii.gz", ".nii", ".seg.nrrd", ".nrrd", ".nhdr", ".mha", ".mhd"}

// Read reads the 3-D image at path.
func Read(path string) (*volume.Volume, error) {
	return ReadWith(path, Options{})
}

// ReadWith reads the image at path with options.
func ReadWith(path string, opt Options) (*volume.Volume, error) {
	v, _, err := ReadChosen(path, opt)
	return v, err
}

// ReadChosen is ReadWith that also returns, for DICOM, the series read and
// why it was chosen (nil for other formats).
func ReadChosen(path string, opt Options) (*volume.Volume, *dicom.Choice, error) {
	var (
		v      *volume.Volume
		choice *dicom.Choice
		err    error
	)
	f := FormatOf(path)
	if f == Unknown {
		return nil, nil, unknownFormat(path)
	}
	if f != DICOM {
		// DICOM checks its chosen series' size itself, after the one
		// header pass it needs anyway.
		h, err := Probe(path, opt)
		if err != nil {
			return nil, nil, err
		}
		// The caller's check first: it sizes the whole job, the read only
		// itself.
		if opt.Check != nil {
			if err := opt.Check(h.Geometry); err != nil {
				return nil, nil, err
			}
		}
		d := h.Geometry.Dims
		if err := CheckMemory(path, fmt.Sprintf("reading %dx%dx%d voxels", d[0], d[1], d[2]), h.ReadBytes(), opt); err != nil {
			return nil, nil, err
		}
	}
	switch f {
	case NIfTI:
		v, err = nifti.Read(path, nifti.Options{PickVolume: opt.PickVolume, Volume: opt.Volume})
	case NRRD:
		v, err = readNRRD(path, opt)
	case MetaImage:
		v, err = readMetaImage(path, opt)
	case DICOM:
		v, choice, err = readDICOM(path, opt)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := v.Check(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, choice, nil
}

func unknownFormat(path string) error {
	return fmt.Errorf("%s: unknown image format (want a directory, .zip, or a file ending in .nii, .nii.gz, .hdr, .nrrd, .nhdr, .mha or .mhd)", path)
}

// CheckWritable reports whether Write can write path's format, by its
// name alone: commands check their outputs with it before any work.
func CheckWritable(path string) error {
	p := strings.ToLower(path)
	for _, e := range WriteExtensions {
		if strings.HasSuffix(p, e) {
			return nil
		}
	}
	if strings.HasSuffix(p, ".hdr") || strings.HasSuffix(p, ".hdr.gz") {
		return fmt.Errorf("%s: writing .hdr/.img pairs is not supported; use .nii or .nii.gz", path)
	}
	return fmt.Errorf("%s: cannot write this format; the output name must end in one of %s", path, strings.Join(WriteExtensions, ", "))
}

// Write writes v to path in the format its extension names, atomically. A
// name ending in .seg.nrrd writes a 3D Slicer segmentation (uint8, one
// segment per label present, see Segments) and refuses volumes that are not
// label maps.
func Write(path string, v *volume.Volume) error {
	if v == nil {
		return fmt.Errorf("%s: nil volume", path)
	}
	if err := CheckWritable(path); err != nil {
		return err
	}
	switch FormatOf(path) {
	case NIfTI:
		return nifti.Write(path, v)
	case NRRD:
		if strings.HasSuffix(strings.ToLower(path), ".seg.nrrd") {
			return writeSegmentation(path, v)
		}
		return writeNRRD(path, v)
	case MetaImage:
		return writeMetaImage(path, v)
	}
	return fmt.Errorf("%s: cannot write this format; the output name must end in one of %s", path, strings.Join(WriteExtensions, ", "))
}
