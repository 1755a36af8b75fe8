package staticpods

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fileState is what the watcher knows about one manifest file.
type fileState struct {
	// seen is set once the file's content was handed to the daemon; hash is
	// that content's digest.
	seen bool
	hash [sha256.Size]byte
	// keys are the pods the file owns: from its last successful apply (a
	// broken file keeps the pods of its last good content).
	keys []string
	// orphans are pods the file no longer lists whose delete failed; they
	// are retried at each rescan.
	orphans []string
	// failed is the error of applying the current content ("" if applied);
	// the same error for the same content is reported once.
	failed string
}

// isManifest says whether the watcher handles a file of this name.
func isManifest(path string) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, ".") {
		return false
	}
	switch filepath.Ext(base) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// scan brings every file in line: new and changed files are applied, files
// that failed before are tried again, pods of files now gone are deleted.
func (w *Watcher) scan(ctx context.Context) {
	entries, err := os.ReadDir(w.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Unreadable is not empty: deleting every static pod would be wrong.
		w.log.Warn("Read static pod directory", "dir", w.dir, "err", err)
		return
	}
	present := map[string]bool{}
	for _, e := range entries {
		path := filepath.Join(w.dir, e.Name())
		if e.IsDir() || !isManifest(path) {
			continue
		}
		present[path] = true
		w.syncFile(ctx, path, true)
	}
	for _, path := range slices.Sorted(maps.Keys(w.files)) {
		if !present[path] {
			w.removeFile(ctx, path)
		}
	}
}

// syncFile applies file when its content changed (or, with retry, when its
// last apply failed), and deletes what it stopped listing.
func (w *Watcher) syncFile(ctx context.Context, file string, retry bool) {
	if ctx.Err() != nil {
		return
	}
	info, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.Mode().IsRegular()) {
		w.removeFile(ctx, file)
		return
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(file)
	}
	st := w.files[file]
	if st == nil {
		st = &fileState{}
		w.files[file] = st
	}
	if err != nil {
		w.fail(st, file, [sha256.Size]byte{}, err)
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		// Most likely created and not yet written; a file meant to go away
		// is removed, not emptied. Its pods are left alone.
		w.log.Debug("Static pod manifest is empty: not applied", "file", file)
		return
	}
	sum := sha256.Sum256(data)
	if st.seen && st.hash == sum && (st.failed == "" || !retry) {
		w.deleteOrphans(ctx, file, st)
		return
	}
	keys, err := w.a.ApplyStatic(ctx, file, data)
	if err != nil {
		if ctx.Err() == nil {
			w.fail(st, file, sum, err)
		}
		return
	}
	st.seen, st.hash, st.failed = true, sum, ""
	for _, k := range st.keys {
		if !slices.Contains(keys, k) && !slices.Contains(st.orphans, k) {
			st.orphans = append(st.orphans, k)
		}
	}
	// A pod listed again (say, after a failed delete of a removed file
	// that came back) is no longer an orphan.
	st.orphans = slices.DeleteFunc(st.orphans, func(k string) bool { return slices.Contains(keys, k) })
	st.keys = slices.Clone(keys)
	w.log.Info("Static pod manifest applied", "file", file, "pods", keys)
	w.deleteOrphans(ctx, file, st)
}

// fail reports a file that could not be read or applied, once per content
// and error; its pods stay as they are.
func (w *Watcher) fail(st *fileState, file string, sum [sha256.Size]byte, err error) {
	if st.seen && st.hash == sum && st.failed == err.Error() {
		return
	}
	st.seen, st.hash, st.failed = true, sum, err.Error()
	w.a.ReportStatic(file, err)
}

// deleteOrphans deletes the pods file stopped listing, except those another
// file claims now.
func (w *Watcher) deleteOrphans(ctx context.Context, file string, st *fileState) {
	keys := w.unclaimed(file, st.orphans)
	if len(keys) > 0 {
		if err := w.a.DeleteStatic(ctx, file, keys); err != nil {
			w.log.Warn("Delete pods dropped from static pod manifest; retrying at the next rescan", "file", file, "pods", keys, "err", err)
			return
		}
		w.log.Info("Pods dropped from static pod manifest deleted", "file", file, "pods", keys)
	}
	st.orphans = nil
}

// removeFile deletes the pods of a file that is gone.
func (w *Watcher) removeFile(ctx context.Context, file string) {
	st := w.files[file]
	if st == nil || ctx.Err() != nil {
		return
	}
	keys := w.unclaimed(file, append(slices.Clone(st.keys), st.orphans...))
	if len(keys) > 0 {
		if err := w.a.DeleteStatic(ctx, file, keys); err != nil {
			// Kept as orphans of a file that is not seen: the next scan retries.
			st.seen, st.keys, st.orphans = false, nil, keys
			w.log.Warn("Delete pods of removed static pod manifest; retrying at the next rescan", "file", file, "pods", keys, "err", err)
			return
		}
		w.log.Info("Static pod manifest removed: pods deleted", "file", file, "pods", keys)
	}
	delete(w.files, file)
}

// unclaimed returns keys less those another file owns now.
func (w *Watcher) unclaimed(file string, keys []string) []string {
	var out []string
	for _, k := range keys {
		claimed := false
		for other, st := range w.files {
			if other != file && slices.Contains(st.keys, k) {
				claimed = true
				break
			}
		}
		if !claimed && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
