package dicom

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Series choice.
//
// A study folder holds several series of one patient: the scout, the axial
// stack in a bone and a soft-tissue kernel, reformats, dose reports. The
// inner ear is read on the thinnest original axial stack reconstructed with
// a sharp (bone, "high resolution") kernel: a soft kernel blurs the 1-2 mm
// semicircular canals into the bone around them, and reformats and MIPs are
// interpolated. Rank orders the series as a radiologist picks them, most
// decisive criterion first:
//
//  1. readable (transfer syntax supported), then modality CT;
//  2. not a localiser: no ImageType LOCALIZER, and at least minStackSlices
//     slices (a scout is 1-3 images);
//  3. original, not derived: ImageType value 1 ORIGINAL, value 2 PRIMARY
//     (DERIVED or SECONDARY mark reformats, MIPs and screen captures);
//  4. kernel: sharp/bone before unknown before soft (KernelClass);
//  5. thinnest slices (spacing measured from positions), then smallest
//     pixels, each within a rounding tolerance;
//  6. most voxels, then the SeriesInstanceUID, so the order is total.
//
// Kernel names are vendor specific. KernelClass reads ConvolutionKernel
// (0018,1210) and, when that says nothing, the SeriesDescription:
//
//   - words: BONE, BONEPLUS, SHARP, EDGE, LUNG, KNOCHEN, OSSEOUS, INNER EAR,
//     IAC, HR (high resolution) are sharp; SOFT, STANDARD, STND, SMOOTH,
//     BRAIN, CEREBRUM, WEICH, MEDIASTINUM are soft;
//   - Siemens names a kernel by a letter or two (B body, H head, U ultra
//     high resolution, J, Q, and Br/Hr/Ur/Qr for the ADMIRE-era "regular"
//     ones) and a sharpness number: 60 and above (H60s, H70h, B70f, Hr64,
//     Ur77, J70h) is a bone/sharp kernel, 45 and below (H30s, H31s, B30f,
//     Br36, Hr38, Qr40) soft (Siemens kernel naming, syngo CT Application
//     Guide; sharpness scale 10-90);
//   - Canon/Toshiba FC numbers: FC30-FC39 and FC80-FC89 are the bone and
//     high-resolution (temporal bone, inner ear) kernels, FC01-FC29 body and
//     brain, soft (Canon Aquilion reconstruction kernel tables);
//   - Philips single letters: D, E, YC, YD, YE, YF are sharp, A, B, C, UB, UC
//     soft (Philips Brilliance/iCT filter list).
//
// A kernel the rule does not know is "unknown" and ranks between the two,
// so an unlabelled series is never passed over for a soft one.

// minStackSlices is the fewest slices a series needs to be taken for a 3-D
// stack rather than a scout (scouts are 1-3 images; a temporal-bone CT at
// 0.6 mm is 40 or more).
const minStackSlices = 5

// Tolerances within which slice and pixel spacings count as equal: scanners
// print positions and spacings rounded, and a 0.01 mm difference is not a
// reason to prefer a soft-kernel series.
const (
	sliceTolMM = 0.05
	pixelTolMM = 0.01
)

// Kernel classes, as KernelClass returns them.
const (
	KernelSharp   = "sharp"
	KernelUnknown = "unknown"
	KernelSoft    = "soft"
)

var (
	siemensKernel = regexp.MustCompile(`^(?:[BHUJQTVDIPSC][a-z]?)(\d{2})[a-z]?$`)
	canonKernel   = regexp.MustCompile(`^FC(\d{2})$`)
	sharpWords    = []string{"BONE", "SHARP", "EDGE", "LUNG", "KNOCHEN", "OSSEOUS", "INNER EAR", "INNEREAR", "IAC", "HIGH RES", "HIGHRES", "HR"}
	softWords     = []string{"SOFT", "STANDARD", "STND", "SMOOTH", "BRAIN", "CEREBRUM", "WEICH", "MEDIASTIN"}
	philipsSharp  = map[string]bool{"D": true, "E": true, "YC": true, "YD": true, "YE": true, "YF": true}
	philipsSoft   = map[string]bool{"A": true, "B": true, "C": true, "UB": true, "UC": true}
)

