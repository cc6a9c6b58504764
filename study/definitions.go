package study

import (
	"fmt"

	"github.com/otoseg/otoseg/metrics"
)

// Definitions returns the definitions behind every number of the report, in
// the words of docs/evaluate.md; summary.json and report.html both carry them.
func Definitions(toleranceMM float64) []Definition {
	return []Definition{
		{"Structures", "cochlea = label 1, vestibule = label 2, canals = label 3, labyrinth = every label > 0."},
		{"Ears", "Reference labyrinth voxels are projected on the patient's left-right axis (world LPS x of the voxel centre). A gap of at least 20 mm between them splits the case at the middle of the largest gap: x above it is the left ear (LPS +x is patient left), below it the right ear; reference and prediction voxels are assigned by the same plane. Without such a gap the case holds one ear (a temporal-bone crop), on the side of the reference centroid (x > 0 left), and the whole volume belongs to it. 'both' is always the whole volume. An ear without reference voxels gets no rows."},
		{"Surface voxels", "Mask voxels with at least one of their 6 face neighbours outside the mask; voxels beyond the image border count as outside."},
		{"Distances", "From each surface voxel centre of one mask to the nearest surface voxel centre of the other, in mm with the image spacing (exact Euclidean distance transform, anisotropic). The two directed sets are pooled."},
		{"HD", "Hausdorff distance: the maximum of the pooled distances."},
		{"HD95", "95th percentile of the pooled distances (both directions together, as medpy's hd95), linear interpolation (numpy's default)."},
		{"ASSD", "Average symmetric surface distance: the mean of the pooled distances (sum of both directed sums over the number of surface voxels of both masks)."},
		{"NSD", fmt.Sprintf("Normalised surface Dice at %g mm: the share of the pooled distances that are <= %g mm + 1e-6 mm (voxel-count version, as MONAI's compute_surface_dice; the 1e-6 mm absorbs float32-stored spacings).", toleranceMM, toleranceMM)},
		{"Overlap", "Dice = 2|R∩P|/(|R|+|P|), IoU = |R∩P|/|R∪P|, sensitivity = |R∩P|/|R|, precision = |R∩P|/|P|, R the reference and P the predicted mask."},
		{"Volumes", "volume = voxel count × product of the spacings (mm³); AVD = |V_pred − V_ref|; RVD = (V_pred − V_ref)/V_ref."},
		{"Volume agreement", "Per structure, the relative volume difference RVD = (V_pred − V_ref)/V_ref of every ear: n, mean with its 95% bootstrap CI (as for Dice), median and SD, over all ears and per stratum group. Ears whose reference has no voxels of the structure (e.g. aplastic canals) have no RVD: they are excluded from that structure and counted as excluded. SD and CI are not given for fewer than 3 ears."},
		{"Stray pieces", fmt.Sprintf("The pieces of a predicted mask are its 26-connected components. A piece that overlaps the reference or touches it (a reference voxel among its 26 neighbours) is 0 mm from it; any other piece is the smallest distance between the centre of one of its voxels and the centre of a reference voxel, in mm with the image spacing (exact Euclidean distance transform, anisotropic). stray_mm is the largest of these over the pieces, stray_pieces the number of pieces farther than %g mm (+ 1e-6 mm, as for NSD), stray_voxels and stray_mm3 their size. %g mm is several voxels of background and three canal diameters: such a piece is a separate false-positive blob, not disagreement about where a boundary lies. Both masks empty: 0; one empty: NA. The report counts, over the labyrinth of each ear, the ears with a stray piece, and gives the median and largest stray_mm.", metrics.StrayThresholdMM, metrics.StrayThresholdMM)},
		{"Empty masks", "both empty: status both_empty, Dice = IoU = sensitivity = precision = NSD = 1 and distances 0 (perfect agreement, flagged). Empty reference only: status ref_empty, Dice = IoU = precision = NSD = 0, sensitivity, distances and RVD undefined. Empty prediction only: status pred_empty, Dice = IoU = sensitivity = NSD = 0, precision and distances undefined. Undefined values are written NA in cases.csv and counted as n_undefined, never averaged."},
		{"Statistics", "Mean and sample SD (n−1), median and IQR (25th–75th percentiles, linear), 95% CI of the mean by percentile bootstrap (seeded, same numbers on every run). Levels: 'ear' = one value per ear (left and right rows), 'case' = one per case (the 'both' rows)."},
		{"Mann-Whitney U", "Two-sided, scipy.stats.mannwhitneyu defaults: exact distribution when a group has at most 8 values and there are no ties, otherwise normal approximation with tie correction and continuity correction. The statistic is U of the first group."},
		{"Wilcoxon signed-rank", "Two-sided, zero differences dropped (zero_method='wilcox'), no continuity correction: exact distribution for at most 50 pairs without zeros or ties, otherwise normal approximation with tie correction. The statistic is min(W+, W−)."},
		{"Processing time", "Automated seconds per case from --times (case_id,seconds) or from the segmentation sidecars <case_id>.json ('seconds'); manual seconds from the manifest's manual_seconds (0 = unknown). Speed-up = median(manual)/median(automated) over cases with both, and per case manual/automated."},
		{"Likert", "1 usable as is, 2 minor corrections, 3 major corrections, 4 indeterminate/unusable. Shares count every rating (case × reader; a reader's latest rating of a case). Agreement: Cohen's kappa with linear and with quadratic weights for each pair of readers (weights from the level values 1..4, so a level nobody used still counts as a step), Fleiss' kappa when there are three or more readers (cases rated by all). Dice by level is the case-level labyrinth Dice of the rated cases."},
	}
}
