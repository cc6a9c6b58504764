package dicom

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/otoseg/otoseg/imageio/dicomenc"
	"github.com/otoseg/otoseg/volume"
)

// CTImageStorage is the SOP class WriteSeries writes.
const CTImageStorage = "1.2.840.10008.5.1.4.1.1.2"

// WriteOptions describe the patient, study and series of a written series.
// Empty fields are written as empty Type 2 attributes.
type WriteOptions struct {
	PatientName, PatientID string
	StudyDescription       string
	SeriesDescription      string
	SeriesNumber           int
	// StudyTime sets StudyDate/StudyTime; zero leaves them empty.
	StudyTime time.Time
	// Software names the writer in SoftwareVersions.
	Software string
}

// WriteSeries writes v as a CT Image Storage series of one file per slice
// (IM00001.dcm, ...) into the new folder dir, atomically: the files are
// written into a temporary folder beside dir that is renamed into place, so
// dir either does not exist or holds the whole series. An existing dir must
// be empty; nothing is ever overwritten.
//
// Geometry is kept exactly as the reader assembles it: slice k's
// ImagePositionPatient is v's world position of voxel (0,0,k), the row and
// column cosines are v's first two direction columns. DICOM's slice normal
// is row x column, so a left-handed volume (its third axis against that
// normal) is written with its slices in reverse order: the same voxels at
// the same places, which the reader returns with a right-handed direction.
//
// Values are stored as 16-bit integers with RescaleSlope/Intercept: integer
// volumes that fit int16 (CT in HU) or uint16 exactly, with slope 1; others
// mapped linearly onto 0..65535, losing at most half a step
// ((max-min)/131070) per voxel.
//
// UIDs are derived from the voxels, geometry and options, so converting the
// same volume twice gives the same study, series and instances.
func WriteSeries(dir string, v *volume.Volume, opt WriteOptions) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if v.Dims[0] > 65535 || v.Dims[1] > 65535 {
		return fmt.Errorf("%s: %dx%d slices exceed DICOM's 65535 rows or columns", dir, v.Dims[0], v.Dims[1])
	}
	if err := checkEmptyTarget(dir); err != nil {
		return err
	}
	v = rightHanded(v)
	rs, err := chooseRescale(v.Data)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, ".otoseg-dicom-*")
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	s := newSeriesWriter(v, opt, rs)
	for k := 0; k < v.Dims[2]; k++ {
		path := filepath.Join(tmp, fmt.Sprintf("IM%05d.dcm", k+1))
		if err := s.writeSlice(path, k); err != nil {
			return fmt.Errorf("%s: slice %d: %w", dir, k, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	// Go's Rename will not replace a folder, even an empty one: remove
	// the empty target first (Remove refuses a folder that has files).
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

// checkEmptyTarget refuses an existing file or non-empty folder at dir.
func checkEmptyTarget(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: exists and is not a folder; a DICOM series is written into a new folder", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s: folder exists and is not empty; a DICOM series is written into a new or empty folder, never over files", dir)
	}
	return nil
}

// rightHanded returns v, or v with its slices reversed when its direction
// is left-handed (see WriteSeries).
func rightHanded(v *volume.Volume) *volume.Volume {
	d := v.Direction
	det := d[0][0]*(d[1][1]*d[2][2]-d[1][2]*d[2][1]) - d[0][1]*(d[1][0]*d[2][2]-d[1][2]*d[2][0]) + d[0][2]*(d[1][0]*d[2][1]-d[1][1]*d[2][0])
	if det > 0 {
		return v
	}
	n := v.Dims[2]
	g := v.Geometry
	g.Origin = v.World(0, 0, float64(n-1))
	for r := 0; r < 3; r++ {
		g.Direction[r][2] = -d[r][2]
	}
	out := &volume.Volume{Geometry: g, Data: make([]float32, len(v.Data)), DType: v.DType}
	plane := v.Dims[0] * v.Dims[1]
	for k := 0; k < n; k++ {
		copy(out.Data[k*plane:(k+1)*plane], v.Data[(n-1-k)*plane:(n-k)*plane])
	}
	return out
}

// storage maps stored integers to values: value = slope*stored + intercept.
type storage struct {
	slope, intercept float64
	signed           bool
}

// chooseRescale picks the storage of data (see WriteSeries).
func chooseRescale(data []float32) (storage, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	integral := true
	for i, x := range data {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return storage{}, fmt.Errorf("voxel %d is %g: DICOM stores finite values only", i, f)
		}
		lo, hi = min(lo, f), max(hi, f)
		if integral && f != math.Trunc(f) {
			integral = false
		}
	}
	switch {
	case integral && lo >= math.MinInt16 && hi <= math.MaxInt16:
		return storage{slope: 1, signed: true}, nil
	case integral && lo >= 0 && hi <= math.MaxUint16:
		return storage{slope: 1}, nil
	case hi == lo:
		return storage{slope: 1, intercept: parseDS(lo)}, nil
	}
	// Use the values as written (16 characters), so stored integers are
	// computed against exactly what a reader will apply.
	return storage{intercept: parseDS(lo), slope: parseDS((hi - lo) / 65535)}, nil
}

