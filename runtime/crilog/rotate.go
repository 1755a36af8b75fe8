package crilog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Rotation bounds a container's log like the kubelet's containerLogMaxSize
// and containerLogMaxFiles: the live file is rotated before it would grow
// past MaxSize, and at most MaxFiles files (the live one included) are kept.
// A zero MaxSize means no rotation.
type Rotation struct {
	MaxSize  int64
	MaxFiles int
}

// RotatingFile is a log file that rotates as Rotation says. Rotated files
// sit beside it as <path>.<n>, a higher n being newer. Writes are whole
// records, so a record is never split between two files.
type RotatingFile struct {
	mu   sync.Mutex
	path string
	rot  Rotation
	f    *os.File
	size int64
	next int // suffix of the next rotated file
}

// OpenRotating opens (appends to) the log at path.
func OpenRotating(path string, rot Rotation) (*RotatingFile, error) {
	if rot.MaxSize > 0 && rot.MaxFiles < 2 {
		return nil, fmt.Errorf("open log %s: rotation keeps %d files, need at least 2", path, rot.MaxFiles)
	}
	r := &RotatingFile{path: path, rot: rot, next: 1}
	rotated, err := rotatedFiles(path)
	if err != nil {
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	if n := len(rotated); n > 0 {
		r.next = rotated[n-1].n + 1
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write appends b, rotating first when b would take the file past MaxSize.
func (r *RotatingFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.rot.MaxSize > 0 && r.size > 0 && r.size+int64(len(b)) > r.rot.MaxSize {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(b)
	r.size += int64(n)
	return n, err
}

// rotate drops the oldest rotated files, renames the live file to
// <path>.<next> and opens a new one. The oldest go first, so that there are
// never more than MaxFiles files, not even while it rotates.
func (r *RotatingFile) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("rotate log %s: %w", r.path, err)
	}
	r.f = nil
	rotated, err := rotatedFiles(r.path)
	if err != nil {
		return fmt.Errorf("rotate log %s: %w", r.path, err)
	}
	var errs []error
	// The live file is about to join them: room for one.
	for len(rotated) > r.rot.MaxFiles-2 {
		if err := os.Remove(rotated[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		rotated = rotated[1:]
	}
	if err := os.Rename(r.path, fmt.Sprintf("%s.%d", r.path, r.next)); err != nil {
		return errors.Join(append(errs, fmt.Errorf("rotate log %s: %w", r.path, err))...)
	}
	r.next++
	if err := r.open(); err != nil {
		return errors.Join(append(errs, fmt.Errorf("rotate log %s: %w", r.path, err))...)
	}
	return errors.Join(errs...)
}

// Reopen closes the live file and opens its path again: a new file when a
// client moved the old one away (as the kubelet does when it rotates).
func (r *RotatingFile) Reopen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return os.ErrClosed
	}
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("reopen log %s: %w", r.path, err)
	}
	r.f = nil
	if err := r.open(); err != nil {
		return fmt.Errorf("reopen log %s: %w", r.path, err)
	}
	return nil
}

// Sync flushes the live file to disk.
func (r *RotatingFile) Sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return os.ErrClosed
	}
	return r.f.Sync()
}

// Close closes the live file.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

type rotated struct {
	path string
	n    int
}

// rotatedFiles lists the rotated files of the log at path, oldest first.
func rotatedFiles(path string) ([]rotated, error) {
	ents, err := os.ReadDir(filepath.Dir(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prefix := filepath.Base(path) + "."
	var out []rotated
	for _, e := range ents {
		suffix, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(suffix); err == nil && n > 0 && strconv.Itoa(n) == suffix {
			out = append(out, rotated{path: filepath.Join(filepath.Dir(path), e.Name()), n: n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	return out, nil
}
