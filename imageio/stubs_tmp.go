package imageio

import (
	"fmt"

	"github.com/otoseg/otoseg/volume"
)

func readNRRD(path string, opt Options) (*volume.Volume, error) {
	return nil, fmt.Errorf("%s: NRRD reading is being written", path)
}
func readMetaImage(path string, opt Options) (*volume.Volume, error) {
	return nil, fmt.Errorf("%s: MetaImage reading is being written", path)
}
func writeNRRD(path string, v *volume.Volume) error {
	return fmt.Errorf("%s: NRRD writing is being written", path)
}
func writeMetaImage(path string, v *volume.Volume) error {
	return fmt.Errorf("%s: MetaImage writing is being written", path)
}
