package metrics

// Label is a voxel type label maps come in: uint8 in network space, float32
// in volume.Volume.
type Label interface{ ~uint8 | ~float32 }

// DiceOf is the Dice coefficient of the voxels that in selects in two label
// arrays of one grid, 1 when both selections are empty. It is the overlap
// alone, for the hot loops (validation every epoch, threshold calibration)
// that do not need Compare's surface distances.
func DiceOf[T Label](ref, pred []T, in func(T) bool) float64 {
	var inter, na, nb int
	for i := range ref {
		x, y := in(ref[i]), in(pred[i])
		if x {
			na++
		}
		if y {
			nb++
		}
		if x && y {
			inter++
		}
	}
	if na+nb == 0 {
		return 1
	}
	return 2 * float64(inter) / float64(na+nb)
}
