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
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	pending := map[string]bool{}
	var first time.Time // first event of the pending batch
	fullScan := false
	arm := func() {
		now := time.Now()
		if len(pending) == 0 && !fullScan {
			first = now
		}
		settle.Reset(min(debounce, max(0, first.Add(maxDelay).Sub(now))))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			switch {
			case ev.Name == w.dir:
				// The directory itself went away: its watch is gone.
				arm()
				fullScan = true
			case ev.Op != fsnotify.Chmod && isManifest(ev.Name):
				arm()
				pending[ev.Name] = true
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// An overflowed queue lost events: read everything again.
			w.log.Warn("Static pod directory watch", "dir", w.dir, "err", err)
			arm()
			fullScan = true
		case <-settle.C:
			if fullScan {
				w.watch(fsw)
				w.scan(ctx)
			} else {
				for _, file := range slices.Sorted(maps.Keys(pending)) {
					w.syncFile(ctx, file, false)
				}
			}
			clear(pending)
			fullScan = false
		case <-rescan.C:
			w.watch(fsw)
			w.scan(ctx)
		}
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
