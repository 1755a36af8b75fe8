package crilog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// CopyTee reads src until it ends and writes every line to the destination
// as records of stream, and every byte read to tee (which must not fail;
// nil: none). A line longer than MaxLineSize becomes several P records and
// an F record; bytes left without a newline when src ends become one P
// record. A write error never stops the copy: the rest is read and dropped
// so that the container writing into src never blocks (see Err).
//
// While src has nothing to read CopyTee holds no buffer: it waits in the
// runtime's poller and takes a pooled chunk only to read what is there, so
// a quiet container costs its shim no memory. A file outside the poller (a
// regular file) is read plainly. CopyTee returns nil at EOF, else the read
// error that ended it: one wrapping os.ErrDeadlineExceeded once a read
// deadline set on src passes.
func (w *Writer) CopyTee(stream Stream, src *os.File, tee io.Writer) error {
	rc, err := src.SyscallConn()
	if err != nil {
		return fmt.Errorf("copy %s from %s: %w", stream, src.Name(), err)
	}
	sp := splitter{w: w, stream: stream}
	for {
		buf, n, err := readChunk(rc)
		if buf != nil {
			if tee != nil && n > 0 {
				_, _ = tee.Write((*buf)[:n])
			}
			sp.feed((*buf)[:n])
			giveChunk(buf)
		}
		if err != nil || n == 0 {
			sp.flush()
			if err != nil {
				return &os.PathError{Op: "read", Path: src.Name(), Err: err}
			}
			return nil
		}
	}
}

// readChunk waits until rc has something to read and reads it into a lent
// chunk: n bytes, 0 at EOF. The chunk is nil when the read failed.
func readChunk(rc syscall.RawConn) (buf *[]byte, n int, err error) {
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		buf = takeChunk()
		for {
			n, rerr = unix.Read(int(fd), *buf)
			if rerr != unix.EINTR {
				break
			}
		}
		if rerr != nil {
			// On EAGAIN the poller waits; without the chunk.
			giveChunk(buf)
			buf, n = nil, 0
		}
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	return buf, n, err
}

// chunkSize is how much one read takes.
const chunkSize = 16 * 1024

// chunks are the read buffers of every copy, lent for one read each.
var (
	chunks     = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}
	chunksLent atomic.Int64
)

func takeChunk() *[]byte {
	chunksLent.Add(1)
	return chunks.Get().(*[]byte)
}

func giveChunk(b *[]byte) {
	chunksLent.Add(-1)
	chunks.Put(b)
}

// splitter cuts a stream into records as a bufio.Reader of MaxLineSize
// bytes reading up to each newline would, whatever sizes the reads have: a
// line with its newline within MaxLineSize bytes is one F record; a longer
// one gives P records of MaxLineSize bytes first. pending is the start of
// a line whose newline has not come yet, kept only until it does.
type splitter struct {
	w       *Writer
	stream  Stream
	pending []byte
}

// feed writes the records data completes.
func (sp *splitter) feed(data []byte) {
	for len(data) > 0 {
		room := MaxLineSize - len(sp.pending)
		if i := bytes.IndexByte(data[:min(len(data), room)], '\n'); i >= 0 {
			sp.write(tagFull, data[:i])
			data = data[i+1:]
			continue
		}
		if len(data) < room {
			sp.pending = append(sp.pending, data...)
			return
		}
		sp.write(tagPartial, data[:room])
		data = data[room:]
	}
}

// flush writes what is pending as a P record: the stream ended there.
func (sp *splitter) flush() {
	if len(sp.pending) > 0 {
		sp.write(tagPartial, nil)
	}
}

// write writes one record of the pending bytes and then rest.
func (sp *splitter) write(tag string, rest []byte) {
	if len(sp.pending) == 0 {
		sp.w.write(sp.stream, tag, rest)
		return
	}
	sp.w.write(sp.stream, tag, append(sp.pending, rest...))
	sp.pending = nil
}
