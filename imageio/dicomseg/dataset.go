package dicomseg

import (
	"strings"
	"time"

	"github.com/otoseg/otoseg/imageio/dicom"
	"github.com/otoseg/otoseg/imageio/dicomenc"
	"github.com/otoseg/otoseg/volume"
)

// t is short for dicomenc.T in the attribute lists below.
func t(group, element uint16) dicomenc.Tag { return dicomenc.T(group, element) }

// Tags the writer and reader share.
var (
	tSOPClass          = t(0x0008, 0x0016)
	tSOPInstance       = t(0x0008, 0x0018)
	tModality          = t(0x0008, 0x0060)
	tRefSeriesSeq      = t(0x0008, 0x1115)
	tRefInstanceSeq    = t(0x0008, 0x114A)
	tRefSOPClass       = t(0x0008, 0x1150)
	tRefSOPInstance    = t(0x0008, 0x1155)
	tSourceImageSeq    = t(0x0008, 0x2112)
	tDerivationImage   = t(0x0008, 0x9124)
	tDerivationCode    = t(0x0008, 0x9215)
	tSliceThickness    = t(0x0018, 0x0050)
	tSpacingBetween    = t(0x0018, 0x0088)
	tSeriesUID         = t(0x0020, 0x000E)
	tIPP               = t(0x0020, 0x0032)
	tIOP               = t(0x0020, 0x0037)
	tFrameOfRef        = t(0x0020, 0x0052)
	tFrameContentSeq   = t(0x0020, 0x9111)
	tPlanePositionSeq  = t(0x0020, 0x9113)
	tPlaneOrientSeq    = t(0x0020, 0x9116)
	tDimIndexValues    = t(0x0020, 0x9157)
	tDimOrgUID         = t(0x0020, 0x9164)
	tDimIndexPointer   = t(0x0020, 0x9165)
	tFuncGroupPointer  = t(0x0020, 0x9167)
	tDimOrgSeq         = t(0x0020, 0x9221)
	tDimIndexSeq       = t(0x0020, 0x9222)
	tDimDescLabel      = t(0x0020, 0x9421)
	tNumberOfFrames    = t(0x0028, 0x0008)
	tRows              = t(0x0028, 0x0010)
	tColumns           = t(0x0028, 0x0011)
	tPixelSpacing      = t(0x0028, 0x0030)
	tBitsAllocated     = t(0x0028, 0x0100)
	tPixelMeasuresSeq  = t(0x0028, 0x9110)
	tSegmentationType  = t(0x0062, 0x0001)
	tSegmentSeq        = t(0x0062, 0x0002)
	tCategoryCodeSeq   = t(0x0062, 0x0003)
	tSegmentNumber     = t(0x0062, 0x0004)
	tSegmentLabel      = t(0x0062, 0x0005)
	tSegAlgorithmID    = t(0x0062, 0x0007)
	tSegAlgorithmType  = t(0x0062, 0x0008)
	tSegAlgorithmName  = t(0x0062, 0x0009)
	tSegmentIDSeq      = t(0x0062, 0x000A)
	tRefSegmentNumber  = t(0x0062, 0x000B)
	tRecommendedCIELab = t(0x0062, 0x000D)
	tTypeCodeSeq       = t(0x0062, 0x000F)
	tAlgorithmFamily   = t(0x0066, 0x002F)
	tAlgorithmVersion  = t(0x0066, 0x0031)
	tAlgorithmParams   = t(0x0066, 0x0032)
	tAlgorithmName     = t(0x0066, 0x0036)
	tPurposeOfRef      = t(0x0040, 0xA170)
	tSharedFGSeq       = t(0x5200, 0x9229)
	tPerFrameFGSeq     = t(0x5200, 0x9230)
	tPixelData         = t(0x7FE0, 0x0010)
)

