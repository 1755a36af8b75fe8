package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrTooLarge is returned (wrapped) when a layer goes past Options.MaxSize
// bytes of uncompressed stream or Options.MaxEntries entries.
var ErrTooLarge = errors.New("layer too large")

// ErrSparse is returned (wrapped) for a sparse file entry. No image builder
// writes them (Go's archive/tar, which docker, buildkit and buildah use,
// cannot), and a few bytes of sparse map can declare gigabytes of holes
// that an unpacker would write out as zeros.
var ErrSparse = errors.New("sparse file entries are not supported")

const paxGNUSparsePrefix = "GNU.sparse."

// isSparse reports whether hdr is an old-GNU ('S') or a PAX GNU sparse
// entry; archive/tar hides the holes from its reader, not the size.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxGNUSparsePrefix) {
			return true
		}
	}
	return false
}

// budget counts what one layer has used against its caps; a zero cap is
// no cap.
type budget struct {
	maxSize    int64
	maxEntries int
	files      int64 // declared bytes of regular files so far
	entries    int
}

// admit charges one entry, and its file bytes, refusing it before anything
// is written when it would pass a cap.
func (b *budget) admit(hdr *tar.Header) error {
	b.entries++
	if b.maxEntries > 0 && b.entries > b.maxEntries {
		return fmt.Errorf("%w: more than %d entries", ErrTooLarge, b.maxEntries)
	}
	if hdr.Typeflag != tar.TypeReg { // tar.Reader reports the legacy TypeRegA as TypeReg
		return nil // other entries carry no data, whatever size they declare
	}
	if hdr.Size < 0 {
		return fmt.Errorf("negative size %d", hdr.Size)
	}
	b.files += hdr.Size
	if b.maxSize > 0 && b.files > b.maxSize {
		return fmt.Errorf("%w: files hold more than %d bytes", ErrTooLarge, b.maxSize)
	}
	return nil
}

// cappedReader fails with ErrTooLarge once more than max bytes are read.
type cappedReader struct {
	r   io.Reader
	max int64
	n   int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.max > 0 && c.n >= c.max {
		// One byte more tells a stream that ends exactly at the cap from
		// one that goes on.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: stream longer than %d bytes", ErrTooLarge, c.max)
		}
		return 0, err
	}
	if c.max > 0 && int64(len(p)) > c.max-c.n {
		p = p[:c.max-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
