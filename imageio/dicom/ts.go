package dicom

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Transfer syntax UIDs this package decodes.
const (
	tsImplicitLE   = "1.2.840.10008.1.2"
	tsExplicitLE   = "1.2.840.10008.1.2.1"
	tsExplicitBE   = "1.2.840.10008.1.2.2"
	tsRLE          = "1.2.840.10008.1.2.5"
	tsJPEGLossless = "1.2.840.10008.1.2.4.57"
	tsJPEGLossSV1  = "1.2.840.10008.1.2.4.70"
)

// transferSyntax describes how a file's dataset and pixels are encoded.
type transferSyntax struct {
	name      string
	supported bool
	byteOrder binary.ByteOrder
	implicit  bool
	// codec is "" for native pixels, "rle" or "jpegll" for the decoders here.
	codec string
}

// transferSyntaxes names the transfer syntaxes met in practice, so a refusal
// can say what the file is (PS3.6 Table A-1).
var transferSyntaxes = map[string]transferSyntax{
	tsImplicitLE:   {name: "Implicit VR Little Endian", supported: true, byteOrder: binary.LittleEndian, implicit: true},
	tsExplicitLE:   {name: "Explicit VR Little Endian", supported: true, byteOrder: binary.LittleEndian},
	tsExplicitBE:   {name: "Explicit VR Big Endian", supported: true, byteOrder: binary.BigEndian},
	tsRLE:          {name: "RLE Lossless", supported: true, byteOrder: binary.LittleEndian, codec: "rle"},
	tsJPEGLossless: {name: "JPEG Lossless, Non-Hierarchical (Process 14)", supported: true, byteOrder: binary.LittleEndian, codec: "jpegll"},
	tsJPEGLossSV1:  {name: "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])", supported: true, byteOrder: binary.LittleEndian, codec: "jpegll"},

	"1.2.840.10008.1.2.1.99":  {name: "Deflated Explicit VR Little Endian"},
	"1.2.840.10008.1.2.4.50":  {name: "JPEG Baseline (Process 1)"},
	"1.2.840.10008.1.2.4.51":  {name: "JPEG Extended (Process 2 & 4)"},
	"1.2.840.10008.1.2.4.52":  {name: "JPEG Extended (Process 3 & 5) (retired)"},
	"1.2.840.10008.1.2.4.53":  {name: "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (retired)"},
	"1.2.840.10008.1.2.4.54":  {name: "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (retired)"},
	"1.2.840.10008.1.2.4.55":  {name: "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (retired)"},
	"1.2.840.10008.1.2.4.56":  {name: "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (retired)"},
	"1.2.840.10008.1.2.4.58":  {name: "JPEG Lossless, Non-Hierarchical (Process 15) (retired)"},
	"1.2.840.10008.1.2.4.59":  {name: "JPEG Extended, Hierarchical (Process 16 & 18) (retired)"},
	"1.2.840.10008.1.2.4.60":  {name: "JPEG Extended, Hierarchical (Process 17 & 19) (retired)"},
	"1.2.840.10008.1.2.4.61":  {name: "JPEG Spectral Selection, Hierarchical (Process 20 & 22) (retired)"},
	"1.2.840.10008.1.2.4.62":  {name: "JPEG Spectral Selection, Hierarchical (Process 21 & 23) (retired)"},
	"1.2.840.10008.1.2.4.63":  {name: "JPEG Full Progression, Hierarchical (Process 24 & 26) (retired)"},
	"1.2.840.10008.1.2.4.64":  {name: "JPEG Full Progression, Hierarchical (Process 25 & 27) (retired)"},
	"1.2.840.10008.1.2.4.65":  {name: "JPEG Lossless, Hierarchical (Process 28) (retired)"},
	"1.2.840.10008.1.2.4.66":  {name: "JPEG Lossless, Hierarchical (Process 29) (retired)"},
	"1.2.840.10008.1.2.4.80":  {name: "JPEG-LS Lossless Image Compression"},
	"1.2.840.10008.1.2.4.81":  {name: "JPEG-LS Lossy (Near-Lossless) Image Compression"},
	"1.2.840.10008.1.2.4.90":  {name: "JPEG 2000 Image Compression (Lossless Only)"},
	"1.2.840.10008.1.2.4.91":  {name: "JPEG 2000 Image Compression"},
	"1.2.840.10008.1.2.4.92":  {name: "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"},
	"1.2.840.10008.1.2.4.93":  {name: "JPEG 2000 Part 2 Multi-component Image Compression"},
	"1.2.840.10008.1.2.4.94":  {name: "JPIP Referenced"},
	"1.2.840.10008.1.2.4.95":  {name: "JPIP Referenced Deflate"},
	"1.2.840.10008.1.2.4.100": {name: "MPEG2 Main Profile / Main Level"},
	"1.2.840.10008.1.2.4.101": {name: "MPEG2 Main Profile / High Level"},
	"1.2.840.10008.1.2.4.102": {name: "MPEG-4 AVC/H.264 High Profile / Level 4.1"},
	"1.2.840.10008.1.2.4.103": {name: "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"},
	"1.2.840.10008.1.2.4.104": {name: "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"},
	"1.2.840.10008.1.2.4.105": {name: "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"},
	"1.2.840.10008.1.2.4.106": {name: "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"},
	"1.2.840.10008.1.2.4.107": {name: "HEVC/H.265 Main Profile / Level 5.1"},
	"1.2.840.10008.1.2.4.108": {name: "HEVC/H.265 Main 10 Profile / Level 5.1"},
	"1.2.840.10008.1.2.4.110": {name: "JPEG XL Lossless"},
	"1.2.840.10008.1.2.4.111": {name: "JPEG XL JPEG Recompression"},
	"1.2.840.10008.1.2.4.112": {name: "JPEG XL"},
	"1.2.840.10008.1.2.4.201": {name: "High-Throughput JPEG 2000 Image Compression (Lossless Only)"},
	"1.2.840.10008.1.2.4.202": {name: "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"},
	"1.2.840.10008.1.2.4.203": {name: "High-Throughput JPEG 2000 Image Compression"},
	"1.2.840.10008.1.2.6.1":   {name: "RFC 2557 MIME encapsulation (retired)"},
	"1.2.840.10008.1.2.6.2":   {name: "XML Encoding (retired)"},
}

// lookupTS describes the transfer syntax uid. Compressed ones this package
// does not decode still get a byte order (their datasets are explicit VR
// little endian) so their headers can be listed; deflated and unknown ones
// get none.
func lookupTS(uid string) (transferSyntax, bool) {
	ts, ok := transferSyntaxes[uid]
	if ok && !ts.supported && strings.HasPrefix(uid, "1.2.840.10008.1.2.4.") {
		ts.byteOrder = binary.LittleEndian
	}
	return ts, ok
}

// unsupportedTSError says which transfer syntax a file uses and which ones
// this reader decodes, so the user knows what to convert to (for example
// with dcmtk's dcmdjpeg or gdcmconv --raw).
func unsupportedTSError(uid string) error {
	name := "unknown transfer syntax"
	if ts, ok := lookupTS(uid); ok {
		name = ts.name
	}
	return fmt.Errorf("unsupported transfer syntax %s (%s); supported: native (implicit/explicit VR little endian, explicit big endian), RLE Lossless (%s), JPEG Lossless (%s, %s); decompress first, e.g. with `gdcmconv --raw` or dcmtk's dcmdjpeg",
		name, uid, tsRLE, tsJPEGLossSV1, tsJPEGLossless)
}
