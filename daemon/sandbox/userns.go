package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The root of a sandbox's own user namespace is an unprivileged user on
// the host: runc, in that namespace, must reach the pause's and the
// containers' roots by path. So the directories on those paths need
// search permission for others (o+x; not read: the names must be known),
// as containerd keeps its state directories 0711. podd's own directories
// get it when such a sandbox is made (Searchable); those above podd's
// root and run root are the host's, checked once (ReachableAbove).

// Searchable makes path and each directory between it and top (both
// included; path is under top) at least 0700 and searchable by others,
// creating what is missing.
func Searchable(top, path string) error {
	rel, err := filepath.Rel(top, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("make %s reachable: not under %s", path, top)
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return fmt.Errorf("make %s reachable: %w", path, err)
	}
	for d := path; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("make %s reachable: %w", path, err)
		}
		if m := fi.Mode().Perm(); m&0o001 == 0 {
			if err := os.Chmod(d, m|0o711); err != nil {
				return fmt.Errorf("make %s reachable: %w", path, err)
			}
		}
		if d == top || d == "/" {
			return nil
		}
	}
}

// ReachableAbove returns an error naming the first directory above dir
// that others cannot search: the root of a sandbox's user namespace could
// not reach what podd keeps in dir.
func ReachableAbove(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %04o) is not searchable by others, which a sandbox's user namespace needs to reach %s", d, fi.Mode().Perm(), dir)
		}
		if d == "/" {
			return nil
		}
	}
}
