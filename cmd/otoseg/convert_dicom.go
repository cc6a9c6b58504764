package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/segment"
	"github.com/otoseg/otoseg/volume"
)

// writeDICOMSeries writes v as a CT series folder out (convert --to dicom),
// naming patient and series after the input file.
func writeDICOMSeries(log io.Writer, in, out string, v *volume.Volume) error {
	name := segment.CaseName(in)
	err := dicom.WriteSeries(out, v, dicom.WriteOptions{
		PatientName: name, PatientID: name,
		StudyDescription: "otoseg convert", SeriesDescription: name,
		SeriesNumber: 1, Software: "otoseg " + moduleVersion(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s (DICOM CT series, %d slices of %dx%d, %s)\n", out, v.Dims[2], v.Dims[0], v.Dims[1], v.AxCodes())
	return nil
}

// moduleVersion is otoseg's module version, "(devel)" in a source build.
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
