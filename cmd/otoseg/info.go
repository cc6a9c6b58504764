package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomseg"
	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/volume"
)

// infoOptions are the flags of `otoseg info`.
type infoOptions struct {
	JSON       bool
	PickVolume bool
	Volume     int
	Series     string
	MaxMemory  string
}

func newInfoCmd() *cobra.Command {
	opts := infoOptions{}
	cmd := &cobra.Command{
		Use:   "info FILE|DIR [--json] [--volume N] [--series UID]",
		Short: "print an image's dimensions, spacing, origin, direction, orientation, datatype and intensity range",
		Long: `info reads an image (NIfTI .nii/.nii.gz, NRRD .nrrd/.nhdr, MetaImage .mha/.mhd,
or DICOM: a directory or .zip) and prints its geometry and intensity summary.

World coordinates are reported in RAS millimetres, nibabel's convention:
"origin" is img.affine[:3,3] and "direction" is img.affine[:3,:3] with each
column divided by its spacing (row-major 3x3). The same in LPS (DICOM, ITK,
NRRD and MetaImage's convention) is given as origin_lps and direction_lps;
the two differ by the sign of the first two rows.

--json prints one object with the keys dims, spacing, origin, direction, min,
max, mean (and file, format, dtype, orientation, origin_lps, direction_lps,
affine_ras, nan_voxels, inf_voxels; for DICOM also series, the SeriesInstanceUID read,
and dicom_series, every series found, best first; for a 3D Slicer
.seg.nrrd, segments). min/max/mean are of the scaled values (scl_slope /
scl_inter applied) and ignore NaN and Inf voxels. orientation is the axis code
(nibabel's aff2axcodes), e.g. RAS or LPS.

A 4-D file (time series) needs --volume N (0-based).`,
		Example: `  otoseg info scan.nii.gz
  otoseg info dicom/ --json
  otoseg info series.zip --series 1.2.840.113619.2.55.3.1234`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.PickVolume = cmd.Flags().Changed("volume")
			return runInfo(cmd.OutOrStdout(), args[0], opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print JSON instead of text")
	f.IntVar(&opts.Volume, "volume", 0, "0-based index of the volume to read from a 4-D file")
	f.StringVar(&opts.Series, "series", "", "DICOM series to read from a directory or .zip with several series, by SeriesInstanceUID or series number")
	f.StringVar(&opts.MaxMemory, "max-memory", "4GiB", "refuse images whose voxels would need more memory (e.g. 8GiB, or none)")
	return cmd
}

// imageInfo is what info reports; the JSON keys are part of the interface.
type imageInfo struct {
	File         string        `json:"file"`
	Format       string        `json:"format"`
	Dims         [3]int        `json:"dims"`
	Spacing      [3]float64    `json:"spacing"`
	Origin       [3]float64    `json:"origin"`
	Direction    [3][3]float64 `json:"direction"`
	OriginLPS    [3]float64    `json:"origin_lps"`
	DirectionLPS [3][3]float64 `json:"direction_lps"`
	AffineRAS    [4][4]float64 `json:"affine_ras"`
	Orientation  string        `json:"orientation"`
	DType        string        `json:"dtype"`
	Min          *float64      `json:"min"`
	Max          *float64      `json:"max"`
	Mean         *float64      `json:"mean"`
	NaNVoxels    int           `json:"nan_voxels"`
	// InfVoxels counts ±Inf voxels, left out of min/max/mean like NaN
	// (JSON has no Inf, and one would hide the real range).
	InfVoxels int `json:"inf_voxels"`
	// DICOMSeries lists every series of a DICOM folder or .zip, best for the inner ear
	// first; Series is the one read.
	DICOMSeries []dicom.SeriesInfo `json:"dicom_series,omitempty"`
	Series      string             `json:"series,omitempty"`
	// SeriesReason says why Series was read (dicom.Choice.Reason).
	SeriesReason string `json:"series_reason,omitempty"`
	// Segments lists a 3D Slicer segmentation's segments (.seg.nrrd).
	Segments []segmentInfo `json:"segments,omitempty"`
}

type segmentInfo struct {
	Label int    `json:"label"`
	Name  string `json:"name"`
	ID    string `json:"id"`
}

// describe summarises v; world coordinates are converted to RAS as
// nibabel reports them.
func describe(path string, v *volume.Volume) imageInfo {
	info := imageInfo{
		File:         path,
		Format:       imageio.FormatOf(path).String(),
		Dims:         v.Dims,
		Spacing:      v.Spacing,
		OriginLPS:    v.Origin,
		DirectionLPS: v.Direction,
		AffineRAS:    v.AffineRAS(),
		Orientation:  v.AxCodes(),
		DType:        v.DType.String(),
	}
	flip := [3]float64{-1, -1, 1}
	for r := range 3 {
		info.Origin[r] = flip[r] * v.Origin[r]
		for c := range 3 {
			info.Direction[r][c] = flip[r] * v.Direction[r][c]
		}
	}
	// +0 turns -0 into 0 so the printout does not show "-0".
	for r := range 3 {
		info.Origin[r] += 0
		info.OriginLPS[r] += 0
		for c := range 3 {
			info.Direction[r][c] += 0
			info.DirectionLPS[r][c] += 0
		}
		for c := range 4 {
			info.AffineRAS[r][c] += 0
		}
	}
	lo, hi, sum, n := math.Inf(1), math.Inf(-1), 0.0, 0
	for _, x := range v.Data {
		f := float64(x)
		if math.IsNaN(f) {
			info.NaNVoxels++
			continue
		}
		if math.IsInf(f, 0) {
			info.InfVoxels++
			continue
		}
		lo, hi, sum, n = math.Min(lo, f), math.Max(hi, f), sum+f, n+1
	}
	if n > 0 {
		mean := sum / float64(n)
		info.Min, info.Max, info.Mean = &lo, &hi, &mean
	}
	return info
}

func runInfo(w io.Writer, path string, opts infoOptions) error {
	var maxBytes int64
	if opts.MaxMemory != "" {
		var err error
		if maxBytes, err = imageio.ParseBytes(opts.MaxMemory); err != nil {
			return usagef("--max-memory: %v", err)
		}
	}
	v, chosen, err := imageio.ReadChosen(path, imageio.Options{Series: opts.Series, PickVolume: opts.PickVolume, Volume: opts.Volume, MaxBytes: maxBytes})
	if err != nil {
		return err
	}
	info := describe(path, v)
	if imageio.FormatOf(path) == imageio.DICOM {
		if list, err := dicom.ListSeries(path); err == nil && len(list) > 0 {
			info.DICOMSeries = list
			if chosen != nil {
				info.Series, info.SeriesReason = chosen.UID, chosen.Reason
			}
		}
	}
	if imageio.FormatOf(path) == imageio.DICOM && dicomseg.IsSegmentation(path) {
		_, si, err := dicomseg.Read(path)
		if err != nil {
			return err
		}
		for _, sg := range si.Segments {
			info.Segments = append(info.Segments, segmentInfo{Label: sg.Number, Name: sg.Label, ID: sg.Type.Scheme + ":" + sg.Type.Value})
		}
	}
	if imageio.FormatOf(path) == imageio.NRRD {
		segs, err := nrrd.ReadSegments(path)
		if err != nil {
			return err
		}
		for _, sg := range segs {
			info.Segments = append(info.Segments, segmentInfo{Label: sg.LabelValue, Name: sg.Name, ID: sg.ID})
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	num := func(p *float64) string {
		if p == nil {
			return "NA"
		}
		return fmt.Sprintf("%.6g", *p)
	}
	fmt.Fprintf(w, "file         %s\n", info.File)
	fmt.Fprintf(w, "format       %s\n", info.Format)
	fmt.Fprintf(w, "dims         %d x %d x %d\n", info.Dims[0], info.Dims[1], info.Dims[2])
	fmt.Fprintf(w, "spacing      %.6g x %.6g x %.6g mm\n", info.Spacing[0], info.Spacing[1], info.Spacing[2])
	fmt.Fprintf(w, "orientation  %s\n", info.Orientation)
	fmt.Fprintf(w, "origin       %.6g %.6g %.6g (RAS mm; LPS %.6g %.6g %.6g)\n", info.Origin[0], info.Origin[1], info.Origin[2], info.OriginLPS[0], info.OriginLPS[1], info.OriginLPS[2])
	for r := range 3 {
		label := "             "
		if r == 0 {
			label = "direction    "
		}
		fmt.Fprintf(w, "%s% .6f % .6f % .6f%s\n", label, info.Direction[r][0], info.Direction[r][1], info.Direction[r][2], map[bool]string{true: "   (RAS, columns = voxel axes)", false: ""}[r == 0])
	}
	fmt.Fprintf(w, "dtype        %s\n", info.DType)
	fmt.Fprintf(w, "min/max/mean %s / %s / %s\n", num(info.Min), num(info.Max), num(info.Mean))
	for i, sg := range info.Segments {
		label := "             "
		if i == 0 {
			label = "segments     "
		}
		fmt.Fprintf(w, "%s%d %s (%s)\n", label, sg.Label, sg.Name, sg.ID)
	}
	if info.NaNVoxels > 0 {
		fmt.Fprintf(w, "NaN voxels   %d (ignored above)\n", info.NaNVoxels)
	}
	if info.InfVoxels > 0 {
		fmt.Fprintf(w, "Inf voxels   %d (ignored above)\n", info.InfVoxels)
	}
	for _, s := range info.DICOMSeries {
		mark := " "
		if s.UID == info.Series {
			mark = "*"
		}
		fmt.Fprintf(w, "series     %s %s\n", mark, s)
	}
	if info.SeriesReason != "" {
		fmt.Fprintf(w, "read       * %s\n", info.SeriesReason)
	}
	return nil
}
