package cri

import (
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/spec"
)

const usernsField = "config.linux.security_context.namespace_options.userns_options"

// sandboxUserNamespace reads a sandbox's user namespace, as containerd and
// CRI-O have it: none or NODE is the node's; POD is the sandbox's own with
// exactly one UID and one GID mapping, each mapping container ID 0, on a
// host that makes idmapped mounts, and with the sandbox's own network, IPC
// and PID namespaces; CONTAINER and TARGET are refused. It returns the
// mappings of POD, nil otherwise.
func sandboxUserNamespace(ns *runtimeapi.NamespaceOption, host Features) (*idmap.Mappings, error) {
	u := ns.GetUsernsOptions()
	switch m := u.GetMode(); {
	case u == nil:
		return nil, nil
	case m == runtimeapi.NamespaceMode_NODE:
		if len(u.GetUids())+len(u.GetGids()) > 0 {
			return nil, invalid("%s: mode NODE is the node's user namespace and takes no uids or gids", usernsField)
		}
		return nil, nil
	case m != runtimeapi.NamespaceMode_POD:
		return nil, invalid("%s.mode %s: a sandbox's user namespace is POD (its own) or NODE", usernsField, m)
	case !host.UserNamespaces:
		return nil, unsupported("%s.mode POD: this host cannot give a sandbox its own user namespace (no idmapped mounts)", usernsField)
	case ns.GetNetwork() == runtimeapi.NamespaceMode_NODE || ns.GetIpc() == runtimeapi.NamespaceMode_NODE ||
		ns.GetPid() == runtimeapi.NamespaceMode_NODE:
		return nil, invalid("%s.mode POD: a sandbox in its own user namespace cannot use the node's network, IPC or PID namespace", usernsField)
	}
	ids := idmap.Mappings{UIDs: ranges(u.GetUids()), GIDs: ranges(u.GetGids())}
	if err := ids.Validate(usernsField); err != nil {
		return nil, invalid("%v", err)
	}
	return &ids, nil
}

// containerUserNamespace checks a container's user namespace options
// against its sandbox's: a container is in its sandbox's user namespace,
// so it may only repeat them (the kubelet does), as containerd has it; in
// a sandbox's own user namespace it cannot use the node's PID namespace.
func containerUserNamespace(ns *runtimeapi.NamespaceOption, sb Sandbox, p *spec.CRIInput) error {
	const f = "config.linux.security_context.namespace_options"
	own := sb.config().GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()
	if ownUserNamespace(sb) && p.Sandbox.HostPID {
		return invalid("%s.pid NODE: the sandbox has its own user namespace", f)
	}
	u := ns.GetUsernsOptions()
	if u == nil {
		return nil
	}
	mode := own.GetMode()
	if own == nil {
		mode = runtimeapi.NamespaceMode_NODE
	}
	ids := idmap.Mappings{UIDs: ranges(u.GetUids()), GIDs: ranges(u.GetGids())}
	sbIDs := idmap.Mappings{UIDs: ranges(own.GetUids()), GIDs: ranges(own.GetGids())}
	if u.GetMode() != mode || !ids.Equal(sbIDs) {
		return invalid("%s.userns_options (mode %s, uids %v, gids %v): a container is in its sandbox's user namespace (mode %s, uids %v, gids %v)",
			f, u.GetMode(), ids.UIDs, ids.GIDs, mode, sbIDs.UIDs, sbIDs.GIDs)
	}
	return nil
}

// mountIDMap reads the uid and gid mappings of a container's bind mount:
// both or neither, and only in a sandbox with its own user namespace.
func mountIDMap(m *runtimeapi.Mount, sb Sandbox, field func(string) string) (*idmap.Mappings, error) {
	u, g := m.GetUidMappings(), m.GetGidMappings()
	switch {
	case len(u)+len(g) == 0:
		return nil, nil
	case len(u) == 0 || len(g) == 0:
		return nil, invalid("%s and gidMappings: an idmapped mount needs both", field("uidMappings"))
	case !ownUserNamespace(sb):
		return nil, invalid("%s: only a mount of a sandbox with its own user namespace can be idmapped", field("uidMappings"))
	}
	return &idmap.Mappings{UIDs: ranges(u), GIDs: ranges(g)}, nil
}

// ownUserNamespace reports whether sb has a user namespace of its own
// (mode POD, CRI's zero value: the options must be there).
func ownUserNamespace(sb Sandbox) bool {
	u := sb.config().GetLinux().GetSecurityContext().GetNamespaceOptions().GetUsernsOptions()
	return u != nil && u.GetMode() == runtimeapi.NamespaceMode_POD
}

func ranges(in []*runtimeapi.IDMapping) []idmap.Range {
	if len(in) == 0 {
		return nil
	}
	out := make([]idmap.Range, len(in))
	for i, m := range in {
		out[i] = idmap.Range{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetLength()}
	}
	return out
}
