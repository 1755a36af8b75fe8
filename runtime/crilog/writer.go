package crilog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Stream names the output stream a record came from.
type Stream string

// The two streams of a container.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// MaxLineSize is the most content one record carries; a longer line is split
// into partial (P) records of this size followed by a full (F) one.
const MaxLineSize = 16 * 1024

const (
	tagFull    = "F"
	tagPartial = "P"
)

// Writer writes CRI log records to one destination shared by a container's
// streams. Each record is a single Write, so records of different streams
// never interleave within a line.
type Writer struct {
	mu  sync.Mutex
	dst io.Writer
	now func() time.Time
	buf []byte
	err error
}

// NewWriter returns a Writer that appends records to dst.
func NewWriter(dst io.Writer) *Writer {
	return &Writer{dst: dst, now: time.Now}
}

// Copy reads src until it ends and writes every line to the destination as
// records of stream. A line longer than MaxLineSize becomes several P records
// and an F record; bytes left without a newline when src ends become one P
// record. A write error never stops the copy: the rest is read and dropped so
// that the container writing into src never blocks (see Err). Copy returns
// nil at EOF, else the read error that ended it.
func (w *Writer) Copy(stream Stream, src io.Reader) error {
	var sp splitter
	for {
		buf := takeChunk()
		n, err := src.Read(*buf)
		w.feed(stream, &sp, (*buf)[:n])
		giveChunk(buf)
		if err != nil {
			w.flush(stream, &sp)
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// CopyTee is Copy from a file (a pipe or a terminal), which also writes
// every byte read to tee (which must not fail; nil: none). While src has
// nothing to read it holds no buffer: it waits in the runtime's poller and
// takes a chunk only to read what is there, so a container that writes
// nothing costs its shim no memory. A read deadline on src ends it as a
// read error does.
func (w *Writer) CopyTee(stream Stream, src *os.File, tee io.Writer) error {
	rc, err := src.SyscallConn()
	if err != nil {
		return fmt.Errorf("copy %s: %w", stream, err)
	}
	var sp splitter
	for {
		var (
			buf  *[]byte
			n    int
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			buf = takeChunk()
			for {
				n, rerr = unix.Read(int(fd), *buf)
				if rerr != unix.EINTR {
					break
				}
			}
			if rerr == unix.EAGAIN {
				// Nothing yet: wait without the chunk.
				giveChunk(buf)
				buf = nil
				return false
			}
			return true
		})
		if err == nil && rerr != nil {
			err = &os.PathError{Op: "read", Path: src.Name(), Err: rerr}
		}
		if err == nil && n > 0 {
			data := (*buf)[:n]
			if tee != nil {
				_, _ = tee.Write(data)
			}
			w.feed(stream, &sp, data)
		}
		if buf != nil {
			giveChunk(buf)
		}
		if err != nil || n <= 0 {
			w.flush(stream, &sp)
			return err
		}
	}
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
	pending []byte
}

// feed writes the records data completes.
func (w *Writer) feed(stream Stream, sp *splitter, data []byte) {
	for len(data) > 0 {
		room := MaxLineSize - len(sp.pending)
		if i := bytes.IndexByte(data[:min(len(data), room)], '\n'); i >= 0 {
			w.writeJoined(stream, tagFull, sp, data[:i])
			data = data[i+1:]
			continue
		}
		if len(data) < room {
			sp.pending = append(sp.pending, data...)
			return
		}
		w.writeJoined(stream, tagPartial, sp, data[:room])
		data = data[room:]
	}
}

// flush writes what is pending as a P record: the stream ended there.
func (w *Writer) flush(stream Stream, sp *splitter) {
	if len(sp.pending) > 0 {
		w.writeJoined(stream, tagPartial, sp, nil)
	}
}

// writeJoined writes one record of the pending bytes and then rest.
func (w *Writer) writeJoined(stream Stream, tag string, sp *splitter, rest []byte) {
	if len(sp.pending) == 0 {
		w.write(stream, tag, rest)
		return
	}
	sp.pending = append(sp.pending, rest...)
	w.write(stream, tag, sp.pending)
	if cap(sp.pending) > maxKeptBuffer {
		sp.pending = nil
	} else {
		sp.pending = sp.pending[:0]
	}
}

// maxKeptBuffer is the largest buffer kept between records: one long line
// must not pin its size for the life of the container.
const maxKeptBuffer = 1024

// Err returns the first error the destination returned, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) write(stream Stream, tag string, content []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.now().UTC().AppendFormat(w.buf[:0], time.RFC3339Nano)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ')
	b = append(b, tag...)
	b = append(b, ' ')
	b = append(b, content...)
	b = append(b, '\n')
	if _, err := w.dst.Write(b); err != nil && w.err == nil {
		w.err = err
	}
	if cap(b) <= maxKeptBuffer {
		w.buf = b
	} else {
		w.buf = nil
	}
}
