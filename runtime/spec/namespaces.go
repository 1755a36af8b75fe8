package spec

import (
	"slices"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// PauseID is the shim id of the pod's namespace holder.
const PauseID = "pause"

// Namespace types of shimv1.Namespace.
const (
	nsNet   = "net"
	nsIPC   = "ipc"
	nsUTS   = "uts"
	nsPID   = "pid"
	nsMount = "mount"
)

// containerNamespaces (R94): the network namespace is the pinned netns;
// IPC and UTS are the pause's; PID is the pause's with
// shareProcessNamespace, else the container's own. A host namespace is
// expressed by leaving its type out.
func containerNamespaces(sb Sandbox) []*shimv1.Namespace {
	ns := []*shimv1.Namespace{{Type: nsMount}}
	if !sb.HostNetwork {
		ns = append(ns, &shimv1.Namespace{Type: nsNet, Path: sb.NetnsPath},
			&shimv1.Namespace{Type: nsUTS, Container: PauseID})
	}
	if !sb.HostIPC {
		ns = append(ns, &shimv1.Namespace{Type: nsIPC, Container: PauseID})
	}
	switch {
	case sb.HostPID:
	case sb.ShareProcessNamespace:
		ns = append(ns, &shimv1.Namespace{Type: nsPID, Container: PauseID})
	default:
		ns = append(ns, &shimv1.Namespace{Type: nsPID})
	}
	return ns
}

// pauseNamespaces: the pause joins the pinned netns and creates the IPC
// and UTS namespaces the containers will join, except the host ones, and
// the PID namespace only when the pod shares one (otherwise each container
// has its own and nothing would join the pause's). It needs no mount
// namespace: it touches no file.
func pauseNamespaces(sb Sandbox) []*shimv1.Namespace {
	var ns []*shimv1.Namespace
	if !sb.HostNetwork {
		ns = append(ns, &shimv1.Namespace{Type: nsNet, Path: sb.NetnsPath}, &shimv1.Namespace{Type: nsUTS})
	}
	if !sb.HostIPC {
		ns = append(ns, &shimv1.Namespace{Type: nsIPC})
	}
	if !sb.HostPID && sb.ShareProcessNamespace {
		ns = append(ns, &shimv1.Namespace{Type: nsPID})
	}
	return ns
}

// JoinsOnlyPinned reports whether every namespace a container of sandbox
// sb joins through the pause is one of pinned, the namespaces its shim
// made for the pause as it started: such a container can be made before
// the pause runs. Never in a user namespace of the pod's own, which only
// the pause makes (and its other namespaces inside it).
func JoinsOnlyPinned(sb Sandbox, pinned []string) bool {
	if sb.UserNS != nil {
		return false
	}
	for _, ns := range containerNamespaces(sb) {
		if ns.GetContainer() == PauseID && !slices.Contains(pinned, ns.GetType()) {
			return false
		}
	}
	return true
}
