//go:build !amd64

package nn

// availableKernels lists the paths this CPU can run: the portable Go path.
func availableKernels() []*kernels { return []*kernels{goKernels} }
