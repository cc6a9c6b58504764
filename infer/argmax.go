package infer

// Argmax turns C planes of per-class probabilities (or logits) of n voxels
// each into a label map; ties go to the lower class.
func Argmax(prob []float32, classes int) []uint8 {
	n := len(prob) / classes
	out := make([]uint8, n)
	for i := 0; i < n; i++ {
		best, bv := 0, prob[i]
		for c := 1; c < classes; c++ {
			if v := prob[c*n+i]; v > bv {
				best, bv = c, v
			}
		}
		out[i] = uint8(best)
	}
	return out
}
