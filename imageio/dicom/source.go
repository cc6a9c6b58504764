package dicom

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// limits bounds what a read may cost, whatever the headers claim. Tests
// shrink them; Read and ListSeries use defaultLimits.
type limits struct {
	// fileBytes caps one DICOM file (one slice: 512x512x2 bytes is 0.5 MiB;
	// 4096x4096x4 bytes is 64 MiB).
	fileBytes int64
	// files caps the number of files or zip entries looked at.
	files int
	// totalBytes caps all bytes read (decompressed, for a zip) in one pass.
	totalBytes int64
}

var defaultLimits = limits{fileBytes: 256 << 20, files: 200000, totalBytes: 64 << 30}

// source is where a series' files come from: a folder tree, a zip archive
// or a single file. Files are visited once for headers, then read again
// one at a time for pixels, so memory holds one file at a time.
type source interface {
	// each calls fn with every file that starts like a DICOM file (DICM
	// magic at byte 128, or a headless dataset: see looksDICOM); others are
	// skipped. data is valid only until fn returns: one buffer serves every
	// file, since a series is hundreds of files of half a megabyte, and a
	// buffer each had been 100 MB of garbage per pass over a head CT.
	each(fn func(name string, data []byte) error) error
	// read returns the file each named name, in buf's storage when it is
	// large enough (buf may be nil).
	read(name string, buf []byte) ([]byte, error)
	close() error
}

// openSource picks the source for path: a directory (walked recursively,
// symbolic links to folders not followed), a .zip, or one DICOM file.
func openSource(path string, lim limits) (source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		return &dirSource{root: path, lim: lim}, nil
	case strings.HasSuffix(strings.ToLower(path), ".zip"):
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, fmt.Errorf("not a readable zip archive: %w", err)
		}
		if len(zr.File) > lim.files {
			zr.Close()
			return nil, fmt.Errorf("zip archive has %d entries, more than the %d allowed", len(zr.File), lim.files)
		}
		return newZipSource(path, zr, lim), nil
	default:
		return &dirSource{root: path, lim: lim, single: true}, nil
	}
}

// readCapped returns head followed by the rest of r, refusing files of
// more than max bytes in all, in into's storage when it is large enough.
// size, when positive, is what the file says it holds: the buffer starts
// that large, where growing it by doubling had copied a 512 KB slice four
// times over and left the copies as garbage (a quarter of a head CT's
// read).
func readCapped(r io.Reader, head []byte, max, size int64, into []byte) ([]byte, error) {
	c := int64(64 << 10)
	if size > 0 {
		c = min(size, max) + bytes.MinRead // room to see the end without growing
	}
	if int64(cap(into)) < c {
		into = make([]byte, 0, c)
	}
	buf := bytes.NewBuffer(append(into[:0], head...))
	n, err := io.Copy(buf, io.LimitReader(r, max-int64(len(head))+1))
	if err != nil {
		return nil, err
	}
	if int64(len(head))+n > max {
		return nil, fmt.Errorf("larger than the %d bytes allowed for one DICOM file", max)
	}
	return buf.Bytes(), nil
}

// isDICOMDIR reports a media directory file by its standard name. It
// indexes the files beside it and holds no image, so it is not parsed: a
// damaged DICOMDIR (CD writers make them) must not stop a folder's read.
func isDICOMDIR(name string) bool {
	return strings.EqualFold(pathBase(name), "DICOMDIR")
}

// pathBase is the last element of a path or zip entry name, whichever
// separator it uses.
func pathBase(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

// readHead reads the first 132 bytes of r (fewer if r is shorter) and says
// whether they start a DICOM file.
func readHead(r io.Reader) ([]byte, bool) {
	head := make([]byte, 132)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, false
	}
	head = head[:n]
	return head, looksDICOM(head)
}

// hasMagic reports whether b has the DICOM preamble and "DICM" magic.
func hasMagic(b []byte) bool { return len(b) >= 132 && string(b[128:132]) == "DICM" }

type dirSource struct {
	root   string
	lim    limits
	single bool
}

