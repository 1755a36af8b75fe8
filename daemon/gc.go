package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/ownership"
	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/pidsignal"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/runtime/unmount"
)

// gcTimeout bounds the start-up garbage collection.
const gcTimeout = 30 * time.Second

// collectGarbage releases what a crash, a reboot or a lost record left that
// belongs to no accepted pod: shim processes (with the pod cgroups they
// ran), mounts and directories under the pods' state, and the CNI
// attachments and netns pins of sandboxes no pod uses. It runs before any
// worker starts, so no sandbox is being made meanwhile.
//
// It touches only what this daemon's records name (directories under its
// root and run root, shims serving from its run root) and pod cgroups
// under a cgroup parent its root holds the claim of: never another
// daemon's pods, even one sharing the cgroup parent. CRI sandboxes are
// their client's to collect: their shims, cgroups (cri<id>) and records
// live apart from the pods', and their networks are kept as live.
func (d *Daemon) collectGarbage(pods []*corev1.Pod, states []*podworker.State) {
	ctx, cancel := context.WithTimeout(d.ctx, gcTimeout)
	defer cancel()
	layout := d.deps.Layout
	known := map[string]bool{}
	for _, p := range pods {
		known[string(p.UID)] = true
	}
	shimPids := d.shimProcesses() // pidfds, closed when the pass ends
	defer func() {
		for _, fds := range shimPids {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}()
	tr := podTraces{
		Records:     map[string]bool{},
		Shims:       map[string]bool{},
		Cgroups:     map[string]bool{},
		OwnsCgroups: d.host != nil && d.host.owns(ownership.CgroupParent, d.cfg.CgroupParent),
	}
	for uid := range shimPids {
		tr.Shims[uid] = true
	}
	for _, dir := range []string{layout.ShimsDir(), layout.PodsDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			tr.Records[e.Name()] = true
		}
	}
	for _, parent := range []string{layout.CgroupParent, layout.ShimsCgroup()} {
		for _, uid := range podCgroupUIDs(parent) {
			tr.Cgroups[uid] = true
		}
	}
	release, foreign := orphans(known, tr)
	if len(foreign) > 0 {
		slog.Warn("GC: pod cgroups no record of this daemon names, under a cgroup parent it does not own; left alone",
			"cgroup-parent", d.cfg.CgroupParent, "uids", foreign)
	}
	for _, uid := range release {
		stateDir := layout.ShimDir(uid)
		if cl, err := d.deps.Shims.Connect(ctx, stateDir); err == nil {
			cl.Stop(ctx, true)
			cl.Close()
		}
		for _, fd := range shimPids[uid] {
			// Its state dir may be gone, pid file and all. Through the
			// pidfd: a shim that ended as it was stopped left its pid to
			// whatever process comes next.
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
		if err := errors.Join(d.deps.Shims.Kill(stateDir, layout.PodCgroup(uid)),
			d.deps.Shims.Kill(stateDir, layout.ShimCgroup(uid))); err != nil {
			slog.Warn("GC: kill what is left of an unknown pod", "uid", uid, "err", err)
		}
		// Never deleted through a mount: a pod dir whose mounts cannot be
		// taken down stays for the next pass.
		if err := unmount.RemoveAll(layout.PodDir(uid)); err != nil {
			slog.Warn("GC: unmount and remove the pod dir of an unknown pod", "uid", uid, "err", err)
		}
		if err := os.RemoveAll(stateDir); err != nil {
			slog.Warn("GC: remove the shim state dir of an unknown pod", "uid", uid, "err", err)
		}
		slog.Info("GC: released an unknown pod", "uid", uid)
	}
	if err := d.network.GC(ctx, append(liveSandboxes(states), d.criSandboxes.IDs()...)); err != nil {
		slog.Warn("GC: network", "err", err)
	}
}

// podTraces are the pod UIDs found on the host, by where they were found.
type podTraces struct {
	// Records: a directory under the root's or the run root's pods dir.
	Records map[string]bool
	// Shims: a podd-shim process serving from the run root.
	Shims map[string]bool
	// Cgroups: pod<uid> or shims/pod<uid> under the cgroup parent.
	Cgroups map[string]bool
	// OwnsCgroups: this root holds the claim of the cgroup parent.
	OwnsCgroups bool
}

// orphans decides which pods to release: every UID this daemon's records
// or shims name that no accepted pod has, and, under a cgroup parent the
// root owns, every pod cgroup no accepted pod has. UIDs found only as
// cgroups under a parent it does not own are foreign: they may be another
// daemon's pods, and are never touched. Both lists are sorted.
func orphans(known map[string]bool, tr podTraces) (release, foreign []string) {
	seen := map[string]bool{}
	add := func(uid string, ours bool) {
		if known[uid] || seen[uid] {
			return
		}
		seen[uid] = true
		if ours {
			release = append(release, uid)
		} else {
			foreign = append(foreign, uid)
		}
	}
	for uid := range tr.Records {
		add(uid, true)
	}
	for uid := range tr.Shims {
		add(uid, true)
	}
	for uid := range tr.Cgroups {
		add(uid, tr.OwnsCgroups)
	}
	sort.Strings(release)
	sort.Strings(foreign)
	return release, foreign
}

// liveSandboxes lists the sandboxes the pods' records hold: the current
// one and one whose creation a crash cut short, which the pod's worker
// undoes itself (its CNI DEL needs the netns pin GC would otherwise
// remove first).
func liveSandboxes(states []*podworker.State) []string {
	var live []string
	for _, st := range states {
		if st.Sandbox != nil {
			live = append(live, st.Sandbox.ID)
		}
		if st.SandboxCreating != "" {
			live = append(live, st.SandboxCreating)
		}
	}
	return live
}

// shimProcesses finds running podd-shim processes of this daemon's run
// root: a pidfd of each by pod UID (the caller closes them).
func (d *Daemon) shimProcesses() map[string][]int {
	prefix := []byte(d.deps.Layout.ShimsDir() + "/")
	procs, _ := os.ReadDir("/proc")
	uids := map[string][]int{}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		// Pinned before its cmdline is read: a kill through the pidfd can
		// never reach another process that took the pid.
		fd, cmdline, err := pidsignal.Pin(pid)
		if err != nil {
			continue
		}
		if !bytes.Contains(cmdline, []byte("podd-shim")) {
			unix.Close(fd)
			continue
		}
		pinned := false
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if rest, ok := bytes.CutPrefix(arg, prefix); ok && len(rest) > 0 {
				uid := strings.SplitN(string(rest), "/", 2)[0]
				uids[uid] = append(uids[uid], fd)
				pinned = true
				break
			}
		}
		if !pinned {
			unix.Close(fd)
		}
	}
	return uids
}

// podCgroupUIDs lists the pod UIDs that have a cgroup under parent in any
// hierarchy.
func podCgroupUIDs(parent string) []string {
	var out []string
	for _, name := range shimdir.CgroupChildren(parent) {
		if uid, ok := store.CgroupUID(name); ok {
			out = append(out, uid)
		}
	}
	return out
}
