package libct

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// applyUserNamespace gives a container that creates its user namespace
// the mappings of it. One that joins a user namespace (by path or through
// another container) gives none: libcontainer reads them from the
// namespace, and runc refuses a path with mappings that differ.
func applyUserNamespace(s *specs.Spec, cfg *shimv1.ContainerConfig) error {
	uids, gids := cfg.GetUidMappings(), cfg.GetGidMappings()
	creates := false
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			creates = ns.Path == ""
		}
	}
	switch {
	case creates && (len(uids) == 0 || len(gids) == 0):
		return fmt.Errorf("container %q: a new user namespace needs uid and gid mappings", cfg.GetId())
	case !creates && len(uids)+len(gids) > 0:
		return fmt.Errorf("container %q: uid and gid mappings are given without a new user namespace", cfg.GetId())
	case !creates:
		return nil
	}
	s.Linux.UIDMappings, s.Linux.GIDMappings = idMappings(uids), idMappings(gids)
	return nil
}

// idMappings converts shim/v1 mappings to the OCI spec's (nil for none).
func idMappings(in []*shimv1.IDMapping) []specs.LinuxIDMapping {
	if len(in) == 0 {
		return nil
	}
	out := make([]specs.LinuxIDMapping, len(in))
	for i, m := range in {
		out[i] = specs.LinuxIDMapping{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetSize()}
	}
	return out
}

// checkMountMappings refuses idmapped mounts that runc could not make: a
// mount other than a bind, or one with only uid or only gid mappings.
func checkMountMappings(cfg *shimv1.ContainerConfig) error {
	for _, m := range cfg.GetMounts() {
		u, g := len(m.GetUidMappings()), len(m.GetGidMappings())
		switch {
		case u+g == 0:
		case m.GetType() != "bind":
			return fmt.Errorf("container %q: mount %q: only a bind mount can be idmapped, not %q", cfg.GetId(), m.GetDestination(), m.GetType())
		case u == 0 || g == 0:
			return fmt.Errorf("container %q: mount %q: an idmapped mount needs uid and gid mappings", cfg.GetId(), m.GetDestination())
		}
	}
	return nil
}
