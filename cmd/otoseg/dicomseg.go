package main

import (
	"fmt"
	"os"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomseg"
	"github.com/otoseg/otoseg/models"
	"github.com/otoseg/otoseg/segment"
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

// modelChecksum is the content checksum of the model folder dir, or of the
// built-in baseline when dir is empty.
func modelChecksum(dir string) (string, error) {
	if dir == "" {
		return segment.ModelChecksum(models.Baseline())
	}
	return segment.ModelChecksum(os.DirFS(dir))
}

// writeDICOMSeg writes the label map at labelsPath, segmented from the
// DICOM series in (series picks one), as a DICOM Segmentation at segPath.
func writeDICOMSeg(in, series, labelsPath, segPath, modelDir string) error {
	ref, err := dicom.ReadReference(in, dicom.Options{Series: series})
	if err != nil {
		return err
	}
	labels, err := imageio.Read(labelsPath)
	if err != nil {
		return err
	}
	sum, err := modelChecksum(modelDir)
	if err != nil {
		return err
	}
	segs := make([]dicomseg.Segment, 3)
	for i := range segs {
		s := imageio.LabelSegment(i + 1)
		segs[i] = dicomseg.Segment{Label: i + 1, Name: s.Name, Color: s.Color}
	}
	return dicomseg.Write(segPath, labels, ref, dicomseg.Options{
		Segments: segs, Algorithm: "otoseg", Version: moduleVersion(), ModelChecksum: sum,
		SeriesDescription: "otoseg inner ear segmentation",
	})
}
