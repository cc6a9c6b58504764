package dicomseg

import (
	"math"
	"strconv"

	"github.com/otoseg/otoseg/imageio/dicomenc"
)

// AnatomicalStructure is the segmented property category of every otoseg
// segment (DICOM CID 7150, SNOMED CT).
var AnatomicalStructure = dicomenc.Code{Value: "123037004", Scheme: "SCT", Meaning: "Anatomical Structure"}

// PropertyType returns the segmented property type code of an otoseg label
// (CID 7151-style: the structure itself).
//
// The cochlea's is SNOMED CT 80169004, as DICOM's anatomic region context
// groups list it. The vestibule's, SNOMED CT 45006007, comes from a SNOMED
// body-site value set. For the bony semicircular canals no SNOMED concept
// could be verified here (the SNOMED semicircular *duct* is the membranous
// duct inside them), so they carry a private code (scheme 99OTOSEG, which
// PS3.16 8.2 allows) rather than a wrong public one. Labels otoseg does
// not name get a private code too.
func PropertyType(label int, name string) dicomenc.Code {
	switch label {
	case 1:
		return dicomenc.Code{Value: "80169004", Scheme: "SCT", Meaning: "Cochlea"}
	case 2:
		return dicomenc.Code{Value: "45006007", Scheme: "SCT", Meaning: "Vestibule"}
	case 3:
		return dicomenc.Code{Value: "SCC", Scheme: PrivateScheme, Meaning: "Semicircular canals"}
	}
	return dicomenc.Code{Value: "L" + strconv.Itoa(label), Scheme: PrivateScheme, Meaning: name}
}

// PrivateScheme is the coding scheme designator of otoseg's private codes.
const PrivateScheme = "99OTOSEG"

// cieLab converts an sRGB colour (components 0..1) to DICOM's scaled
// CIELab (PS3.3 C.10.7.1.1: L* 0..100 and a*, b* -128..127 mapped onto
// 0..65535), D65 white as DICOM uses.
func cieLab(rgb [3]float64) [3]uint16 {
	lin := func(c float64) float64 {
		c = math.Min(math.Max(c, 0), 1)
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	r, g, b := lin(rgb[0]), lin(rgb[1]), lin(rgb[2])
	x := (0.4124*r + 0.3576*g + 0.1805*b) / 0.95047
	y := 0.2126*r + 0.7152*g + 0.0722*b
	z := (0.0193*r + 0.1192*g + 0.9505*b) / 1.08883
	f := func(t float64) float64 {
		if t > 216.0/24389 {
			return math.Cbrt(t)
		}
		return (24389.0/27*t + 16) / 116
	}
	fx, fy, fz := f(x), f(y), f(z)
	L, A, B := 116*fy-16, 500*(fx-fy), 200*(fy-fz)
	scale := func(v, lo, hi float64) uint16 {
		return uint16(math.Round(math.Min(math.Max((v-lo)/(hi-lo), 0), 1) * 65535))
	}
	return [3]uint16{scale(L, 0, 100), scale(A, -128, 127), scale(B, -128, 127)}
}