func parseDS(x float64) float64 {
	f, _ := strconv.ParseFloat(dicomenc.FormatDS(x), 64)
	return f
}

// store converts a value to its stored 16-bit pattern.
func (r storage) store(x float32) uint16 {
	s := math.Round((float64(x) - r.intercept) / r.slope)
	if r.signed {
		return uint16(int16(max(min(s, math.MaxInt16), math.MinInt16)))
	}
	return uint16(max(min(s, math.MaxUint16), 0))
}

// seriesWriter holds what every slice of one series shares.
type seriesWriter struct {
	v                         *volume.Volume
	opt                       WriteOptions
	rs                        storage
	study, series, frameOfRef string
	rowCos, colCos, normal    [3]float64
}

func newSeriesWriter(v *volume.Volume, opt WriteOptions, rs storage) *seriesWriter {
	h := sha256.New()
	binary.Write(h, binary.LittleEndian, v.Dims)
	binary.Write(h, binary.LittleEndian, v.Spacing)
	binary.Write(h, binary.LittleEndian, v.Origin)
	binary.Write(h, binary.LittleEndian, v.Direction)
	binary.Write(h, binary.LittleEndian, v.Data)
	fmt.Fprintf(h, "%+v", opt)
	content := fmt.Sprintf("%x", h.Sum(nil))
	s := &seriesWriter{
		v: v, opt: opt, rs: rs,
		study:      dicomenc.UID("study", content),
		series:     dicomenc.UID("series", content),
		frameOfRef: dicomenc.UID("frame-of-reference", content),
	}
	for r := 0; r < 3; r++ {
		s.rowCos[r], s.colCos[r], s.normal[r] = v.Direction[r][0], v.Direction[r][1], v.Direction[r][2]
	}
	return s
}

// Tags of the CT Image Storage IOD that WriteSeries fills.
var (
	tCharset       = dicomenc.T(0x0008, 0x0005)
	tImageType     = dicomenc.T(0x0008, 0x0008)
	tSOPClass      = dicomenc.T(0x0008, 0x0016)
	tSOPInstance   = dicomenc.T(0x0008, 0x0018)
	tStudyDate     = dicomenc.T(0x0008, 0x0020)
	tStudyTime     = dicomenc.T(0x0008, 0x0030)
	tAccession     = dicomenc.T(0x0008, 0x0050)
	tModality      = dicomenc.T(0x0008, 0x0060)
	tManufacturer  = dicomenc.T(0x0008, 0x0070)
	tReferring     = dicomenc.T(0x0008, 0x0090)
	tStudyDesc     = dicomenc.T(0x0008, 0x1030)
	tSeriesDesc    = dicomenc.T(0x0008, 0x103E)
	tPatientName   = dicomenc.T(0x0010, 0x0010)
	tPatientID     = dicomenc.T(0x0010, 0x0020)
	tBirthDate     = dicomenc.T(0x0010, 0x0030)
	tSex           = dicomenc.T(0x0010, 0x0040)
	tLaterality    = dicomenc.T(0x0020, 0x0060)
	tPatientPos    = dicomenc.T(0x0018, 0x5100)
	tSliceThick    = dicomenc.T(0x0018, 0x0050)
	tKVP           = dicomenc.T(0x0018, 0x0060)
	tSoftware      = dicomenc.T(0x0018, 0x1020)
	tStudyUID      = dicomenc.T(0x0020, 0x000D)
	tSeriesUID     = dicomenc.T(0x0020, 0x000E)
	tStudyID       = dicomenc.T(0x0020, 0x0010)
	tSeriesNumber  = dicomenc.T(0x0020, 0x0011)
	tAcqNumber     = dicomenc.T(0x0020, 0x0012)
	tInstanceNum   = dicomenc.T(0x0020, 0x0013)
	tIPP           = dicomenc.T(0x0020, 0x0032)
	tIOP           = dicomenc.T(0x0020, 0x0037)
	tFrameOfRef    = dicomenc.T(0x0020, 0x0052)
	tPosRefInd     = dicomenc.T(0x0020, 0x1040)
	tSliceLocation = dicomenc.T(0x0020, 0x1041)
	tSamples       = dicomenc.T(0x0028, 0x0002)
	tPhotometric   = dicomenc.T(0x0028, 0x0004)
	tRows          = dicomenc.T(0x0028, 0x0010)
	tColumns       = dicomenc.T(0x0028, 0x0011)
	tPixelSpacing  = dicomenc.T(0x0028, 0x0030)
	tBitsAlloc     = dicomenc.T(0x0028, 0x0100)
	tBitsStored    = dicomenc.T(0x0028, 0x0101)
	tHighBit       = dicomenc.T(0x0028, 0x0102)
	tPixelRep      = dicomenc.T(0x0028, 0x0103)
	tIntercept     = dicomenc.T(0x0028, 0x1052)
	tSlope         = dicomenc.T(0x0028, 0x1053)
	tRescaleType   = dicomenc.T(0x0028, 0x1054)
	tPixelData     = dicomenc.T(0x7FE0, 0x0010)
)