func (s *dirSource) each(fn func(string, []byte) error) error {
	var files int
	var total int64
	var buf []byte
	visit := func(path string) error {
		files++
		if files > s.lim.files {
			return fmt.Errorf("%s: more than %d files", s.root, s.lim.files)
		}
		data, ok, err := s.readFile(path, buf)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if !ok {
			return nil
		}
		buf = data
		total += int64(len(data))
		if total > s.lim.totalBytes {
			return fmt.Errorf("%s: more than %d GiB of DICOM files", s.root, s.lim.totalBytes>>30)
		}
		return fn(path, data)
	}
	if s.single {
		return visit(s.root)
	}
	return filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil // folders, devices, pipes
		}
		if isDICOMDIR(path) {
			return nil
		}
		return visit(path)
	})
}

// readFile returns the file's bytes when it is DICOM (ok), reading only its
// first 132 bytes otherwise.
func (s *dirSource) readFile(path string, buf []byte) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !st.Mode().IsRegular() {
		return nil, false, nil // a symbolic link to a folder or device
	}
	head, ok := readHead(f)
	if !ok {
		if s.single {
			return nil, false, errNotDICOM
		}
		return nil, false, nil
	}
	data, err := readCapped(f, head, s.lim.fileBytes, st.Size(), buf)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

func (s *dirSource) read(name string, buf []byte) ([]byte, error) {
	data, ok, err := s.readFile(name, buf)
	if err == nil && !ok {
		err = errNotDICOM
	}
	return data, err
}

func (s *dirSource) close() error { return nil }

// zipSource reads entries straight from the archive: nothing is extracted
// to disk, so entry names ("../../x", absolute paths) are only labels.
// Sizes are enforced on the bytes actually decompressed, not on what the
// archive's directory claims, which defeats zip bombs.
type zipSource struct {
	path   string
	zr     *zip.ReadCloser
	lim    limits
	labels []string       // per entry: "archive.zip:\"entry\"" (quoted: names are untrusted)
	byName map[string]int // label -> entry index
}

func newZipSource(path string, zr *zip.ReadCloser, lim limits) *zipSource {
	s := &zipSource{path: path, zr: zr, lim: lim, byName: make(map[string]int, len(zr.File))}
	for i, f := range zr.File {
		l := fmt.Sprintf("%s:%q", path, f.Name)
		if _, dup := s.byName[l]; dup {
			l = fmt.Sprintf("%s#%d", l, i)
		}
		s.labels = append(s.labels, l)
		s.byName[l] = i
	}
	return s
}

func (s *zipSource) each(fn func(string, []byte) error) error {
	var total int64
	var buf []byte
	for i, f := range s.zr.File {
		if f.FileInfo().IsDir() || isDICOMDIR(f.Name) {
			continue
		}
		data, ok, err := s.readEntry(f, buf)
		if data != nil {
			buf = data
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.labels[i], err)
		}
		total += int64(len(data))
		if total > s.lim.totalBytes {
			return fmt.Errorf("%s: more than %d GiB decompressed", s.path, s.lim.totalBytes>>30)
		}
		if ok {
			if err := fn(s.labels[i], data); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *zipSource) readEntry(f *zip.File, buf []byte) ([]byte, bool, error) {
	if f.UncompressedSize64 > uint64(s.lim.fileBytes) {
		return nil, false, fmt.Errorf("entry of %d bytes is larger than the %d bytes allowed for one DICOM file", f.UncompressedSize64, s.lim.fileBytes)
	}
	r, err := f.Open()
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	head, ok := readHead(r)
	if !ok {
		return nil, false, nil
	}
	// The archive's own size is a claim, not a fact: a hint of at most
	// 16 MiB, beyond which the buffer grows as the bytes really come.
	data, err := readCapped(r, head, s.lim.fileBytes, int64(min(f.UncompressedSize64, 16<<20)), buf)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

func (s *zipSource) read(name string, buf []byte) ([]byte, error) {
	i, found := s.byName[name]
	if !found {
		return nil, errors.New("entry vanished from the archive")
	}
	data, ok, err := s.readEntry(s.zr.File[i], buf)
	if err == nil && !ok {
		err = errNotDICOM
	}
	return data, err
}

func (s *zipSource) close() error { return s.zr.Close() }
