package dicom

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/otoseg/otoseg/imageio/internal/voxio"
	"github.com/otoseg/otoseg/volume"
)

// Options selects what Read returns.
type Options struct {
	// Series is the SeriesInstanceUID, or the SeriesNumber, of the series
	// to read. Empty takes the first of ListSeries: the best series for the
	// inner ear by the rule in rank.go (CT, no scout, original, bone
	// kernel, thinnest slices, smallest pixels).
	Series string
	// MaxBytes refuses, before any pixel is read, a series whose volume
	// would take more memory than this (float32 voxels); 0 or less is no
	// limit beyond volume.MaxVoxels. The error wraps ErrTooLarge.
	MaxBytes int64
	// Check, when set, is called with the chosen series' geometry before
	// any pixel is read; a series it refuses is not read (its error is
	// returned as it is).
	Check func(volume.Geometry) error
}

// ErrTooLarge reports an image whose voxels would take more memory than
// the caller allows (Options.MaxBytes).
var ErrTooLarge = errors.New("image too large for the memory limit")

// SeriesInfo describes one series found by ListSeries.
type SeriesInfo struct {
	UID            string `json:"uid"`
	Number         int    `json:"number"`
	Description    string `json:"description"`
	Modality       string `json:"modality"`
	Slices         int    `json:"slices"`
	Dims           [3]int `json:"dims"` // columns, rows, slices
	TransferSyntax string `json:"transfer_syntax"`
	// Supported is false when the series' transfer syntax is refused.
	Supported bool `json:"supported"`
	// Kernel is ConvolutionKernel (0018,1210); KernelClass is "sharp",
	// "soft" or "unknown" (KernelClass, from the kernel or the description).
	Kernel      string `json:"kernel"`
	KernelClass string `json:"kernel_class"`
	// Localizer: ImageType LOCALIZER on every image. Derived: ImageType
	// DERIVED or SECONDARY (reformats, MIPs, screen captures).
	Localizer bool `json:"localizer"`
	Derived   bool `json:"derived"`
	// SliceSpacingMM is measured from the slice positions (SliceThickness
	// for a single slice); PixelSpacingMM is PixelSpacing (row, column).
	SliceSpacingMM float64    `json:"slice_spacing_mm"`
	PixelSpacingMM [2]float64 `json:"pixel_spacing_mm"`
}

func (s SeriesInfo) String() string {
	desc := s.Description
	if desc == "" {
		desc = "no description"
	}
	kernel := s.KernelClass + " kernel"
	if s.Kernel != "" {
		kernel = s.Kernel + " " + kernel
	}
	return fmt.Sprintf("%s (#%d %s %q, %s, %dx%dx%d)", s.UID, s.Number, s.Modality, desc, kernel, s.Dims[0], s.Dims[1], s.Dims[2])
}

