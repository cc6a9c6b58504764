// Package dicom reads CT and other grey-level DICOM series into volumes:
// a folder of one or more series (searched recursively), a .zip of one, or
// a single file.
//
// Files are parsed with github.com/suyashkumar/dicom after a structural
// scan (scan.go) that makes corrupt or hostile files an error naming the
// file instead of a panic or a 4 GiB allocation. Slices are grouped by
// SeriesInstanceUID, ordered by ImagePositionPatient projected on the slice
// normal, spaced by their positions (not SliceThickness) and rescaled to
// Hounsfield units with RescaleSlope/RescaleIntercept. Gantry tilt, missing
// or uneven slices, duplicate positions, mixed orientations and mixed sizes
// are refused with a message that says which files disagree.
//
// Pixel data may be native (8, 16 or 32 bits, signed or unsigned, any
// BitsStored), RLE Lossless or JPEG Lossless process 14 (any predictor),
// decoded here in Go; other compressed transfer syntaxes are refused by name
// and UID.
//
// Geometry is LPS (volume's convention): origin = ImagePositionPatient of
// the first slice along the normal; direction columns = row cosine (the
// direction of increasing column index), column cosine, normal.
package dicom
