package crilog

import (
	"io"
	"sync"
	"time"
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
