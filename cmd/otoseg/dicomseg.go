package main

import (
	"fmt"
	"time"

	"github.com/otoseg/otoseg/batch/segjob"
	"github.com/otoseg/otoseg/imageio"
)

// checkDICOMSegInput refuses --dicom-seg before any work when IN is not one
// DICOM series: a Segmentation references the images it was made from.
func checkDICOMSegInput(in string, batch bool) error {
	if batch {
		return fmt.Errorf("--dicom-seg: %s is a folder of image files; a DICOM Segmentation is made from one DICOM series (a folder or .zip of DICOM files)", in)
	}
	if f := imageio.FormatOf(in); f != imageio.DICOM {
		return fmt.Errorf("--dicom-seg: %s is %s, not DICOM: a DICOM Segmentation must reference the DICOM images it was made from; segment the DICOM series itself", in, f)
	}
	return nil
}

// writeDICOMSeg writes the label map at labelsPath, segmented from the
// DICOM series in (series picks one), as a DICOM Segmentation at segPath.
func writeDICOMSeg(in, series, labelsPath, segPath, modelDir string) error {
	sum, err := segjob.ModelChecksum(modelDir)
	if err != nil {
		return err
	}
	return segjob.WriteSEG(in, series, labelsPath, segPath, sum, moduleVersion(), time.Time{})
}
