// Package atomicfile writes a file so that readers see either the old file or
// the complete new one, never a partial write: data goes to a temporary file
// in the destination's directory and is renamed over the destination only
// once everything was written and flushed to disk. A failed write leaves
// nothing behind and an existing file untouched. Every output of the module
// goes through here, so all of them get the same guarantees and the same
// mode (0644: CreateTemp's 0600 would hide results from other users of a
// shared workstation or a container's host).
//
// Every error names the destination path ("write PATH: cause"), so callers
// add only their own context word.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Mode is the permission every committed file gets.
const Mode os.FileMode = 0o644

// File is a temporary file that becomes path on Commit.
type File struct {
	tmp  *os.File
	path string
	done bool
}

// Create opens a temporary file next to path. The caller must call Commit or
// Abort (Abort after Commit is a no-op, so `defer f.Abort()` is safe).
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, wrapOS(path, err)
	}
	return &File{tmp: tmp, path: path}, nil
}

// Write implements io.Writer. Errors carry the cause without the temporary
// file's name, which means nothing to a user.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.tmp.Write(p)
	if e, ok := err.(*os.PathError); ok {
		err = e.Err
	}
	return n, err
}

// Commit flushes the temporary file to disk, gives it Mode and renames it to
// the target.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or aborted", f.path)
	}
	f.done = true
	name := f.tmp.Name()
	fail := func(err error) error {
		f.tmp.Close()
		os.Remove(name)
		return wrapOS(f.path, err)
	}
	if err := f.tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := f.tmp.Chmod(Mode); err != nil {
		return fail(err)
	}
	if err := f.tmp.Close(); err != nil {
		os.Remove(name)
		return wrapOS(f.path, err)
	}
	if err := os.Rename(name, f.path); err != nil {
		os.Remove(name)
		return wrapOS(f.path, err)
	}
	return nil
}

// Abort discards the temporary file; the target is left untouched.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// Write creates path atomically with the bytes fn writes to a buffered
// writer. If fn fails, nothing is left behind and its error is returned
// wrapped with the path (errors.Is still finds it).
func Write(path string, fn func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		return wrap(path, err)
	}
	if err := bw.Flush(); err != nil {
		return wrap(path, err)
	}
	return f.Commit()
}

// WriteBytes creates path atomically holding b.
func WriteBytes(path string, b []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return wrap(path, err)
	}
	return f.Commit()
}

// wrap names path in err.
func wrap(path string, err error) error {
	return fmt.Errorf("write %s: %w", path, err)
}

// wrapOS names path in an error of an operation on the temporary file,
// replacing the temporary name (meaningless to a user) by the cause. Only
// the outermost error is looked at, so nothing else is hidden.
func wrapOS(path string, err error) error {
	switch e := err.(type) {
	case *os.PathError:
		err = e.Err
	case *os.LinkError:
		err = e.Err
	}
	return wrap(path, err)
}
