//go:build amd64

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func dcAVX512(args *dcArgs)

//go:noescape
func wgAVX512(args *wgArgs)

var avx512Kernels = &kernels{name: "avx512", dc: dcAVX512, wg: wgAVX512}

// availableKernels lists the paths this CPU can run, fastest first; the
// portable Go path is always last. AVX-512 needs the F subset (and the OS
// saving the zmm state, which x/sys/cpu checks).
func availableKernels() []*kernels {
	var ks []*kernels
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernels)
	}
	return append(ks, goKernels)
}
