package shimdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// JoinCgroup moves process pid into cgroup path (absolute from each
// hierarchy's root), creating the directories. On cgroup v1 it joins every
// hierarchy but cpuset, whose new directories would first need cpus and
// mems copied down: the shim keeps the cpuset it was started in.
func JoinCgroup(pid int, path string) error {
	dirs, err := cgroupTargets(path)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("join cgroup %s: %w", path, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("join cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// RemoveCgroup removes cgroup path from every hierarchy; already gone is
// success. The processes in it must have exited.
func RemoveCgroup(path string) error {
	var errs []error
	for _, dir := range cgroupDirs(path) {
		errs = append(errs, removeTree(dir))
	}
	return errors.Join(errs...)
}

// hierarchies lists the roots of the mounted cgroup hierarchies: the one
// root of a pure v2 host, or each v1 hierarchy (and the unified one of a
// hybrid host).
func hierarchies() []string {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return []string{cgroupRoot}
	}
	ents, _ := os.ReadDir(cgroupRoot)
	var out []string
	for _, e := range ents {
		root := filepath.Join(cgroupRoot, e.Name())
		// Skips what is not a hierarchy, and links such as cpu,cpuacct.
		if st, err := os.Lstat(root); err != nil || !st.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err == nil {
			out = append(out, root)
		}
	}
	return out
}

// cgroupTargets lists where path lives (or will live) in each hierarchy, the
// v1 cpuset hierarchy excepted (see JoinCgroup).
func cgroupTargets(path string) ([]string, error) {
	roots := hierarchies()
	if len(roots) == 0 {
		return nil, fmt.Errorf("join cgroup %s: no cgroup hierarchy mounted at %s", path, cgroupRoot)
	}
	var out []string
	for _, root := range roots {
		if filepath.Base(root) != "cpuset" {
			out = append(out, filepath.Join(root, path))
		}
	}
	return out, nil
}

// cgroupDirs lists the existing directories of cgroup path, one per
// hierarchy that has it.
func cgroupDirs(path string) []string {
	var out []string
	for _, root := range hierarchies() {
		d := filepath.Join(root, path)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// CgroupChildren lists the names of the child cgroups of parent found in
// any hierarchy (for garbage collection).
func CgroupChildren(parent string) []string {
	seen := map[string]bool{}
	var out []string
	for _, root := range hierarchies() {
		ents, _ := os.ReadDir(filepath.Join(root, parent))
		for _, e := range ents {
			if e.IsDir() && !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// MoveCgroup makes cgroup from, which holds process pid and its children
// (a spare shim and the create child it starts while it waits), cgroup to
// (both absolute from each hierarchy's root, with the same parent). On a
// cgroup v1 hierarchy it renames the directory: no migration, which waits
// for an RCU grace period in each hierarchy (some 10 ms on a v1 host with
// eight of them), and the memory pid has been charged goes along. Where
// renaming is not possible (cgroup v2, or to exists: a retried launch) it
// moves pid, then the other processes of from, into to as JoinCgroup does
// and removes from.
func MoveCgroup(pid int, from, to string) error {
	dirs, err := cgroupTargets(to)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		root := strings.TrimSuffix(dir, filepath.Clean(to))
		old := filepath.Join(root, from)
		if filepath.Dir(old) == filepath.Dir(dir) && os.Rename(old, dir) == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("join cgroup %s: %w", to, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("join cgroup %s: %w", dir, err)
		}
		if b, err := os.ReadFile(filepath.Join(old, "cgroup.procs")); err == nil {
			for _, p := range strings.Fields(string(b)) {
				// One that ended meanwhile is gone from from too.
				_ = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(p), 0o644)
			}
		}
		_ = syscall.Rmdir(old) // empty now, or gone; never waited for

	}
	return nil
}
