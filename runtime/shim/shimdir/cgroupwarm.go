package shimdir

import (
	"bufio"
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// The kernel serializes cgroup migrations with one per-CPU rwsem
// (cgroup_threadgroup_rwsem). Its writer, a migration, first waits for an
// RCU grace period unless another migration ran within the last one, and
// it waits holding cgroup_mutex, so every cgroup change waits with it: 7-16
// ms on the 2-core CI host (HZ 250), against ~0.05 ms for the next
// migrations, inside that window. Hierarchies mounted with favordynmods
// never wait; no distribution mounts them so. A pod start migrates its
// shim, its pause and each container's init: the first of them paid the
// wait, after the pod was accepted, persisted and planned.
//
// WarmMigrations starts that wait at once, as soon as the daemon knows a
// sandbox is coming, so that it runs beside the work before the first real
// migration instead of after it: it moves the daemon into the cgroup it is
// in (a migration that changes nothing), in the background. One runs at a
// time; a call while one runs does nothing.
func WarmMigrations() {
	if !warming.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer warming.Store(false)
		if err := MigrateSelf(); err != nil {
			warmFailed.Do(func() {
				slog.Debug("Warm cgroup migrations: migrating the daemon into its own cgroup failed; pod starts wait for the kernel's grace period", "err", err)
			})
		}
	}()
}

var (
	warming    atomic.Bool
	warmFailed sync.Once
)

// MigrateSelf moves the calling process into the cgroup it is in (a
// migration that changes nothing) by writing its pid into that cgroup's
// cgroup.procs: of the cgroup v2 hierarchy when one is mounted, else of the
// first v1 hierarchy it finds. It takes as long as the kernel makes a
// migration wait (see WarmMigrations).
func MigrateSelf() error {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	path, err := ownCgroupProcs(b, hierarchies())
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// ownCgroupProcs picks, from /proc/self/cgroup (procCgroup) and the mounted
// hierarchies (roots), the cgroup.procs file of the process's own cgroup.
func ownCgroupProcs(procCgroup []byte, roots []string) (string, error) {
	byName := map[string]string{}
	for _, r := range roots {
		byName[filepath.Base(r)] = r
	}
	var v1 []string
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls, path := parts[1], parts[2]
		if ctrls == "" {
			// The v2 hierarchy: the only one on a v2 host, "unified"
			// on a hybrid one.
			if len(roots) == 1 && filepath.Base(roots[0]) == filepath.Base(cgroupRoot) {
				return filepath.Join(roots[0], path, "cgroup.procs"), nil
			}
			if r, ok := byName["unified"]; ok {
				return filepath.Join(r, path, "cgroup.procs"), nil
			}
			continue
		}
		// A v1 hierarchy is mounted under its controller list
		// ("cpu,cpuacct") or its name ("systemd" for name=systemd).
		if r, ok := byName[strings.ReplaceAll(ctrls, "name=", "")]; ok {
			v1 = append(v1, filepath.Join(r, path, "cgroup.procs"))
		}
	}
	if len(v1) > 0 {
		return v1[0], nil
	}
	return "", os.ErrNotExist
}
