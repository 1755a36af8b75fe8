package spec

import (
	"errors"
	"fmt"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
)

// nsUser is the user namespace type of shimv1.Namespace.
const nsUser = "user"

// createUserNamespace makes the pause the creator of the pod's user
// namespace with ids, and of the network namespace inside it: a netns the
// host made belongs to the host's user namespace, and the pod's root could
// neither mount sysfs in it nor set its sysctls (containerd lets runc make
// it for the same reason). The sandbox pins it from the pause and runs CNI
// in it. The host's network, IPC and PID namespaces cannot be the pod's
// then, as Kubernetes has it for hostUsers: false. The pause runs as
// PauseUID in the namespace, or as its highest ID when PauseUID is not
// mapped; never as its root, who would have every capability in it.
func createUserNamespace(cfg *shimv1.ContainerConfig, sb Sandbox, ids idmap.Mappings) error {
	if sb.HostNetwork || sb.HostIPC || sb.HostPID {
		return errors.New("build pause config: a pod in its own user namespace cannot use the host's network, IPC or PID namespace")
	}
	if err := ids.Validate("user namespace"); err != nil {
		return fmt.Errorf("build pause config: %w", err)
	}
	for i, ns := range cfg.Namespaces {
		if ns.GetType() == nsNet {
			cfg.Namespaces[i] = &shimv1.Namespace{Type: nsNet}
		}
	}
	cfg.Namespaces = append(cfg.Namespaces, &shimv1.Namespace{Type: nsUser})
	cfg.UidMappings, cfg.GidMappings = shimMappings(ids.UIDs), shimMappings(ids.GIDs)
	if !ids.Maps(PauseUID) {
		last := min(ids.UIDs[0].Size, ids.GIDs[0].Size) - 1 // Validate: one range each, from ID 0
		if last == 0 {
			return errors.New("build pause config: the pod's user namespace maps only ID 0, and the pause runs as a user other than root")
		}
		cfg.User = &shimv1.User{Uid: last, Gid: last}
	}
	return nil
}

// joinUserNamespace puts a container in the pause's user namespace; its
// user and groups must be mapped there.
func joinUserNamespace(cfg *shimv1.ContainerConfig, ids idmap.Mappings) error {
	u := cfg.GetUser()
	for _, g := range append([]uint32{u.GetUid(), u.GetGid()}, u.GetAdditionalGids()...) {
		if !ids.Maps(g) {
			return fmt.Errorf("user %d, group %d and supplementary groups %v: ID %d is not mapped in the pod's user namespace (%v)",
				u.GetUid(), u.GetGid(), u.GetAdditionalGids(), g, ids)
		}
	}
	cfg.Namespaces = append(cfg.Namespaces, &shimv1.Namespace{Type: nsUser, Container: PauseID})
	return nil
}

// idmapMounts makes the bind mount of each volume named in ids an
// idmapped mount with its mappings.
func idmapMounts(mounts []*shimv1.Mount, volumes []string, ids map[string]idmap.Mappings) {
	for i, name := range volumes {
		if m, ok := ids[name]; ok && i < len(mounts) {
			mounts[i].UidMappings, mounts[i].GidMappings = shimMappings(m.UIDs), shimMappings(m.GIDs)
		}
	}
}

func shimMappings(rs []idmap.Range) []*shimv1.IDMapping {
	out := make([]*shimv1.IDMapping, len(rs))
	for i, r := range rs {
		out[i] = &shimv1.IDMapping{ContainerId: r.ContainerID, HostId: r.HostID, Size: r.Size}
	}
	return out
}