// writeSlice writes slice k as one CT image file at path.
func (s *seriesWriter) writeSlice(path string, k int) error {
	v, o := s.v, s.opt
	ipp := v.World(0, 0, float64(k))
	instance := dicomenc.UID("instance", s.series, strconv.Itoa(k))
	var date, tm []string
	if !o.StudyTime.IsZero() {
		date, tm = []string{o.StudyTime.Format("20060102")}, []string{o.StudyTime.Format("150405")}
	}
	pr := uint16(0)
	if s.rs.signed {
		pr = 1
	}
	ds := dicomenc.Dataset{
		dicomenc.Str(tCharset, "CS", "ISO_IR 192"),
		dicomenc.Str(tImageType, "CS", "DERIVED", "SECONDARY", "AXIAL"),
		dicomenc.Str(tSOPClass, "UI", CTImageStorage),
		dicomenc.Str(tSOPInstance, "UI", instance),
		dicomenc.Str(tStudyDate, "DA", date...),
		dicomenc.Str(tStudyTime, "TM", tm...),
		dicomenc.Str(tAccession, "SH"),
		dicomenc.Str(tModality, "CS", "CT"),
		dicomenc.Str(tManufacturer, "LO", "otoseg"),
		dicomenc.Str(tReferring, "PN"),
		dicomenc.Str(tStudyDesc, "LO", o.StudyDescription),
		dicomenc.Str(tSeriesDesc, "LO", o.SeriesDescription),
		dicomenc.Str(tPatientName, "PN", o.PatientName),
		dicomenc.Str(tPatientID, "LO", o.PatientID),
		dicomenc.Str(tBirthDate, "DA"),
		dicomenc.Str(tSex, "CS"),
		dicomenc.DS(tSliceThick, v.Spacing[2]),
		dicomenc.Str(tKVP, "DS"),
		dicomenc.Str(tSoftware, "LO", o.Software),
		// Unknown for a volume from a file: empty Type 2C attributes.
		dicomenc.Str(tPatientPos, "CS"),
		dicomenc.Str(tLaterality, "CS"),
		dicomenc.Str(tStudyUID, "UI", s.study),
		dicomenc.Str(tSeriesUID, "UI", s.series),
		dicomenc.Str(tStudyID, "SH"),
		dicomenc.IS(tSeriesNumber, max(o.SeriesNumber, 1)),
		dicomenc.Str(tAcqNumber, "IS"),
		dicomenc.IS(tInstanceNum, k+1),
		dicomenc.DS(tIPP, ipp[0], ipp[1], ipp[2]),
		dicomenc.DS(tIOP, s.rowCos[0], s.rowCos[1], s.rowCos[2], s.colCos[0], s.colCos[1], s.colCos[2]),
		dicomenc.Str(tFrameOfRef, "UI", s.frameOfRef),
		dicomenc.Str(tPosRefInd, "LO"),
		dicomenc.DS(tSliceLocation, ipp[0]*s.normal[0]+ipp[1]*s.normal[1]+ipp[2]*s.normal[2]),
		dicomenc.US(tSamples, 1),
		dicomenc.Str(tPhotometric, "CS", "MONOCHROME2"),
		dicomenc.US(tRows, uint16(v.Dims[1])),
		dicomenc.US(tColumns, uint16(v.Dims[0])),
		// PixelSpacing is row spacing (along a column, axis j) first.
		dicomenc.DS(tPixelSpacing, v.Spacing[1], v.Spacing[0]),
		dicomenc.US(tBitsAlloc, 16),
		dicomenc.US(tBitsStored, 16),
		dicomenc.US(tHighBit, 15),
		dicomenc.US(tPixelRep, pr),
		dicomenc.DS(tIntercept, s.rs.intercept),
		dicomenc.DS(tSlope, s.rs.slope),
		dicomenc.Str(tRescaleType, "LO", "HU"),
		dicomenc.Bytes(tPixelData, "OW", s.pixels(k)),
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := dicomenc.Write(f, CTImageStorage, instance, ds); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pixels encodes slice k's stored values, little endian.
func (s *seriesWriter) pixels(k int) []byte {
	n := s.v.Dims[0] * s.v.Dims[1]
	b := make([]byte, 2*n)
	for i, x := range s.v.Data[k*n : (k+1)*n] {
		binary.LittleEndian.PutUint16(b[2*i:], s.rs.store(x))
	}
	return b
}
