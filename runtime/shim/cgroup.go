package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// cgroupTargets lists where path lives in each mounted hierarchy: the one
// directory of a pure v2 host, or one per v1 hierarchy (and the unified
// one of a hybrid host), cpuset excepted.
func cgroupTargets(path string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil {
		return []string{filepath.Join(cgroupRoot, path)}, nil
	}
	ents, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return nil, fmt.Errorf("list cgroup hierarchies: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "cpuset" {
			continue
		}
		if _, err := os.Stat(filepath.Join(cgroupRoot, e.Name(), "cgroup.procs")); err != nil {
			continue // a link such as cpu,cpuacct or not a hierarchy
		}
		out = append(out, filepath.Join(cgroupRoot, e.Name(), path))
	}
	return out, nil
}
