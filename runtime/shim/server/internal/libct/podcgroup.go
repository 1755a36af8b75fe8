package libct

import (
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
)

// SetupPodCgroup creates the pod cgroup at path (absolute from each
// hierarchy's root) with no process in it, and sets the pod-level pids
// limit there, as the kubelet does for podPidsLimit: every container's
// cgroup goes below it, so the limit counts the whole pod. pidsLimit -1 is
// no limit ("max"); 0 leaves pids.max alone. On cgroup v2 the manager
// enables the controllers (pids among them) in every ancestor's
// subtree_control, which makes the pod cgroup an inner node whose limit
// its children honour.
func SetupPodCgroup(path string, pidsLimit int64) error {
	var limit *int64 // nil: pids.max is left alone
	if pidsLimit != 0 {
		limit = &pidsLimit
	}
	m, err := manager.New(&cgroups.Cgroup{
		Path: path,
		Resources: &cgroups.Resources{
			PidsLimit: limit,
			// The device rules are each container's, never the pod's.
			SkipDevices: true,
		},
	})
	if err != nil {
		return fmt.Errorf("pod cgroup %s: %w", path, err)
	}
	if err := m.Apply(-1); err != nil {
		return fmt.Errorf("create pod cgroup %s: %w", path, err)
	}
	if err := m.Set(&cgroups.Resources{PidsLimit: limit, SkipDevices: true}); err != nil {
		return fmt.Errorf("set pids limit %d on pod cgroup %s: %w", pidsLimit, path, err)
	}
	return nil
}
