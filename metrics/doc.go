// Package metrics compares a predicted label map with a reference one, per
// ear and per structure, with the overlap and surface-distance metrics of
// the validation study. Every definition is stated here because a reviewer
// must be able to recompute each number:
//
//   - Overlap: Dice = 2|R∩P|/(|R|+|P|), IoU = |R∩P|/|R∪P|,
//     sensitivity = |R∩P|/|R|, precision = |R∩P|/|P|.
//   - Surface voxels: mask voxels with at least one of their 6 face
//     neighbours outside the mask; voxels beyond the image border count as
//     outside (scipy binary_erosion with border_value=0, as medpy and MONAI).
//   - Distances: from each surface voxel centre of one mask to the nearest
//     surface voxel centre of the other, in mm, by an exact anisotropic
//     Euclidean distance transform restricted to the bounding box of both
//     surfaces (exact, since the box holds every feature and query voxel).
//     Both directed sets are pooled: HD is their maximum, HD95 their 95th
//     percentile (linear interpolation; medpy's hd95), ASSD their mean, and
//     NSD the share of them within the tolerance (MONAI's voxel-count
//     surface Dice).
//   - Volumes: voxel count times the product of the spacings.
//   - Stray pieces: each 26-connected piece of the prediction is 0 mm from
//     the reference when it overlaps or touches it (a reference voxel among
//     its 26 neighbours), else the smallest distance between the centres of
//     one of its voxels and a reference voxel; StrayMM is the largest over
//     the pieces, StrayPieces counts those farther than StrayThresholdMM.
//   - Empty masks: see Status. Undefined values are NaN in Result; callers
//     print them as NA and count them rather than average them.
//
// Evaluate adds the label structure (1 cochlea, 2 vestibule, 3 canals, > 0
// labyrinth), the split into ears by the patient's left-right axis, and the
// bounding-box crop that keeps whole-head scans cheap. testdata/ holds the
// script that computes the expected values with scipy and plastimatch.
package metrics
