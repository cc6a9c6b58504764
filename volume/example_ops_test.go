package volume_test

import (
	"fmt"

	"github.com/otoseg/otoseg/volume"
)

// Bring a CT to an isotropic 0.25 mm grid and its label map with it.
func ExampleResample() {
	g := volume.Geometry{Dims: [3]int{100, 100, 40}, Spacing: [3]float64{0.4, 0.4, 0.6}, Direction: volume.Identity()}
	ct := volume.New(g, volume.Int16)
	labels := volume.New(g, volume.Uint8)
	labels.Set(50, 50, 20, 1)

	iso, _ := volume.Resample(ct, [3]float64{0.25, 0.25, 0.25}, volume.BSpline)
	seg, _ := volume.ResampleLabels(labels, [3]float64{0.25, 0.25, 0.25})
	fmt.Println(iso.Dims, iso.Spacing, iso.DType)
	fmt.Println(seg.Dims, seg.DType)
	// Output:
	// [160 160 96] [0.25 0.25 0.25] int16
	// [160 160 96] uint8
}

// Reorienting permutes and flips the axes; the world position of every
// voxel stays where it was.
func ExampleReorient() {
	g := volume.Geometry{Dims: [3]int{4, 3, 2}, Spacing: [3]float64{1, 1, 2}, Direction: volume.Identity()}
	v := volume.New(g, volume.Float32)
	v.Set(3, 0, 1, 7)
	ras, _ := volume.Reorient(v, "RAS")
	fmt.Println(v.AxCodes(), "->", ras.AxCodes(), ras.Origin)
	fmt.Println(v.World(3, 0, 1), ras.World(0, 2, 1), ras.At(0, 2, 1))
	// Output:
	// LPS -> RAS [3 2 0]
	// [3 0 2] [3 0 2] 7
}
