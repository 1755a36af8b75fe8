package libct

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/opencontainers/cgroups"
)

// RemoveCgroup removes the cgroup path (absolute from each hierarchy's root)
// and everything below it from every mounted hierarchy: each v1 controller
// and the unified one. A missing directory is not an error.
func RemoveCgroup(path string) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) == "/" {
		return fmt.Errorf("remove cgroup %q: not an absolute path below the root", path)
	}
	var dirs []string
	if cgroups.IsCgroup2UnifiedMode() {
		dirs = append(dirs, filepath.Join("/sys/fs/cgroup", path))
	} else {
		mounts, err := cgroups.GetCgroupMounts(true)
		if err != nil {
			return fmt.Errorf("remove cgroup %s: %w", path, err)
		}
		for _, m := range mounts {
			dirs = append(dirs, filepath.Join(m.Mountpoint, path))
		}
		if cgroups.IsCgroup2HybridMode() {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup/unified", path))
		}
	}
	var errs []error
	for _, d := range dirs {
		if err := cgroups.RemovePath(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", path, err)
	}
	return nil
}
