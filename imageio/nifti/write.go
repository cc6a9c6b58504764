package nifti

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/volume"
)

// WriteOptions tune Write.
type WriteOptions struct {
	// Version is 1 or 2; 0 picks NIfTI-1 unless a dimension exceeds its
	// 16-bit limit (32767).
	Version int
}

// Write writes v as a single-file NIfTI (.nii, or gzip-compressed when the
// name ends in .gz) with the voxels in v.DType, atomically.
func Write(path string, v *volume.Volume) error {
	return WriteWith(path, v, WriteOptions{})
}

// WriteWith is Write with options.
func WriteWith(path string, v *volume.Volume, opt WriteOptions) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("nifti %s: %w", path, err)
	}
	h, err := headerFor(v, opt.Version)
	if err != nil {
		return fmt.Errorf("nifti %s: %w", path, err)
	}
	k := voxio.FromDType(v.DType)
	err = atomicfile.Write(path, func(w io.Writer) error {
		var zw io.WriteCloser
		if strings.HasSuffix(strings.ToLower(path), ".gz") {
			zw = voxio.Compress(w)
			w = zw
		}
		if _, err := w.Write(h.marshal()); err != nil {
			return err
		}
		if err := voxio.WriteFrom(w, v.Data, k, binary.LittleEndian); err != nil {
			return err
		}
		if zw != nil {
			return zw.Close()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("nifti: %w", err) // names path already
	}
	return nil
}

// headerFor builds the header for v: sform and qform both set (code 1,
// scanner) to the same affine so that every reader agrees on it.
func headerFor(v *volume.Volume, version int) (*Header, error) {
	if version == 0 {
		version = 1
		for _, d := range v.Dims {
			if d > math.MaxInt16 {
				version = 2
			}
		}
	}
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("NIfTI version %d, want 1 or 2", version)
	}
	if version == 1 {
		for _, d := range v.Dims {
			if d > math.MaxInt16 {
				return nil, fmt.Errorf("dimension %d exceeds NIfTI-1's limit of %d", d, math.MaxInt16)
			}
		}
	}
	k := voxio.FromDType(v.DType)
	h := &Header{
		Version:   version,
		Order:     binary.LittleEndian,
		Dim:       [8]int64{3, int64(v.Dims[0]), int64(v.Dims[1]), int64(v.Dims[2]), 1, 1, 1, 1},
		Datatype:  codeOfKind[k],
		Bitpix:    8 * k.Size(),
		SclSlope:  1,
		QformCode: 1,
		SformCode: 1,
		XYZTUnits: 2, // mm
		Descrip:   "otoseg",
	}
	h.VoxOffset = int64(h.Size() + 4)
	a := v.AffineRAS()
	for r := range 3 {
		h.Srow[r] = a[r]
		h.QOffset[r] = a[r][3]
	}
	// Rotation part for the qform: RAS direction cosines, with the third
	// column negated (qfac = -1) when the axes are left-handed.
	var rot [3][3]float64
	for r := range 3 {
		for c := range 3 {
			rot[r][c] = a[r][c] / v.Spacing[c]
		}
	}
	qfac := 1.0
	if volume.Det3(rot) < 0 {
		qfac = -1
		for r := range 3 {
			rot[r][2] = -rot[r][2]
		}
	}
	b, c, d := matToQuat(rot)
	h.Quatern = [3]float64{b, c, d}
	h.Pixdim = [8]float64{qfac, v.Spacing[0], v.Spacing[1], v.Spacing[2], 1, 1, 1, 1}
	return h, nil
}
