package staticpods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Applier is the daemon side of the static pod directory. The watcher calls
// it from one goroutine, one call at a time. A file is named by its path,
// the directory joined with its base name.
type Applier interface {
	// ApplyStatic applies the manifest bytes of file; the daemon validates, names the pods
	// (with the node-name suffix) and creates/replaces/leaves them; returns the pod keys ("ns/name") that file now owns.
	ApplyStatic(ctx context.Context, file string, data []byte) ([]string, error)
	// DeleteStatic deletes the pods a file owned (graceful).
	DeleteStatic(ctx context.Context, file string, keys []string) error
	// ReportStatic records a broken file (event + log) without touching its pods.
	ReportStatic(file string, err error)
}

// Options tune a Watcher; the zero value is fine.
type Options struct {
	// Rescan is how often the whole directory is read again, to catch what
	// fsnotify missed (default 20s).
	Rescan time.Duration
	// Logger receives the watcher's logs (default slog.Default()).
	Logger *slog.Logger
	// Known maps each file to the pods it owned before this start (from the
	// daemon's store), so that a file removed while podd was down gets its
	// pods deleted by the first scan.
	Known map[string][]string
}

const (
	// DefaultRescan is the rescan period when Options.Rescan is zero.
	DefaultRescan = 20 * time.Second
	// debounce lets editors finish: an event is acted on once its file has
	// been quiet this long, or maxDelay after the first event at the latest.
	debounce = 100 * time.Millisecond
	maxDelay = time.Second
)

// Watcher keeps the daemon's static pods in line with the manifest files.
type Watcher struct {
	dir    string
	a      Applier
	rescan time.Duration
	log    *slog.Logger
	files  map[string]*fileState
	// useNotify is false only in tests that check the rescan alone.
	useNotify bool
}

// New returns a Watcher of dir; Run starts it.
func New(dir string, a Applier, opts Options) *Watcher {
	w := &Watcher{
		dir:       filepath.Clean(dir),
		a:         a,
		rescan:    opts.Rescan,
		log:       opts.Logger,
		files:     map[string]*fileState{},
		useNotify: true,
	}
	if w.rescan <= 0 {
		w.rescan = DefaultRescan
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	for file, keys := range opts.Known {
		w.files[filepath.Clean(file)] = &fileState{keys: slices.Clone(keys)}
	}
	return w
}

// Run creates the directory if it is missing, applies every manifest in it,
// then follows changes until ctx is done. Stopping leaves the pods running.
// A directory removed later counts as empty (its pods are deleted, as the
// kubelet does) and is made again; one that cannot be read changes nothing.
// Run fails only when the directory cannot be created at start.
func (w *Watcher) Run(ctx context.Context) error {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return fmt.Errorf("create static pod directory: %w", err)
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	var fsw *fsnotify.Watcher
	if w.useNotify {
		var err error
		fsw, err = fsnotify.NewWatcher()
		if err != nil {
			w.log.Warn("Static pod directory not watched: changes are seen at the next rescan", "dir", w.dir, "rescan", w.rescan, "err", err)
		} else {
			defer fsw.Close()
			w.watch(fsw)
			events, errs = fsw.Events, fsw.Errors
		}
	}
	w.scan(ctx)

	rescan := time.NewTicker(w.rescan)
	defer rescan.Stop()
	b := newBatch()
	defer b.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.note(b, ev)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflowed queue lost events: read everything again.
			w.log.Warn("Static pod directory watch", "dir", w.dir, "err", err)
			b.addAll()
		case <-b.timer.C:
			files, all := b.take()
			if all {
				w.watch(fsw)
				w.scan(ctx)
				continue
			}
			for _, file := range files {
				w.syncFile(ctx, file, false)
			}
		case <-rescan.C:
			w.watch(fsw)
			w.scan(ctx)
		}
	}
}

// note adds what an fsnotify event touched to the batch.
func (w *Watcher) note(b *batch, ev fsnotify.Event) {
	switch {
	case ev.Name == w.dir:
		// The directory itself went away: its watch is gone.
		b.addAll()
	case ev.Op != fsnotify.Chmod && isManifest(ev.Name):
		b.add(ev.Name)
	}
}

// watch (re)adds the directory to fsw when it is not watched, which happens
// after the directory was removed and created again.
func (w *Watcher) watch(fsw *fsnotify.Watcher) {
	if fsw == nil || slices.Contains(fsw.WatchList(), w.dir) {
		return
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		w.log.Warn("Static pod directory missing", "dir", w.dir, "err", err)
		return
	}
	if err := fsw.Add(w.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		w.log.Warn("Static pod directory not watched: changes are seen at the next rescan", "dir", w.dir, "err", err)
	}
}

// batch gathers the files that changed until they settle: its timer fires
// once no event came for debounce, or maxDelay after the first one.
type batch struct {
	timer *time.Timer
	files map[string]bool
	all   bool // rescan the whole directory
	first time.Time
}

func newBatch() *batch {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &batch{timer: t, files: map[string]bool{}}
}

func (b *batch) add(file string) {
	b.arm()
	b.files[file] = true
}

func (b *batch) addAll() {
	b.arm()
	b.all = true
}

func (b *batch) arm() {
	now := time.Now()
	if len(b.files) == 0 && !b.all {
		b.first = now
	}
	b.timer.Reset(min(debounce, max(0, b.first.Add(maxDelay).Sub(now))))
}

// take empties the batch, returning its files in order, or all=true when
// the whole directory must be read.
func (b *batch) take() (files []string, all bool) {
	files, all = slices.Sorted(maps.Keys(b.files)), b.all
	clear(b.files)
	b.all = false
	return files, all
}
