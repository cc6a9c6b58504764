package dicom

import (
	"bytes"
	"fmt"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"github.com/otoseg/otoseg/volume"
)

// Reference identifies a series and its instances for an object derived
// from it, such as a DICOM Segmentation: the SEG copies the patient and
// study, shares the frame of reference and names the source instance of
// every frame.
type Reference struct {
	// Path is the folder, .zip or file the series was read from.
	Path string
	// Patient and study attributes, as stored (empty when absent).
	PatientName, PatientID, PatientBirthDate, PatientSex string
	StudyUID, StudyDate, StudyTime, StudyID              string
	AccessionNumber, ReferringPhysician, StudyDesc       string
	SeriesUID, FrameOfReferenceUID, Modality             string
	// Instances are the series' images in the order of the volume's third
	// axis (slice k of the volume Read returns is Instances[k]).
	Instances []Instance
	// Geometry is the grid Read returns for this series.
	Geometry volume.Geometry
}

// Instance is one image of a series.
type Instance struct {
	ClassUID, InstanceUID string
}

// ReadReference reads the headers of the series Read would read from path
// with opt. Every image must carry its SOP Class and Instance UIDs (Type 1)
// and the series a FrameOfReferenceUID: a derived object cannot point at
// images without them.
func ReadReference(path string, opt Options) (*Reference, error) {
	src, err := openSource(path, defaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer src.close()
	series, err := collect(src, path)
	if err != nil {
		return nil, err
	}
	slices, _, err := series.choose(path, opt.Series)
	if err != nil {
		return nil, err
	}
	slices = dropLocalizers(slices)
	g, err := assemble(slices) // sorts slices along the normal, as Read does
	if err != nil {
		return nil, fmt.Errorf("%s: series %s: %w", path, slices[0].seriesUID, err)
	}
	ref := &Reference{Path: path, SeriesUID: slices[0].seriesUID, Geometry: g}
	for k := range slices {
		ds, err := readHeader(src, slices[k].name)
		if err != nil {
			return nil, err
		}
		in := Instance{ClassUID: uidOf(&ds, tag.SOPClassUID), InstanceUID: uidOf(&ds, tag.SOPInstanceUID)}
		if in.ClassUID == "" || in.InstanceUID == "" {
			return nil, fmt.Errorf("%s: missing SOPClassUID or SOPInstanceUID: a derived object cannot reference this image", slices[k].name)
		}
		ref.Instances = append(ref.Instances, in)
		if k == 0 {
			ref.fillStudy(&ds)
			if ref.FrameOfReferenceUID == "" {
				return nil, fmt.Errorf("%s: missing FrameOfReferenceUID (0020,0052): a segmentation cannot share the series' space", slices[k].name)
			}
		}
	}
	return ref, nil
}

// readHeader parses the header (everything before the pixel data) of one
// file of src, through the same structural checks as Read.
func readHeader(src source, name string) (sdicom.Dataset, error) {
	data, err := src.read(name, nil) // the dataset outlives the call: a buffer of its own
	if err != nil {
		return sdicom.Dataset{}, fmt.Errorf("%s: %w", name, err)
	}
	ds, err := ParseFile(data, false)
	if err != nil {
		return ds, fmt.Errorf("%s: %w", name, err)
	}
	return ds, nil
}

// ParseFile parses one DICOM file held in b after the structural scan that
// makes corrupt or hostile input an error rather than a panic or a huge
// allocation. With pixels false it stops before the pixel data; with true,
// PixelData is returned unprocessed (sdicom.PixelDataInfo's
// UnprocessedValueData for native transfer syntaxes). Errors do not name
// the file: callers wrap them with it.
func ParseFile(b []byte, pixels bool) (sdicom.Dataset, error) {
	b, err := canonical(b)
	if err != nil {
		return sdicom.Dataset{}, err
	}
	res, err := scanFile(b)
	if err != nil {
		return sdicom.Dataset{}, err
	}
	data := res.clean
	if !pixels && res.pixelStart >= 0 {
		data = data[:res.pixelStart]
	}
	if pixels && res.encapsulated {
		return sdicom.Dataset{}, fmt.Errorf("compressed pixel data (transfer syntax %s) is not supported here; decompress first", res.transferSyntax)
	}
	return parseGuarded(data, []sdicom.ParseOption{sdicom.SkipProcessingPixelDataValue()})
}

// fillStudy copies the patient, study and series attributes from ds.
func (r *Reference) fillStudy(ds *sdicom.Dataset) {
	s := func(t tag.Tag) string { return strings.TrimSpace(strings.Join(stringsOf(ds, t), `\`)) }
	r.PatientName = s(tag.PatientName)
	r.PatientID = s(tag.PatientID)
	r.PatientBirthDate = s(tag.PatientBirthDate)
	r.PatientSex = s(tag.PatientSex)
	r.StudyUID = uidOf(ds, tag.StudyInstanceUID)
	r.StudyDate = s(tag.StudyDate)
	r.StudyTime = s(tag.StudyTime)
	r.StudyID = s(tag.StudyID)
	r.AccessionNumber = s(tag.AccessionNumber)
	r.ReferringPhysician = s(tag.ReferringPhysicianName)
	r.StudyDesc = s(tag.StudyDescription)
	r.Modality = s(tagModality)
	r.FrameOfReferenceUID = uidOf(ds, tag.FrameOfReferenceUID)
}

// uidOf is the UID value of t without padding, or "".
func uidOf(ds *sdicom.Dataset, t tag.Tag) string { return trimUID(firstString(ds, t)) }

// stringsOf is every string value of t.
func stringsOf(ds *sdicom.Dataset, t tag.Tag) []string {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil
	}
	v, _ := e.Value.GetValue().([]string)
	return v
}

// segmentationUID is the SOP class of DICOM Segmentations (imageio/dicomseg
// reads them); series reads skip such files.
const segmentationUID = "1.2.840.10008.5.1.4.1.1.66.4"

// isSegmentation tells a DICOM Segmentation by the SOP class in its first
// kilobyte (the file meta information), the UID followed by padding or the
// next element rather than more digits.
func isSegmentation(b []byte) bool {
	head := b[:min(len(b), 1024)]
	for i := 0; ; {
		j := bytes.Index(head[i:], []byte(segmentationUID))
		if j < 0 {
			return false
		}
		end := i + j + len(segmentationUID)
		if end == len(head) || (head[end] != '.' && (head[end] < '0' || head[end] > '9')) {
			return true
		}
		i = end
	}
}