// ListSeries lists the image series under path (a folder searched
// recursively, a .zip, or one file), best first by the rule in rank.go:
// the one Read picks by default comes first.
func ListSeries(path string) ([]SeriesInfo, error) {
	src, err := openSource(path, defaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer src.close()
	series, err := collect(src, path)
	if err != nil {
		return nil, err
	}
	return series.infos(), nil
}

// Read reads one series under path as a volume with LPS geometry and values
// rescaled by RescaleSlope/RescaleIntercept (Hounsfield units for CT).
func Read(path string, opt Options) (*volume.Volume, error) {
	v, _, err := read(path, opt, defaultLimits)
	return v, err
}

// ReadChosen is Read that also says which series it read and why, for the
// console and the segmentation's sidecar.
func ReadChosen(path string, opt Options) (*volume.Volume, Choice, error) {
	return read(path, opt, defaultLimits)
}

// Probe chooses the series Read would read, from the headers alone: what a
// caller checks (its size against a memory limit, its description) before
// any pixel is decoded.
func Probe(path string, opt Options) (Choice, error) {
	src, err := openSource(path, defaultLimits)
	if err != nil {
		return Choice{}, fmt.Errorf("%s: %w", path, err)
	}
	defer src.close()
	series, err := collect(src, path)
	if err != nil {
		return Choice{}, err
	}
	_, c, err := series.choose(path, opt.Series)
	return c, err
}

func read(path string, opt Options, lim limits) (*volume.Volume, Choice, error) {
	src, err := openSource(path, lim)
	if err != nil {
		return nil, Choice{}, fmt.Errorf("%s: %w", path, err)
	}
	defer src.close()
	return readFrom(src, path, opt)
}

// readFrom reads a series from src; path labels series-level errors.
func readFrom(src source, path string, opt Options) (*volume.Volume, Choice, error) {
	series, err := collect(src, path)
	if err != nil {
		return nil, Choice{}, err
	}
	slices, choice, err := series.choose(path, opt.Series)
	if err != nil {
		return nil, choice, err
	}
	slices = dropLocalizers(slices)
	for _, sl := range slices {
		if sl.unsupported != nil {
			return nil, choice, fmt.Errorf("%s: %w", sl.name, sl.unsupported)
		}
	}
	g, err := assemble(slices)
	if err != nil {
		return nil, choice, fmt.Errorf("%s: series %s: %w", path, slices[0].seriesUID, err)
	}
	if err := g.Validate(); err != nil {
		return nil, choice, fmt.Errorf("%s: series %s: %w", path, slices[0].seriesUID, err)
	}
	if opt.Check != nil {
		if err := opt.Check(g); err != nil {
			return nil, choice, err
		}
	}
	if opt.MaxBytes > 0 {
		s := slices[0]
		if need := 4 * int64(s.rows) * int64(s.cols) * int64(len(slices)); need > opt.MaxBytes {
			return nil, choice, fmt.Errorf("%s: series %s: %w: reading %dx%dx%d voxels needs about %s, more than the limit of %s (raise it with the MaxBytes option, --max-memory on the command line)",
				path, s.seriesUID, ErrTooLarge, s.cols, s.rows, len(slices), voxio.FormatBytes(need), voxio.FormatBytes(opt.MaxBytes))
		}
	}
	v := volume.New(g, volume.Float32)
	n := g.Dims[0] * g.Dims[1]
	// Slices decode independently into their own part of v.Data, so a few
	// workers share them; each holds one file's bytes at a time.
	workers := min(runtime.GOMAXPROCS(0), 8, len(slices))
	next := make(chan int)
	errs := make([]error, len(slices))
	var failed atomic.Bool // once a slice fails, the rest are skipped
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tab rescaleTable
			var buf []byte // one file's bytes at a time, reused
			for k := range next {
				if failed.Load() {
					continue
				}
				if buf, errs[k] = readSlice(src, &slices[k], v.Data[k*n:(k+1)*n], &tab, buf); errs[k] != nil {
					failed.Store(true)
				}
			}
		}()
	}
	for k := range slices {
		next <- k
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, choice, err
		}
	}
	v.DType = pickDType(slices, v.Data)
	return v, choice, nil
}

// readSlice reads the pixels of the slice first found by the header pass
// into dst, checking the file still says what it said then. It reads the
// file into buf's storage when that is large enough, and returns the
// buffer for the next file.
func readSlice(src source, first *slice, dst []float32, tab *rescaleTable, buf []byte) ([]byte, error) {
	data, err := src.read(first.name, buf)
	if err != nil {
		return buf, fmt.Errorf("%s: %w", first.name, err)
	}
	sl, payload, err := parseSlice(first.name, data, withPixels)
	if err != nil {
		return data, fmt.Errorf("%s: %w", first.name, err)
	}
	if sl.seriesUID != first.seriesUID || sl.rows != first.rows || sl.cols != first.cols || sl.ts != first.ts || sl.ipp != first.ipp {
		return data, fmt.Errorf("%s: file changed while being read", first.name)
	}
	if err := decodePixels(&sl, payload, dst, tab); err != nil {
		return data, fmt.Errorf("%s: %w", first.name, err)
	}
	return data, nil
}

