package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/otoseg/otoseg/internal/safeout"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/volume"
)

// convertOptions are the flags of `otoseg convert`.
type convertOptions struct {
	Spacing    string
	Interp     string
	PickVolume bool
	Volume     int
	Series     string
	Out        string
	To         string // "dicom" writes a CT series folder
}

func newConvertCmd() *cobra.Command {
	opts := convertOptions{}
	cmd := &cobra.Command{
		Use:   "convert IN -o OUT [--spacing x,y,z] [--interp linear|bspline|nearest] [--volume N] [--series UID]",
		Short: "convert an image between formats, optionally resampling it",
		Long: `convert reads IN (NIfTI, NRRD, MetaImage, or DICOM: a directory or .zip) and
writes OUT in the format its extension names: .nii, .nii.gz, .nrrd, .seg.nrrd,
.nhdr, .mha or .mhd. Geometry (spacing, origin, direction) and the voxel
datatype are kept; the write is atomic.

--spacing x,y,z (mm; one value means isotropic) resamples onto a grid of that
spacing with the same origin and direction, keeping the physical extent as
closely as whole voxels allow. --interp chooses the interpolation; it defaults
to nearest for integer datatypes (label maps: uint8, int16, uint16, int32) and
linear for float32/float64. Pass --interp linear to smooth an integer CT.

A 4-D file (time series) needs --volume N (0-based). OUT may also be given
as a second argument (convert IN OUT). OUT may not be IN.

--to dicom writes OUT as a new folder holding a CT Image Storage series, one
file per slice, with the volume's geometry and values (16-bit with
RescaleSlope/Intercept); phantoms converted this way can be sent to a PACS.`,
		Example: `  otoseg convert dicom/ -o scan.nii.gz
  otoseg convert scan.nii.gz -o scan_iso.nii.gz --spacing 0.3
  otoseg convert labels.nii.gz -o labels.seg.nrrd
  otoseg convert phantom.nii.gz -o phantom_dicom/ --to dicom`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.PickVolume = cmd.Flags().Changed("volume")
			out := opts.Out
			if len(args) == 2 {
				if out != "" {
					return usagef("give OUT once: as -o or as the second argument")
				}
				out = args[1]
			}
			if out == "" {
				return usagef("-o OUT is required")
			}
			return runConvert(cmd.ErrOrStderr(), args[0], out, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Out, "out", "o", "", "output image; its extension names the format")
	f.StringVar(&opts.Spacing, "spacing", "", "resample to this spacing in mm: x,y,z or one value for isotropic")
	f.StringVar(&opts.Interp, "interp", "", "interpolation for --spacing: nearest, linear or bspline (default: nearest for integer types, linear for float)")
	f.IntVar(&opts.Volume, "volume", 0, "0-based index of the volume to read from a 4-D file")
	f.StringVar(&opts.Series, "series", "", "DICOM SeriesInstanceUID to read from a directory or .zip with several series")
	f.StringVar(&opts.To, "to", "", "dicom: write OUT as a new folder holding a CT image series (one file per slice)")
	return cmd
}

// parseSpacing parses "x,y,z" or "s" (isotropic) into positive spacings.
func parseSpacing(s string) ([3]float64, error) {
	var sp [3]float64
	parts := strings.Split(s, ",")
	if len(parts) != 1 && len(parts) != 3 {
		return sp, fmt.Errorf("--spacing %q: want x,y,z or a single value", s)
	}
	for i := range 3 {
		p := parts[min(i, len(parts)-1)]
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(v > 0) || v > 1e6 {
			return sp, fmt.Errorf("--spacing %q: %q is not a positive number of mm", s, p)
		}
		sp[i] = v
	}
	return sp, nil
}

// defaultInterp is nearest for integer datatypes (label maps keep their
// labels) and linear for floating point.
func defaultInterp(dt volume.DType) volume.Interp {
	if dt == volume.Float32 || dt == volume.Float64 {
		return volume.Linear
	}
	return volume.Nearest
}

func runConvert(log io.Writer, in, out string, opts convertOptions) error {
	switch opts.To {
	case "":
		if err := safeout.File(out, in); err != nil {
			return usageError{err}
		}
		if err := imageio.CheckWritable(out); err != nil {
			return usageError{err}
		}
	case "dicom":
		if err := safeout.Dir(out, in); err != nil {
			return usageError{err}
		}
	default:
		return usagef("--to %s: the only output kind convert chooses by flag is dicom", opts.To)
	}
	var (
		spacing [3]float64
		interp  volume.Interp
		err     error
	)
	if opts.Spacing != "" {
		if spacing, err = parseSpacing(opts.Spacing); err != nil {
			return usageError{err}
		}
	} else if opts.Interp != "" {
		return usagef("--interp %s given without --spacing: nothing to interpolate", opts.Interp)
	}
	if opts.Interp != "" {
		if interp, err = volume.ParseInterp(opts.Interp); err != nil {
			return usagef("--interp: %w", err)
		}
	}
	v, err := imageio.ReadWith(in, imageio.Options{Series: opts.Series, PickVolume: opts.PickVolume, Volume: opts.Volume})
	if err != nil {
		return err
	}
	if opts.Spacing != "" {
		if opts.Interp == "" {
			interp = defaultInterp(v.DType)
		}
		r, err := volume.Resample(v, spacing, interp)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		fmt.Fprintf(log, "resampled %dx%dx%d at %.4gx%.4gx%.4g mm to %dx%dx%d at %.4gx%.4gx%.4g mm (%v)\n",
			v.Dims[0], v.Dims[1], v.Dims[2], v.Spacing[0], v.Spacing[1], v.Spacing[2],
			r.Dims[0], r.Dims[1], r.Dims[2], r.Spacing[0], r.Spacing[1], r.Spacing[2], interp)
		v = r
	}
	if opts.To == "dicom" {
		return writeDICOMSeries(log, in, out, v)
	}
	if err := imageio.Write(out, v); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s (%s, %dx%dx%d, %v, %s)\n", out, imageio.FormatOf(out), v.Dims[0], v.Dims[1], v.Dims[2], v.DType, v.AxCodes())
	return nil
}
