package prefault

import "testing"

func TestMakeIsZeroedAndSized(t *testing.T) {
	for _, n := range []int{0, 1, 1000, MinFloats - 1, MinFloats, MinFloats + 12345} {
		b := Make(n)
		if len(b) != n {
			t.Fatalf("Make(%d) has length %d", n, len(b))
		}
		for i, x := range b {
			if x != 0 {
				t.Fatalf("Make(%d)[%d] = %v, want 0", n, i, x)
			}
		}
		if n > 0 {
			b[n-1] = 1 // writable to the end
		}
	}
}
