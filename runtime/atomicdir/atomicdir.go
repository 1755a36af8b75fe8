// Package atomicdir writes a directory of files that readers see change all
// at once, with the kubelet's atomic-writer layout: the files live in a
// timestamped directory `..<time>.<rand>`, the `..data` symlink points at
// the current one and is swapped by rename, and each name a user sees is a
// symlink through `..data` (`key -> ..data/key`).
package atomicdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// DataLink is the symlink to the current payload directory.
const DataLink = "..data"

const dataTmpLink = "..data_tmp"

// File is one file of a payload.
type File struct {
	Data []byte
	Mode os.FileMode
	// Group owns the file when set (a pod's fsGroup).
	Group *int64
}

// Write makes dir (which must exist) hold exactly payload, keyed by
// relative path. Readers through the user-visible names see the old payload
// or the new one, never a mix. It reports whether anything changed: an
// identical payload leaves dir alone. A failure leaves the old payload
// visible.
func Write(dir string, payload map[string]File) (bool, error) {
	if err := checkPaths(payload); err != nil {
		return false, fmt.Errorf("write %s: %w", dir, err)
	}
	old, err := os.Readlink(filepath.Join(dir, DataLink))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("write %s: %w", dir, err)
	}
	if old != "" && same(filepath.Join(dir, old), payload) {
		return false, nil
	}
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, fmt.Errorf("write %s: %w", dir, err)
	}
	if err := fill(ts, payload); err != nil {
		return false, errors.Join(fmt.Errorf("write %s: %w", dir, err), os.RemoveAll(ts))
	}
	if err := swap(dir, filepath.Base(ts)); err != nil {
		return false, errors.Join(fmt.Errorf("write %s: %w", dir, err), os.RemoveAll(ts))
	}
	// From here the new payload is what readers see; what follows tidies.
	if err := linkVisible(dir, payload); err != nil {
		return true, fmt.Errorf("write %s: %w", dir, err)
	}
	if old != "" && old != filepath.Base(ts) && strings.HasPrefix(old, "..") && !strings.Contains(old, "/") {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			return true, fmt.Errorf("write %s: remove the old payload: %w", dir, err)
		}
	}
	return true, nil
}

// checkPaths refuses a path that is absolute, leaves the directory or
// starts with "..", which the layout reserves.
func checkPaths(payload map[string]File) error {
	for p := range payload {
		switch {
		case p == "" || path.IsAbs(p):
			return fmt.Errorf("path %q: must be a non-empty relative path", p)
		case path.Clean(p) != p:
			return fmt.Errorf("path %q: must be clean", p)
		case strings.HasPrefix(p, ".."):
			return fmt.Errorf("path %q: must not start with '..'", p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == ".." {
				return fmt.Errorf("path %q: must not contain '..'", p)
			}
		}
	}
	// A path may not also be the directory of another.
	for p := range payload {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := payload[d]; ok {
				return fmt.Errorf("path %q: %q is a file of the payload", p, d)
			}
		}
	}
	return nil
}

// same reports whether dir holds exactly payload, modes included.
func same(dir string, payload map[string]File) bool {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, ok := payload[rel]
		if !ok {
			return errors.New("extra file")
		}
		fi, err := d.Info()
		if err != nil || fi.Mode() != f.Mode.Perm() {
			return errors.New("mode differs")
		}
		if f.Group != nil && !hasGroup(fi, *f.Group) {
			return errors.New("group differs")
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.Data) {
			return errors.New("content differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}

// fill writes payload below ts.
func fill(ts string, payload map[string]File) error {
	if err := os.Chmod(ts, 0o755); err != nil {
		return err
	}
	for rel, f := range payload {
		p := filepath.Join(ts, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(p, f.Data, f.Mode.Perm()); err != nil {
			return err
		}
		if f.Group != nil {
			if err := os.Lchown(p, -1, int(*f.Group)); err != nil {
				return err
			}
		}
		// The mode must be exact, whatever the umask.
		if err := os.Chmod(p, f.Mode.Perm()); err != nil {
			return err
		}
	}
	return nil
}

// swap points ..data at ts by renaming a fresh symlink over it.
func swap(dir, ts string) error {
	tmp := filepath.Join(dir, dataTmpLink)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, DataLink)); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return atomicfile.SyncDir(dir)
}

// linkVisible makes each top-level name of payload a symlink through
// ..data and removes the user-visible names it no longer has.
func linkVisible(dir string, payload map[string]File) error {
	want := map[string]bool{}
	for p := range payload {
		want[strings.SplitN(p, "/", 2)[0]] = true
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		link := filepath.Join(dir, n)
		target := filepath.Join(DataLink, n)
		if t, err := os.Readlink(link); err == nil && t == target {
			continue
		}
		if err := os.RemoveAll(link); err != nil {
			return err
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") || want[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
