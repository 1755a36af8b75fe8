package crilog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Entry is one parsed record.
type Entry struct {
	Time    time.Time
	Stream  Stream
	Partial bool
	Content []byte
}

// ParseLine parses one record, with or without its trailing newline. Content
// aliases line.
func ParseLine(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return Entry{}, fmt.Errorf("parse log record %q: no stream", line)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return Entry{}, fmt.Errorf("parse log record time %q: %w", ts, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok || (Stream(stream) != Stdout && Stream(stream) != Stderr) {
		return Entry{}, fmt.Errorf("parse log record %q: bad stream", line)
	}
	tag, content, ok := bytes.Cut(rest, []byte(" "))
	if !ok || (string(tag) != tagFull && string(tag) != tagPartial) {
		return Entry{}, fmt.Errorf("parse log record %q: bad tag", line)
	}
	return Entry{Time: t, Stream: Stream(stream), Partial: string(tag) == tagPartial, Content: content}, nil
}

// ReadOptions say which part of a log Read prints and how.
type ReadOptions struct {
	// Tail prints only the last Tail lines; a negative Tail prints all.
	Tail int64
	// Timestamps prefixes each record with its time and prints every
	// record on its own line; without it partial records are joined back
	// into the line the container wrote.
	Timestamps bool
	// Follow keeps reading as the file grows until Done is closed (then the
	// rest of the file is printed) or ctx ends.
	Follow bool
	// Done is closed once the container has stopped and its log is
	// complete. Nil means follow until ctx ends.
	Done <-chan struct{}
	// PollInterval is how often a follower looks for new records; 0 means
	// 200ms.
	PollInterval time.Duration
}

// Read prints the log at path, with its rotated files (<path>.<n>), to w as
// ReadOptions say. Records that do not parse are skipped.
//
// The live file is opened first and its rotated files listed after, so a
// rotation meanwhile is seen (the open file then shows up among the
// rotated ones and is cut from the list). Without follow the log is read as
// it was at that moment: what a running container writes meanwhile is not
// part of it, so a flood cannot stretch a tail.
func Read(ctx context.Context, path string, opts ReadOptions, w io.Writer) error {
	f, err := openLive(path)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	defer func() { f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read log %s: %w", path, err)
	}
	rotated, err := olderFiles(path, fi)
	if err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	live := io.NewSectionReader(f, 0, fi.Size())
	first, off := 0, int64(0)
	if opts.Tail >= 0 {
		if first, off, err = tailStart(rotated, live, opts.Tail); err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
	}
	out := bufio.NewWriter(w)
	p := printer{w: out, timestamps: opts.Timestamps}
	for i := first; i < len(rotated); i++ {
		if err := p.printFile(rotated[i], off); err != nil {
			return fmt.Errorf("read log %s: %w", rotated[i], err)
		}
		off = 0
	}
	if !opts.Follow {
		br := bufio.NewReaderSize(io.NewSectionReader(f, off, max(fi.Size()-off, 0)), MaxLineSize+128)
		if err := p.drain(br, true); err != nil {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		return out.Flush()
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("read log %s: %w", path, err)
	}
	return follow(ctx, path, &f, bufio.NewReaderSize(f, MaxLineSize+128), &p, out, opts)
}

// openLive opens the live file at path. In the moment of a rotation,
// between the rename of the live file and the creation of the next, the
// newest rotated file is the live one: the log as it was then.
func openLive(path string) (*os.File, error) {
	f, err := os.Open(path)
	if !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	rot, rerr := rotatedFiles(path)
	if rerr != nil || len(rot) == 0 {
		return nil, err
	}
	if f, rerr := os.Open(rot[len(rot)-1].path); rerr == nil {
		return f, nil
	}
	return nil, err
}

// olderFiles lists the rotated files of path that are older than the open
// live file fi, oldest first.
func olderFiles(path string, fi os.FileInfo) ([]string, error) {
	rot, err := rotatedFiles(path)
	if err != nil {
		return nil, fmt.Errorf("list log files of %s: %w", path, err)
	}
	var out []string
	for _, r := range rot {
		if st, err := os.Stat(r.path); err == nil && os.SameFile(st, fi) {
			break // the live file was rotated after it was opened
		}
		out = append(out, r.path)
	}
	return out, nil
}

// printFile prints a rotated file from off. One that rotation removed
// meanwhile is skipped.
func (p *printer) printFile(path string, off int64) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	return p.drain(bufio.NewReaderSize(f, MaxLineSize+128), false)
}

// tailStart finds where the last n lines of a log start: the index of the
// rotated file and the offset in it, or len(rotated) and the offset in the
// live file.
func tailStart(rotated []string, live *io.SectionReader, n int64) (int, int64, error) {
	off, found, err := tailOffset(io.NewSectionReader(live, 0, live.Size()), n)
	if err != nil || found >= n || n == 0 {
		return len(rotated), off, err
	}
	n -= found
	for i := len(rotated) - 1; i >= 0; i-- {
		f, err := os.Open(rotated[i])
		if errors.Is(err, os.ErrNotExist) {
			return i + 1, 0, nil // rotation removed it meanwhile
		}
		if err != nil {
			return 0, 0, err
		}
		off, found, err := tailOffset(f, n)
		f.Close()
		if err != nil {
			return 0, 0, err
		}
		if found >= n {
			return i, off, nil
		}
		n -= found
	}
	return 0, 0, nil
}

// follow prints records as they are written until Done or ctx ends. When
// the live file is rotated away it finishes the old file and goes on with
// the new one.
func follow(ctx context.Context, path string, f **os.File, br *bufio.Reader, p *printer, out *bufio.Writer, opts ReadOptions) error {
	interval := opts.PollInterval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	done := opts.Done
	for {
		if err := p.drain(br, false); err != nil {
			return err
		}
		if next, ok := reopenIfRotated(path, *f); ok {
			if err := p.drain(br, false); err != nil {
				next.Close()
				return err
			}
			(*f).Close()
			*f = next
			br.Reset(next)
			continue
		}
		if err := out.Flush(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			if err := p.drain(br, true); err != nil {
				return err
			}
			return out.Flush()
		case <-tick.C:
		}
	}
}

// reopenIfRotated opens path when it is no longer the file f is reading.
func reopenIfRotated(path string, f *os.File) (*os.File, bool) {
	cur, err := f.Stat()
	if err != nil {
		return nil, false
	}
	now, err := os.Stat(path)
	if err != nil || os.SameFile(cur, now) {
		return nil, false
	}
	next, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	return next, true
}

// printer turns records back into output. It keeps a record read without
// its newline (a write in progress) until the rest arrives.
type printer struct {
	w          io.Writer
	timestamps bool
	pending    []byte
}

// drain prints every complete record up to EOF; final also prints a last
// record that has no newline.
func (p *printer) drain(br *bufio.Reader, final bool) error {
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			p.pending = append(p.pending, chunk...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err != nil {
			p.pending = append(p.pending, chunk...)
			if final && len(p.pending) > 0 {
				perr := p.print(p.pending)
				p.pending = p.pending[:0]
				return perr
			}
			return nil
		}
		line := chunk
		if len(p.pending) > 0 {
			line = append(p.pending, chunk...)
			p.pending = p.pending[:0]
		}
		if err := p.print(line); err != nil {
			return err
		}
	}
}

func (p *printer) print(line []byte) error {
	e, err := ParseLine(line)
	if err != nil {
		return nil
	}
	var b []byte
	if p.timestamps {
		b = e.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, ' ')
		b = append(b, e.Content...)
		b = append(b, '\n')
	} else {
		b = append(b, e.Content...)
		if !e.Partial {
			b = append(b, '\n')
		}
	}
	_, err = p.w.Write(b)
	return err
}

// tailOffset returns where the last n lines of f start, and how many lines
// (at most n) it found. A line is a run of records ending with a full
// record (or the file's end).
func tailOffset(f io.Reader, n int64) (int64, int64, error) {
	if n == 0 {
		off, err := io.Copy(io.Discard, f)
		return off, 0, err
	}
	starts := make([]int64, 0, min(n, 1024))
	var head int // index of the oldest start once the ring is full
	var off int64
	atStart := true
	br := bufio.NewReaderSize(f, MaxLineSize+128)
	for {
		rec, err := br.ReadBytes('\n')
		if len(rec) > 0 && err == nil {
			e, perr := ParseLine(rec)
			if perr == nil {
				if atStart {
					if int64(len(starts)) < n {
						starts = append(starts, off)
					} else {
						starts[head] = off
						head = (head + 1) % len(starts)
					}
				}
				atStart = !e.Partial
			}
		}
		off += int64(len(rec))
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, 0, err
		}
	}
	if len(starts) == 0 {
		return 0, 0, nil
	}
	return starts[head], int64(len(starts)), nil
}
