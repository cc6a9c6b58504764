// Package phantom makes synthetic temporal-bone CT volumes with exact
// inner-ear labels (1 cochlea, 2 vestibule, 3 semicircular canals), varied
// the way a multicentre cohort varies: anatomy drawn per subject, nine
// pathologies with a severity, and scanner protocols per centre (spacing,
// field of view, point-spread blur, noise, metal streaks, calibration,
// patient position).
//
// The anatomy is analytic: signed-distance solids (spheres, ellipsoids,
// boxes, tubes with round or elliptic sections along centre curves) in an
// anatomical frame, painted in order. Rasterisation is per voxel on the
// output grid, with supersampling only where a surface passes through a
// voxel; labels are voted by the same samples, so they are the exact
// ground truth on the grid the image is on. Every voxel depends only on its
// position and the seed, so output does not depend on the number of
// goroutines or their scheduling.
//
// Generate makes one case in memory; Plan and Cohort lay out and write a
// cohort (NIfTI images and labels, JSON sidecars, manifest.csv); NonEar
// makes a CT of another body part without an inner ear.
package phantom