// buildDataset assembles the SEG's attributes and returns them with the
// SOP instance UID. UIDs derive from the content (contentHash), so the
// same segmentation of the same series is the same instance.
func buildDataset(labels *volume.Volume, ref *dicom.Reference, o Options, frames []frame) (dicomenc.Dataset, string) {
	hash := contentHash(labels, ref, o)
	sop := dicomenc.UID("seg-instance", hash)
	series := dicomenc.UID("seg-series", hash)
	dimOrg := dicomenc.UID("seg-dimensions", hash)
	when := o.Time
	if when.IsZero() {
		when = time.Now()
	}
	row, col := [3]float64{}, [3]float64{}
	for r := 0; r < 3; r++ {
		row[r], col[r] = labels.Direction[r][0], labels.Direction[r][1]
	}
	seriesNumber := o.SeriesNumber
	if seriesNumber <= 0 {
		seriesNumber = 901
	}
	str := dicomenc.Str
	ds := dicomenc.Dataset{
		str(t(0x0008, 0x0005), "CS", "ISO_IR 192"),
		str(t(0x0008, 0x0008), "CS", "DERIVED", "PRIMARY"),
		str(tSOPClass, "UI", SegmentationStorage),
		str(tSOPInstance, "UI", sop),
		str(t(0x0008, 0x0020), "DA", nonEmpty(ref.StudyDate)...),
		str(t(0x0008, 0x0023), "DA", when.UTC().Format("20060102")),
		str(t(0x0008, 0x0030), "TM", nonEmpty(ref.StudyTime)...),
		str(t(0x0008, 0x0033), "TM", when.UTC().Format("150405")),
		str(t(0x0008, 0x0050), "SH", nonEmpty(ref.AccessionNumber)...),
		str(tModality, "CS", "SEG"),
		str(t(0x0008, 0x0070), "LO", o.Algorithm),
		str(t(0x0008, 0x0090), "PN", nonEmpty(ref.ReferringPhysician)...),
		str(t(0x0008, 0x1030), "LO", nonEmpty(ref.StudyDesc)...),
		str(t(0x0008, 0x103E), "LO", o.SeriesDescription),
		str(t(0x0008, 0x1090), "LO", o.Algorithm),
		dicomenc.Seq(tRefSeriesSeq, referencedSeries(ref)),
		// The private coding scheme some segment codes use, declared.
		dicomenc.Seq(t(0x0008, 0x0110), dicomenc.Dataset{
			str(t(0x0008, 0x0102), "SH", PrivateScheme),
			str(t(0x0008, 0x0115), "ST", "otoseg private codes"),
			str(t(0x0008, 0x0116), "ST", "otoseg"),
		}),
		str(t(0x0010, 0x0010), "PN", nonEmpty(ref.PatientName)...),
		str(t(0x0010, 0x0020), "LO", nonEmpty(ref.PatientID)...),
		str(t(0x0010, 0x0030), "DA", nonEmpty(ref.PatientBirthDate)...),
		str(t(0x0010, 0x0040), "CS", nonEmpty(ref.PatientSex)...),
		// Enhanced General Equipment (Type 1): the model checksum is the
		// closest thing an algorithm has to a serial number.
		str(t(0x0018, 0x1000), "LO", orUnknown(o.ModelChecksum)),
		str(t(0x0018, 0x1020), "LO", o.Algorithm+" "+o.Version),
		str(t(0x0020, 0x000D), "UI", ref.StudyUID),
		str(tSeriesUID, "UI", series),
		str(t(0x0020, 0x0010), "SH", nonEmpty(ref.StudyID)...),
		dicomenc.IS(t(0x0020, 0x0011), seriesNumber),
		dicomenc.IS(t(0x0020, 0x0013), 1),
		str(tFrameOfRef, "UI", ref.FrameOfReferenceUID),
		str(t(0x0020, 0x1040), "LO"),
		dicomenc.Seq(tDimOrgSeq, dicomenc.Dataset{str(tDimOrgUID, "UI", dimOrg)}),
		dicomenc.Seq(tDimIndexSeq, dimensionIndex(dimOrg)...),
		dicomenc.US(t(0x0028, 0x0002), 1),
		str(t(0x0028, 0x0004), "CS", "MONOCHROME2"),
		dicomenc.IS(tNumberOfFrames, len(frames)),
		dicomenc.US(tRows, uint16(labels.Dims[1])),
		dicomenc.US(tColumns, uint16(labels.Dims[0])),
		dicomenc.US(tBitsAllocated, 1),
		dicomenc.US(t(0x0028, 0x0101), 1),
		dicomenc.US(t(0x0028, 0x0102), 0),
		dicomenc.US(t(0x0028, 0x0103), 0),
		str(t(0x0028, 0x2110), "CS", "00"),
		str(tSegmentationType, "CS", "BINARY"),
		dicomenc.Seq(tSegmentSeq, segmentItems(o)...),
		str(t(0x0070, 0x0080), "CS", "INNER_EAR"),
		str(t(0x0070, 0x0081), "LO", "inner ear segmentation by "+o.Algorithm),
		str(t(0x0070, 0x0084), "PN"),
		dicomenc.Seq(tSharedFGSeq, dicomenc.Dataset{
			dicomenc.Seq(tPixelMeasuresSeq, dicomenc.Dataset{
				dicomenc.DS(tPixelSpacing, labels.Spacing[1], labels.Spacing[0]),
				dicomenc.DS(tSliceThickness, labels.Spacing[2]),
				dicomenc.DS(tSpacingBetween, labels.Spacing[2]),
			}),
			dicomenc.Seq(tPlaneOrientSeq, dicomenc.Dataset{
				dicomenc.DS(tIOP, row[0], row[1], row[2], col[0], col[1], col[2]),
			}),
		}),
		dicomenc.Seq(tPerFrameFGSeq, perFrame(labels, ref, frames)...),
		dicomenc.Bytes(tPixelData, "OB", packFrames(labels, frames)),
	}
	return ds, sop
}

