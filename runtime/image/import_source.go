package image

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openRegular opens p for reading, refusing anything but a regular file: a
// FIFO would block an import forever and a device would be read as an
// archive. O_NONBLOCK keeps the open itself from blocking on a FIFO; the
// check is on the opened file, so a path swapped after a stat is caught.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(p, fi.Mode())
	}
	return f, nil
}

func notRegular(p string, m fs.FileMode) error {
	return fmt.Errorf("%s is not a regular file (%s)", p, m.Type())
}

// checkLayoutFiles refuses an OCI layout directory holding anything other
// than regular files where the layout reader will open files: oci-layout,
// index.json and the blobs (symlinks are followed, as the reader would).
func checkLayoutFiles(dir string) error {
	files := []string{filepath.Join(dir, "oci-layout"), filepath.Join(dir, "index.json")}
	algs, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, a := range algs {
		algDir := filepath.Join(dir, "blobs", a.Name())
		blobs, err := os.ReadDir(algDir)
		if err != nil {
			return fmt.Errorf("read %s: %w", algDir, err)
		}
		for _, b := range blobs {
			files = append(files, filepath.Join(algDir, b.Name()))
		}
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue // the layout reader says what is missing
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return notRegular(p, fi.Mode())
		}
	}
	return nil
}
