package imageio

import (
	"github.com/otoseg/otoseg/imageio/metaimage"
	"github.com/otoseg/otoseg/imageio/nrrd"
	"github.com/otoseg/otoseg/volume"
)

func readNRRD(path string, opt Options) (*volume.Volume, error) {
	return nrrd.Read(path, nrrd.Options{PickVolume: opt.PickVolume, Volume: opt.Volume})
}

func readMetaImage(path string, opt Options) (*volume.Volume, error) {
	return metaimage.Read(path, metaimage.Options{PickVolume: opt.PickVolume, Volume: opt.Volume})
}

func writeNRRD(path string, v *volume.Volume) error { return nrrd.Write(path, v) }

func writeMetaImage(path string, v *volume.Volume) error { return metaimage.Write(path, v) }
