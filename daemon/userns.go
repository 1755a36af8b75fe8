package daemon

import (
	"log/slog"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/runtime/rootfs"
)

// userNamespacesHere probes whether a sandbox can have its own user
// namespace here: the kernel must mount a rootfs over idmapped layers in
// the root's filesystem (where the image layers are), and the namespace's
// root must be able to reach podd's directories.
func (d *Daemon) userNamespacesHere() bool {
	l := d.store.Layout
	if err := rootfs.ProbeIDMapped(l.Root); err != nil {
		slog.Info("Sandboxes cannot have their own user namespace: no rootfs over idmapped layers", "dir", l.Root, "err", err)
		return false
	}
	for _, dir := range []string{l.Root, l.RunRoot} {
		if err := sandbox.ReachableAbove(dir); err != nil {
			slog.Info("Sandboxes cannot have their own user namespace", "err", err)
			return false
		}
	}
	return true
}

// claimUserNamespaces records the user namespace each restored pod holds,
// before any worker runs: none is given to another pod.
func (d *Daemon) claimUserNamespaces(pods []*corev1.Pod, states []*podworker.State) {
	for i, st := range states {
		if st.UserNS == nil {
			continue
		}
		if err := d.deps.UserNS.Claim(string(pods[i].UID), *st.UserNS); err != nil {
			// The pod keeps it: its processes may run in it.
			slog.Warn("Pod's user namespace outside this daemon's range; kept", "pod", pods[i].Namespace+"/"+pods[i].Name, "uid", pods[i].UID, "err", err)
		}
	}
}