// dropLocalizers removes scout images from a series that also holds other
// images: they lie across the stack and would make it unreadable.
func dropLocalizers(slices []slice) []slice {
	var kept []slice
	for _, s := range slices {
		if !s.localizer {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		return slices
	}
	return kept
}

// seriesSet holds the image files found, grouped by SeriesInstanceUID.
type seriesSet map[string][]slice

// collect reads every file's header in src.
func collect(src source, path string) (seriesSet, error) {
	set := seriesSet{}
	dicomFiles := 0
	err := src.each(func(name string, data []byte) error {
		dicomFiles++
		if isSegmentation(data) {
			return nil // a SEG beside its CT (a PACS export): not a slice
		}
		sl, _, err := parseSlice(name, data, headerOnly)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if sl.hasPixels {
			set[sl.seriesUID] = append(set[sl.seriesUID], sl)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(set) == 0 {
		if dicomFiles == 0 {
			return nil, fmt.Errorf("%s: no DICOM files found", path)
		}
		return nil, fmt.Errorf("%s: %d DICOM files but no image series among them", path, dicomFiles)
	}
	return set, nil
}

// infos lists the series, the default choice first (see rank).
func (set seriesSet) infos() []SeriesInfo {
	var out []SeriesInfo
	for uid, all := range set {
		sls := dropLocalizers(all)
		s := sls[0]
		info := SeriesInfo{
			UID: uid, Number: s.seriesNumber, Description: s.description, Modality: s.modality,
			Slices: len(sls), Dims: [3]int{s.cols, s.rows, len(sls)}, Supported: true,
			Kernel: s.kernel, KernelClass: KernelClass(s.kernel, s.description),
			Localizer: len(sls) == len(all) && s.localizer, Derived: s.derived,
			SliceSpacingMM: sliceSpacing(sls), PixelSpacingMM: s.pixelSpacing,
		}
		name := "unknown transfer syntax"
		if ts, ok := lookupTS(s.ts); ok {
			name = ts.name
		}
		info.TransferSyntax = fmt.Sprintf("%s (%s)", name, s.ts)
		for _, sl := range sls {
			if sl.unsupported != nil {
				info.Supported = false
			}
		}
		out = append(out, info)
	}
	rank(out)
	return out
}

// sliceSpacing estimates a series' slice spacing from its positions along
// the first slice's normal (the span over n-1); assemble checks the stack
// properly when the series is read. A single slice, or slices without
// geometry, report SliceThickness.
func sliceSpacing(sls []slice) float64 {
	ref := sls[0]
	if len(sls) < 2 || !ref.hasIOP {
		return ref.sliceThickness
	}
	n := cross([3]float64{ref.iop[0], ref.iop[1], ref.iop[2]}, [3]float64{ref.iop[3], ref.iop[4], ref.iop[5]})
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range sls {
		if !s.hasIPP {
			return ref.sliceThickness
		}
		d := dot(s.ipp, n)
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	// Rounded to a nanometre: positions are decimal strings, and the last
	// float bits are noise a listing should not show.
	return math.Round((hi-lo)/float64(len(sls)-1)*1e6) / 1e6
}

// choose returns the slices of the series sel names (a UID or a series
// number), or of the best series when sel is empty, with the reason.
func (set seriesSet) choose(path, sel string) ([]slice, Choice, error) {
	infos := set.infos()
	if sel == "" {
		return set[infos[0].UID], Choice{SeriesInfo: infos[0], Reason: reason(infos), Found: len(infos)}, nil
	}
	s, ok, err := pick(infos, sel)
	if err != nil {
		return nil, Choice{}, fmt.Errorf("%s: series %q: %w", path, sel, err)
	}
	if ok {
		return set[s.UID], Choice{SeriesInfo: s, Reason: fmt.Sprintf("series %s asked for: %s", s.label(), s.summary()), Found: len(infos)}, nil
	}
	var list []string
	for _, in := range infos {
		list = append(list, in.String())
	}
	return nil, Choice{}, fmt.Errorf("%s: no series %q (neither a SeriesInstanceUID nor a series number); series found: %s", path, sel, strings.Join(list, "; "))
}

// Geometry tolerances. Positions in DICOM are decimal strings that scanners
// round (often to 0.01 mm or less precision), so spacing checks allow that
// much jitter; anything larger is a real gap, tilt or mix-up.
const (
	// orientTol is the largest difference between two slices' direction
	// cosines still taken as the same orientation (0.006 degrees).
	orientTol = 1e-4
	// posTolMM plus posTolRel times the distance is the largest in-plane
	// drift of a slice position, or deviation from the mean slice step,
	// still taken as rounding.
	posTolMM  = 0.01
	posTolRel = 1e-3
	// stepTolRel times the mean slice step plus stepTolMM is the largest
	// deviation of one step from the mean step, and of a slice from the
	// regular grid the volume puts it on, still taken as rounding: scanners
	// that print positions to 0.1 mm make 0.625 mm steps alternate between
	// 0.6 and 0.7 mm.
	stepTolRel = 0.1
	stepTolMM  = 0.02
)

// assemble checks that the slices form one regular grid and returns its
// geometry, sorting slices along the normal in place.
//
// DICOM's ImageOrientationPatient holds the row cosine first: the LPS
// direction of increasing column index (along a row), then the column
// cosine: the direction of increasing row index. PixelSpacing holds the row
// spacing (between rows, along the column cosine) first, then the column
// spacing. So voxel axis i (columns) runs along the row cosine with
// PixelSpacing[1], axis j (rows) along the column cosine with PixelSpacing[0],
// and axis k along normal = row x column, with the slices sorted by their
// position projected on it and the spacing measured from positions
// (SliceThickness is not the spacing: overlapping reconstructions are common).
func assemble(slices []slice) (volume.Geometry, error) {
	var g volume.Geometry
	ref := &slices[0]
	if len(slices) == 1 && !ref.hasIOP && !ref.hasIPP {
		// A lone slice without patient geometry (secondary capture and
		// the like): axial at the origin, as ITK places it.
		ref.iop = [6]float64{1, 0, 0, 0, 1, 0}
		ref.hasIOP, ref.hasIPP = true, true
	}
	for i := range slices {
		s := &slices[i]
		switch {
		case !s.hasIPP:
			return g, fmt.Errorf("%s: missing or malformed ImagePositionPatient (0020,0032): slices cannot be placed", s.name)
		case !s.hasIOP:
			return g, fmt.Errorf("%s: missing or malformed ImageOrientationPatient (0020,0037): slices cannot be placed", s.name)
		case s.rows != ref.rows || s.cols != ref.cols:
			return g, fmt.Errorf("mixed image sizes: %s is %dx%d, %s is %dx%d", ref.name, ref.cols, ref.rows, s.name, s.cols, s.rows)
		case math.Abs(s.pixelSpacing[0]-ref.pixelSpacing[0]) > 1e-4*ref.pixelSpacing[0] ||
			math.Abs(s.pixelSpacing[1]-ref.pixelSpacing[1]) > 1e-4*ref.pixelSpacing[1]:
			return g, fmt.Errorf("mixed pixel spacings: %s has %v, %s has %v", ref.name, ref.pixelSpacing, s.name, s.pixelSpacing)
		}
		for c := 0; c < 6; c++ {
			if math.Abs(s.iop[c]-ref.iop[c]) > orientTol {
				return g, fmt.Errorf("mixed orientations: %s has ImageOrientationPatient %v, %s has %v", ref.name, ref.iop, s.name, s.iop)
			}
		}
	}
	if !(ref.pixelSpacing[0] > 0) || !(ref.pixelSpacing[1] > 0) {
		return g, fmt.Errorf("%s: PixelSpacing %v is not positive", ref.name, ref.pixelSpacing)
	}
	row, err := unit([3]float64{ref.iop[0], ref.iop[1], ref.iop[2]})
	if err != nil {
		return g, fmt.Errorf("%s: ImageOrientationPatient row cosine: %w", ref.name, err)
	}
	col, err := unit([3]float64{ref.iop[3], ref.iop[4], ref.iop[5]})
	if err != nil {
		return g, fmt.Errorf("%s: ImageOrientationPatient column cosine: %w", ref.name, err)
	}
	if d := dot(row, col); math.Abs(d) > 1e-3 {
		return g, fmt.Errorf("%s: ImageOrientationPatient row and column cosines are not perpendicular (cos %.4g)", ref.name, d)
	}
	normal, err := unit(cross(row, col))
	if err != nil {
		return g, err
	}
	sort.SliceStable(slices, func(a, b int) bool {
		return dot(slices[a].ipp, normal) < dot(slices[b].ipp, normal)
	})
	n := len(slices)
	step := ref.sliceThickness
	if n == 1 {
		if !(step > 0) {
			step = 1
		}
	} else {
		d := make([]float64, n)
		for i := range slices {
			d[i] = dot(slices[i].ipp, normal)
		}
		gaps := make([]float64, n-1)
		for i := range gaps {
			gaps[i] = d[i+1] - d[i]
			if gaps[i] <= posTolMM {
				return g, fmt.Errorf("duplicate slice positions: %s and %s are both at %.4g mm along the slice normal", slices[i].name, slices[i+1].name, d[i])
			}
		}
		med := median(gaps)
		step = (d[n-1] - d[0]) / float64(n-1)
		// A gap of about twice (thrice...) the usual one is missing slices;
		// otherwise every gap must be within rounding of the mean.
		for i, gap := range gaps {
			ratio := gap / med
			if ratio > 1.5 && math.Abs(ratio-math.Round(ratio))*med <= stepTolRel*med+stepTolMM {
				return g, fmt.Errorf("missing slice: %d slice(s) missing between %s and %s (gap %.4g mm, slice spacing %.4g mm)", int(math.Round(ratio))-1, slices[i].name, slices[i+1].name, gap, med)
			}
		}
		for i, gap := range gaps {
			if math.Abs(gap-step) > stepTolRel*step+stepTolMM {
				return g, fmt.Errorf("uneven slice spacing: %.4g mm between %s and %s, %.4g mm on average", gap, slices[i].name, slices[i+1].name, step)
			}
		}
		for k := range d {
			if off := d[k] - (d[0] + float64(k)*step); math.Abs(off) > stepTolRel*step+stepTolMM {
				return g, fmt.Errorf("uneven slice spacing: %s lies %.4g mm off a regular grid of %.4g mm slices", slices[k].name, off, step)
			}
		}
		// Gantry tilt (or a sheared stack): positions drift across the
		// slice plane instead of moving along its normal.
		for i := 1; i < n; i++ {
			var delta [3]float64
			for r := 0; r < 3; r++ {
				delta[r] = slices[i].ipp[r] - slices[0].ipp[r]
			}
			along := dot(delta, normal)
			var off float64
			for r := 0; r < 3; r++ {
				x := delta[r] - along*normal[r]
				off += x * x
			}
			off = math.Sqrt(off)
			if off > posTolMM+posTolRel*math.Abs(along) {
				return g, fmt.Errorf("gantry tilt or sheared stack: %s lies %.4g mm across the slice plane from %s (%.3g degrees off the slice normal); resample it (e.g. dcm2niix's tilt correction) before reading",
					slices[i].name, off, slices[0].name, math.Atan2(off, math.Abs(along))*180/math.Pi)
			}
		}
	}
	g.Dims = [3]int{ref.cols, ref.rows, n}
	g.Spacing = [3]float64{ref.pixelSpacing[1], ref.pixelSpacing[0], step}
	g.Origin = slices[0].ipp
	for r := 0; r < 3; r++ {
		g.Direction[r] = [3]float64{row[r], col[r], normal[r]}
	}
	total := int64(ref.cols) * int64(ref.rows) * int64(n)
	if total > volume.MaxVoxels {
		return g, fmt.Errorf("%dx%dx%d voxels exceed the %d allowed", ref.cols, ref.rows, n, volume.MaxVoxels)
	}
	return g, nil
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

func unit(a [3]float64) ([3]float64, error) {
	n := math.Sqrt(dot(a, a))
	if math.Abs(n-1) > 1e-2 {
		return a, fmt.Errorf("direction cosine %v has length %.4g, want 1", a, n)
	}
	return [3]float64{a[0] / n, a[1] / n, a[2] / n}, nil
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pickDType records how the values can be stored without loss: the
// smallest integer type holding them when every slice's rescale maps
// integers to integers, float32 otherwise.
func pickDType(slices []slice, data []float32) volume.DType {
	integral := true
	unsigned8 := true
	for _, s := range slices {
		if s.slope != math.Trunc(s.slope) || s.intercept != math.Trunc(s.intercept) {
			integral = false
		}
		if s.bitsAllocated != 8 || s.signed {
			unsigned8 = false
		}
	}
	if !integral || len(data) == 0 {
		return volume.Float32
	}
	lo, hi := float64(data[0]), float64(data[0])
	for _, x := range data {
		f := float64(x)
		if f < lo {
			lo = f
		}
		if f > hi {
			hi = f
		}
	}
	switch {
	case unsigned8 && lo >= 0 && hi <= math.MaxUint8:
		return volume.Uint8
	case lo >= math.MinInt16 && hi <= math.MaxInt16:
		return volume.Int16
	case lo >= 0 && hi <= math.MaxUint16:
		return volume.Uint16
	case lo >= -(1<<24) && hi <= 1<<24:
		return volume.Int32 // float32 holds these integers exactly
	}
	return volume.Float32
}