// KernelClass classifies a reconstruction kernel (ConvolutionKernel), or
// failing that a series description, as KernelSharp, KernelSoft or
// KernelUnknown by the rule in this file's comment.
func KernelClass(kernel, description string) string {
	if c := classifyKernel(kernel); c != KernelUnknown {
		return c
	}
	return classifyWords(description)
}

func classifyKernel(kernel string) string {
	for _, part := range strings.Split(kernel, `\`) {
		k := strings.TrimSpace(part)
		if k == "" {
			continue
		}
		if m := siemensKernel.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			switch {
			case n >= 60:
				return KernelSharp
			case n <= 45:
				return KernelSoft
			}
			continue
		}
		up := strings.ToUpper(k)
		if m := canonKernel.FindStringSubmatch(up); m != nil {
			n, _ := strconv.Atoi(m[1])
			if (n >= 30 && n <= 39) || (n >= 80 && n <= 89) {
				return KernelSharp
			}
			return KernelSoft
		}
		switch {
		case philipsSharp[up]:
			return KernelSharp
		case philipsSoft[up]:
			return KernelSoft
		}
		if c := classifyWords(k); c != KernelUnknown {
			return c
		}
	}
	return KernelUnknown
}

// classifyWords looks for the words of the rule in free text, as whole
// words (so "HR" matches "Bone HR 0.6" but not "CHRONIC").
func classifyWords(text string) string {
	words := strings.FieldsFunc(strings.ToUpper(text), func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	joined := " " + strings.Join(words, " ") + " "
	has := func(list []string) bool {
		for _, w := range list {
			if strings.Contains(joined, " "+w+" ") || (len(w) > 3 && strings.Contains(joined, " "+w)) {
				return true
			}
		}
		return false
	}
	switch {
	case has(sharpWords):
		return KernelSharp
	case has(softWords):
		return KernelSoft
	}
	return KernelUnknown
}

// Choice is the series Read takes and why.
type Choice struct {
	SeriesInfo
	// Reason says in a line why this series was taken: what it is and what
	// the others were passed over for, or that it was asked for.
	Reason string `json:"reason"`
	// Found is the number of image series in the input.
	Found int `json:"series_found"`
}

// rankKey orders series; smaller is better on every field.
func rankKey(s SeriesInfo) [4]int {
	b := func(x bool) int {
		if x {
			return 0
		}
		return 1
	}
	kernel := map[string]int{KernelSharp: 0, KernelUnknown: 1, KernelSoft: 2}[s.KernelClass]
	return [4]int{b(s.Supported), b(s.Modality == "CT"), b(!s.scout()), b(!s.Derived)*3 + kernel}
}

// scout reports a localiser or a series too short to be a stack.
func (s SeriesInfo) scout() bool { return s.Localizer || s.Slices < minStackSlices }

// rank sorts infos best first (see the rule above).
func rank(infos []SeriesInfo) {
	sort.SliceStable(infos, func(a, b int) bool {
		x, y := infos[a], infos[b]
		if kx, ky := rankKey(x), rankKey(y); kx != ky {
			for i := range kx {
				if kx[i] != ky[i] {
					return kx[i] < ky[i]
				}
			}
		}
		if d := x.SliceSpacingMM - y.SliceSpacingMM; math.Abs(d) > sliceTolMM {
			return d < 0
		}
		px, py := math.Max(x.PixelSpacingMM[0], x.PixelSpacingMM[1]), math.Max(y.PixelSpacingMM[0], y.PixelSpacingMM[1])
		if d := px - py; math.Abs(d) > pixelTolMM {
			return d < 0
		}
		vx, vy := x.Dims[0]*x.Dims[1]*x.Dims[2], y.Dims[0]*y.Dims[1]*y.Dims[2]
		if vx != vy {
			return vx > vy
		}
		return x.UID < y.UID
	})
}

// summary is what a series is, for reasons: "CT, sharp kernel H70h, 119
// slices of 0.6 mm, 0.4 mm pixels".
func (s SeriesInfo) summary() string {
	var parts []string
	parts = append(parts, nonEmpty(s.Modality, "no modality"))
	switch {
	case s.Localizer:
		parts = append(parts, "localiser")
	case s.Slices < minStackSlices:
		parts = append(parts, fmt.Sprintf("only %d slices (scout-like)", s.Slices))
	}
	if s.Derived {
		parts = append(parts, "derived/secondary")
	}
	k := s.KernelClass + " kernel"
	if s.Kernel != "" {
		k += " " + s.Kernel
	} else if s.KernelClass != KernelUnknown {
		k += " (from the description)"
	}
	parts = append(parts, k)
	parts = append(parts, fmt.Sprintf("%d slices of %.3g mm, %.3g mm pixels", s.Slices, s.SliceSpacingMM, math.Max(s.PixelSpacingMM[0], s.PixelSpacingMM[1])))
	if !s.Supported {
		parts = append(parts, "unsupported transfer syntax")
	}
	return strings.Join(parts, ", ")
}

// label names a series briefly: #3 "Bone 0.6".
func (s SeriesInfo) label() string {
	return fmt.Sprintf("#%d %q", s.Number, nonEmpty(s.Description, "no description"))
}

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// reason explains why ranked[0] was taken over the others.
func reason(ranked []SeriesInfo) string {
	best := ranked[0]
	r := fmt.Sprintf("series %s: %s", best.label(), best.summary())
	if len(ranked) == 1 {
		return r + "; the only image series"
	}
	var over []string
	for _, s := range ranked[1:] {
		over = append(over, fmt.Sprintf("%s (%s)", s.label(), whyNot(best, s)))
	}
	return r + "; preferred over " + strings.Join(over, ", ")
}

// whyNot names the first criterion on which s lost to best.
func whyNot(best, s SeriesInfo) string {
	switch {
	case !s.Supported && best.Supported:
		return "unsupported transfer syntax"
	case s.Modality != "CT" && best.Modality == "CT":
		return "modality " + nonEmpty(s.Modality, "missing")
	case s.scout() && !best.scout():
		if s.Localizer {
			return "localiser"
		}
		return fmt.Sprintf("only %d slices", s.Slices)
	case s.Derived && !best.Derived:
		return "derived/secondary"
	case s.KernelClass != best.KernelClass:
		return s.KernelClass + " kernel" + map[bool]string{true: " " + s.Kernel, false: ""}[s.Kernel != ""]
	case s.SliceSpacingMM-best.SliceSpacingMM > sliceTolMM:
		return fmt.Sprintf("%.3g mm slices", s.SliceSpacingMM)
	case math.Max(s.PixelSpacingMM[0], s.PixelSpacingMM[1])-math.Max(best.PixelSpacingMM[0], best.PixelSpacingMM[1]) > pixelTolMM:
		return fmt.Sprintf("%.3g mm pixels", math.Max(s.PixelSpacingMM[0], s.PixelSpacingMM[1]))
	}
	return "fewer voxels or later UID"
}

// pick finds the series sel names: a SeriesInstanceUID, or a SeriesNumber
// held by exactly one series. ok is false when none matches; err reports a
// number several series share.
func pick(infos []SeriesInfo, sel string) (SeriesInfo, bool, error) {
	for _, s := range infos {
		if s.UID == sel {
			return s, true, nil
		}
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(sel), "#"))
	if err != nil {
		return SeriesInfo{}, false, nil
	}
	var hits []SeriesInfo
	for _, s := range infos {
		if s.Number == n {
			hits = append(hits, s)
		}
	}
	switch len(hits) {
	case 0:
		return SeriesInfo{}, false, nil
	case 1:
		return hits[0], true, nil
	}
	var uids []string
	for _, s := range hits {
		uids = append(uids, s.UID)
	}
	return SeriesInfo{}, false, fmt.Errorf("%d series have number %d (%s): choose one by its UID", len(hits), n, strings.Join(uids, ", "))
}
