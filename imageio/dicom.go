package imageio

import (
	"fmt"

	"github.com/otoseg/otoseg/volume"
)

// readDICOM reads a DICOM series from a directory, a .zip or a single file.
//
// DICOM-WIRE-IN: the imageio/dicom package (another engineer's) replaces
// this body with
//
//	return dicom.Read(path, dicom.Options{Series: opt.Series})
//
// and honours opt.PickVolume/opt.Volume if it ever reads multi-frame 4-D.
func readDICOM(path string, opt Options) (*volume.Volume, error) {
	_ = opt
	return nil, fmt.Errorf("%s: DICOM reading not available in this build", path)
}
