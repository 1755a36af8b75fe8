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

// PinnedNamespaces are the namespace types of sandbox sb that its shim
// makes for the pause as it starts (LaunchConfig.PinNamespaces): the UTS
// and IPC namespaces the pause would make, not the host's. A sandbox in a
// user namespace of its own has none (the pause makes them inside it).
func PinnedNamespaces(sb Sandbox) []string {
	if sb.UserNS != nil {
		return nil
	}
	var out []string
	for _, ns := range pauseNamespaces(sb) {
		if ns.GetType() == nsUTS || ns.GetType() == nsIPC {
			out = append(out, ns.GetType())
		}
	}
	return out
}

// JoinsOnlyPinned reports whether every namespace a container of sandbox
// sb joins through the pause is one of pinned: such a container can be
// made before the pause runs.
func JoinsOnlyPinned(sb Sandbox, pinned []string) bool {
	for _, ns := range containerNamespaces(sb) {
		if ns.GetContainer() == PauseID && !slices.Contains(pinned, ns.GetType()) {
			return false
		}
	}
	return true
}
