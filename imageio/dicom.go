package imageio

import (
	"fmt"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomseg"
	"github.com/otoseg/otoseg/volume"
)

// readDICOM reads a DICOM series from a directory, a .zip or a single file
// with package imageio/dicom: opt.Series picks a SeriesInstanceUID or a
// series number, empty the best series for the inner ear (dicom.ListSeries
// lists them, best first). DICOM series are 3-D, so only volume 0 can be
// picked. A DICOM Segmentation file is read as its label map (package
// dicomseg), with no series choice.
func readDICOM(path string, opt Options) (*volume.Volume, *dicom.Choice, error) {
	if opt.PickVolume && opt.Volume != 0 {
		return nil, nil, fmt.Errorf("%s: a DICOM series is one 3-D volume; volume %d does not exist", path, opt.Volume)
	}
	if dicomseg.IsSegmentation(path) {
		v, _, err := dicomseg.Read(path)
		return v, nil, err
	}
	v, c, err := dicom.ReadChosen(path, dicom.Options{Series: opt.Series, MaxBytes: opt.limit(), Check: opt.Check})
	if err != nil {
		return nil, nil, err
	}
	return v, &c, nil
}
