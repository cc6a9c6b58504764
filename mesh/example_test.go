package mesh_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/otoseg/otoseg/mesh"
	"github.com/otoseg/otoseg/volume"
)

// The surface of label 1, smoothed and written as STL in LPS millimetres.
func ExampleMarchingCubes() {
	g := volume.NewGeometry([3]int{10, 10, 10}, [3]float64{0.5, 0.5, 0.5})
	seg := volume.New(g, volume.Uint8)
	for k := 3; k < 7; k++ {
		for j := 3; j < 7; j++ {
			for i := 3; i < 7; i++ {
				seg.Set(i, j, k, 1)
			}
		}
	}
	m, err := mesh.MarchingCubes(seg, mesh.Label(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	top := m.Topology()
	fmt.Printf("%d vertices, %d triangles, closed %v, Euler %d, volume %.3f mm³\n",
		m.NumVertices(), m.NumTriangles(), top.Closed(), top.Euler, m.Volume())
	m.Taubin(10, 0.5, -0.53)
	dir, _ := os.MkdirTemp("", "mesh")
	defer os.RemoveAll(dir)
	fmt.Println(mesh.WriteFile(filepath.Join(dir, "label1.stl"), m))
	// Output:
	// 96 vertices, 188 triangles, closed true, Euler 2, volume 7.333 mm³
	// <nil>
}
