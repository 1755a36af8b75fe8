package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/runtime/shim"
)

// gcTimeout bounds the start-up garbage collection.
const gcTimeout = 30 * time.Second

// collectGarbage releases what a crash, a reboot or a lost record left that
// belongs to no accepted pod: shim processes (with the pod cgroups they
// ran), mounts and directories under the pods' state, and the CNI
// attachments and netns pins of sandboxes no pod uses. It runs before any
// worker starts, so no sandbox is being made meanwhile.
func (d *Daemon) collectGarbage(known map[string]bool, liveSandboxes []string) {
	ctx, cancel := context.WithTimeout(d.ctx, gcTimeout)
	defer cancel()
	layout := d.deps.Layout
	orphans := map[string]bool{}
	shimPids := d.shimProcesses()
	for uid := range shimPids {
		orphans[uid] = true
	}
	for _, dir := range []string{filepath.Join(d.cfg.RunRoot, "pods"), layout.PodsDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			orphans[e.Name()] = true
		}
	}
	for _, parent := range []string{d.cfg.CgroupParent, filepath.Join(d.cfg.CgroupParent, "shims")} {
		for _, uid := range podCgroupUIDs(parent) {
			orphans[uid] = true
		}
	}
	for uid := range orphans {
		if known[uid] {
			continue
		}
		stateDir := layout.ShimDir(uid)
		if cl, err := shim.Connect(ctx, stateDir); err == nil {
			cl.Stop(ctx, true)
			cl.Close()
		}
		for _, pid := range shimPids[uid] {
			syscall.Kill(pid, syscall.SIGKILL) // its state dir may be gone, pid file and all
		}
		if err := errors.Join(shim.Kill(stateDir, filepath.Join(d.cfg.CgroupParent, "pod"+uid)),
			shim.Kill(stateDir, podworker.ShimCgroup(d.cfg.CgroupParent, uid))); err != nil {
			slog.Warn("GC: kill what is left of an unknown pod", "uid", uid, "err", err)
		}
		unmountBelow(layout.PodDir(uid))
		for _, p := range []string{stateDir, layout.PodDir(uid)} {
			if err := os.RemoveAll(p); err != nil {
				slog.Warn("GC: remove the dirs of an unknown pod", "uid", uid, "err", err)
			}
		}
		slog.Info("GC: released an unknown pod", "uid", uid)
	}
	if err := d.network.GC(ctx, liveSandboxes); err != nil {
		slog.Warn("GC: network", "err", err)
	}
}

// shimProcesses finds running podd-shim processes of this daemon's run
// root: their pids by pod UID.
func (d *Daemon) shimProcesses() map[string][]int {
	prefix := []byte(filepath.Join(d.cfg.RunRoot, "pods") + "/")
	procs, _ := os.ReadDir("/proc")
	uids := map[string][]int{}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte("podd-shim")) {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if rest, ok := bytes.CutPrefix(arg, prefix); ok && len(rest) > 0 {
				uid := strings.SplitN(string(rest), "/", 2)[0]
				uids[uid] = append(uids[uid], pid)
			}
		}
	}
	return uids
}

// podCgroupUIDs lists the pod UIDs that have a cgroup under parent in any
// hierarchy.
func podCgroupUIDs(parent string) []string {
	var out []string
	for _, name := range shim.CgroupChildren(parent) {
		if uid, ok := strings.CutPrefix(name, "pod"); ok {
			out = append(out, uid)
		}
	}
	return out
}

// unmountBelow detaches every mount under dir, deepest first.
func unmountBelow(dir string) {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		slog.Warn("GC: read mount table", "err", err)
		return
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) > len(ms[j].Mountpoint) })
	for _, m := range ms {
		if err := syscall.Unmount(m.Mountpoint, syscall.MNT_DETACH); err != nil {
			slog.Warn("GC: unmount", "path", m.Mountpoint, "err", err)
		}
	}
}