// referencedSeries is the Common Instance Reference module's item: the
// source series and every instance the frames derive from.
func referencedSeries(ref *dicom.Reference) dicomenc.Dataset {
	items := make([]dicomenc.Dataset, len(ref.Instances))
	for i, in := range ref.Instances {
		items[i] = dicomenc.Dataset{
			dicomenc.Str(tRefSOPClass, "UI", in.ClassUID),
			dicomenc.Str(tRefSOPInstance, "UI", in.InstanceUID),
		}
	}
	return dicomenc.Dataset{
		dicomenc.Seq(tRefInstanceSeq, items...),
		dicomenc.Str(tSeriesUID, "UI", ref.SeriesUID),
	}
}

// dimensionIndex declares the two dimensions frames are indexed by: the
// segment, then the plane position.
func dimensionIndex(dimOrg string) []dicomenc.Dataset {
	return []dicomenc.Dataset{
		{
			dicomenc.Str(tDimOrgUID, "UI", dimOrg),
			dicomenc.AT(tDimIndexPointer, tRefSegmentNumber),
			dicomenc.AT(tFuncGroupPointer, tSegmentIDSeq),
			dicomenc.Str(tDimDescLabel, "LO", "ReferencedSegmentNumber"),
		},
		{
			dicomenc.Str(tDimOrgUID, "UI", dimOrg),
			dicomenc.AT(tDimIndexPointer, tIPP),
			dicomenc.AT(tFuncGroupPointer, tPlanePositionSeq),
			dicomenc.Str(tDimDescLabel, "LO", "ImagePositionPatient"),
		},
	}
}

// segmentItems describes each segment: its codes, colour and algorithm.
func segmentItems(o Options) []dicomenc.Dataset {
	items := make([]dicomenc.Dataset, len(o.Segments))
	for i, s := range o.Segments {
		lab := cieLab(s.Color)
		items[i] = dicomenc.Dataset{
			dicomenc.CodeSeq(tCategoryCodeSeq, AnatomicalStructure),
			dicomenc.US(tSegmentNumber, uint16(s.Label)),
			dicomenc.Str(tSegmentLabel, "LO", s.Name),
			dicomenc.Seq(tSegAlgorithmID, dicomenc.Dataset{
				dicomenc.CodeSeq(tAlgorithmFamily, dicomenc.Code{Value: "123109", Scheme: "DCM", Meaning: "Artificial Intelligence"}),
				dicomenc.Str(tAlgorithmVersion, "LO", orUnknown(o.Version)),
				dicomenc.Str(tAlgorithmParams, "LT", "model sha256 "+orUnknown(o.ModelChecksum)),
				dicomenc.Str(tAlgorithmName, "LO", o.Algorithm),
			}),
			dicomenc.Str(tSegAlgorithmType, "CS", "AUTOMATIC"),
			dicomenc.Str(tSegAlgorithmName, "LO", o.Algorithm),
			dicomenc.US(tRecommendedCIELab, lab[0], lab[1], lab[2]),
			dicomenc.CodeSeq(tTypeCodeSeq, PropertyType(s.Label, s.Name)),
		}
	}
	return items
}

// perFrame gives each frame its source image, dimension index, plane
// position and segment.
func perFrame(labels *volume.Volume, ref *dicom.Reference, frames []frame) []dicomenc.Dataset {
	items := make([]dicomenc.Dataset, len(frames))
	for i, f := range frames {
		ipp := labels.World(0, 0, float64(f.k))
		src := ref.Instances[f.k]
		items[i] = dicomenc.Dataset{
			dicomenc.Seq(tDerivationImage, dicomenc.Dataset{
				dicomenc.Seq(tSourceImageSeq, dicomenc.Dataset{
					dicomenc.Str(tRefSOPClass, "UI", src.ClassUID),
					dicomenc.Str(tRefSOPInstance, "UI", src.InstanceUID),
					dicomenc.CodeSeq(tPurposeOfRef, dicomenc.Code{Value: "121322", Scheme: "DCM", Meaning: "Source image for image processing operation"}),
				}),
				dicomenc.CodeSeq(tDerivationCode, dicomenc.Code{Value: "113076", Scheme: "DCM", Meaning: "Segmentation"}),
			}),
			dicomenc.Seq(tFrameContentSeq, dicomenc.Dataset{
				dicomenc.UL(tDimIndexValues, uint32(f.segment), uint32(f.k+1)),
			}),
			dicomenc.Seq(tPlanePositionSeq, dicomenc.Dataset{
				dicomenc.DS(tIPP, ipp[0], ipp[1], ipp[2]),
			}),
			dicomenc.Seq(tSegmentIDSeq, dicomenc.Dataset{
				dicomenc.US(tRefSegmentNumber, uint16(f.segment)),
			}),
		}
	}
	return items
}

// nonEmpty is s as a one-value list, or no values when s is empty.
func nonEmpty(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return []string{s}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
