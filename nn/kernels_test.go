package nn

import (
	"strings"
	"testing"
)

// TestPickKernels checks OTOSEG_KERNELS's choice: empty keeps the fastest,
// a path the CPU runs is taken, anything else is an error naming the paths
// there are (and the fastest is kept).
func TestPickKernels(t *testing.T) {
	avail := []*kernels{{name: "avx512"}, {name: "avx2"}, goKernels}
	for _, tc := range []struct {
		env, want, errHas string
	}{
		{"", "avx512", ""},
		{"avx2", "avx2", ""},
		{"go", "go", ""},
		{"AVX2", "avx512", "avx512, avx2, go"},
		{"neon", "avx512", KernelsEnv + "=neon"},
	} {
		k, err := pickKernels(tc.env, avail)
		if k.name != tc.want {
			t.Errorf("%q: path %s, want %s", tc.env, k.name, tc.want)
		}
		switch {
		case tc.errHas == "" && err != nil:
			t.Errorf("%q: %v", tc.env, err)
		case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("%q: error %v, want one naming %q", tc.env, err, tc.errHas)
		}
	}
	if _, err := pickKernels("avx512", []*kernels{goKernels}); err == nil {
		t.Error("a path this CPU lacks was accepted")
	}
}
