package nn

// kernels is one implementation of the engine's inner loops. The engine
// picks the fastest one the CPU supports once (bestKernels); tests force each
// in turn through convEngine.kern / upEngine.kern.
type kernels struct {
	name string
}

var goKernels = &kernels{name: "go"}

// availableKernels lists the paths this CPU can run, fastest first; the
// portable Go path is always last.
func availableKernels() []*kernels { return []*kernels{goKernels} }

// bestKernels is the path layers use unless told otherwise.
func bestKernels() *kernels { return availableKernels()[0] }
