// Package ear owns everything otoseg means by "an inner ear": the label
// values of a label map with their names and colours (the one label table:
// every writer, picture, report and the review app take them from here), the
// patient side, which ear a labelled voxel belongs to (SplitEars, FindEars)
// and the region of interest the segmenter sees around one ear (Grid,
// DimsFor).
//
// Keeping these in one place is what makes a .seg.nrrd written by `segment
// -o x.seg.nrrd` and by `segment --slicer` identical, and why the snapshot,
// the evaluation and the review app never disagree about left and right.
package ear
