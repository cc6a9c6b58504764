package imageio

import (
	"fmt"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/volume"
)

// readDICOM reads a DICOM series from a directory, a .zip or a single file
// with package imageio/dicom: opt.Series picks a SeriesInstanceUID or a
// series number, empty the best series for the inner ear (dicom.ListSeries
// lists them, best first). DICOM series are 3-D, so only volume 0 can be
// picked.
func readDICOM(path string, opt Options) (*volume.Volume, *dicom.Choice, error) {
	if opt.PickVolume && opt.Volume != 0 {
		return nil, nil, fmt.Errorf("%s: a DICOM series is one 3-D volume; volume %d does not exist", path, opt.Volume)
	}
	v, c, err := dicom.ReadChosen(path, dicom.Options{Series: opt.Series, MaxBytes: opt.limit()})
	if err != nil {
		return nil, nil, err
	}
	return v, &c, nil
}
