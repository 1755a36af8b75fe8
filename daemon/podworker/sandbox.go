package podworker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/podfiles"
)

// Sandbox is one instance of a pod's sandbox: pinned netns with its CNI
// attachment, pod files, the shim and its pause holder.
type Sandbox struct {
	// ID is fresh per instance: the netns pin name and the CNI container ID.
	ID string `json:"id"`
	// Attempt is the planner's number for this sandbox (R32).
	Attempt   uint32    `json:"attempt"`
	NetnsPath string    `json:"netnsPath,omitempty"`
	IP        string    `json:"ip,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

func newSandboxID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// defaultRuntimeTimeout is Deps.RuntimeTimeout when that is zero: the
// kubelet's runtime request timeout.
const defaultRuntimeTimeout = 2 * time.Minute

func (w *Worker) runtimeTimeout() time.Duration {
	if w.deps.RuntimeTimeout > 0 {
		return w.deps.RuntimeTimeout
	}
	return defaultRuntimeTimeout
}

// createSandbox makes the pod's sandbox in the design's order: volumes, then
// the sandbox service's steps (pin netns + CNI ADD, pod files, shim,
// pause). Each step registers its undo as soon as what it made exists; on a
// failure (or a panic) everything made is undone, newest first, and the
// error names the step and every undo that failed.
func (w *Worker) createSandbox(ctx context.Context, attempt uint32, t *startTiming) (_ *Sandbox, _ ShimClient, err error) {
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	sb := &Sandbox{ID: newSandboxID(), Attempt: attempt, CreatedAt: time.Now()}
	ids, err := w.userNamespace()
	if err != nil {
		return nil, nil, err
	}
	// Record the attempt (and the user namespace) before making anything,
	// so that a crash half-way is undone on restart (abandonCreation).
	w.mu.Lock()
	w.state.SandboxCreating = sb.ID
	w.mu.Unlock()
	w.persist()
	t.mark("persist_intent", time.Now())

	if err := w.prepareSandboxVolumes(ctx, &rollback); err != nil {
		return nil, nil, err
	}
	t.mark("volumes", time.Now())
	if ids != nil {
		if err := sandbox.Searchable(w.deps.Layout.RunRoot, w.deps.Layout.ShimDir(w.uid)); err != nil {
			return nil, nil, err
		}
	}
	var ahead *aheadBatch
	req := sandbox.Request{
		ID: sb.ID, Owner: "pod " + w.key, Pod: w.pod, PortMappings: portMappings(w.pod), Paths: w.sandboxPaths(), UserNS: ids,
		WriteFiles: func(inst *sandbox.Instance) error {
			if ahead != nil {
				// The files without the address, which the containers
				// made ahead bind-mount, are written first.
				ahead.filesWritten()
			}
			return w.writePodFiles(inst.IP)
		},
		Mark: func(step string, at time.Time, parts []sandbox.Phase) {
			pts := make([]phaseTime, len(parts))
			for i, p := range parts {
				pts[i] = phaseTime{name: p.Name, took: p.Took}
			}
			t.markParts(step, at, pts...)
		},
		Side: func(parts []sandbox.Phase) {
			for _, p := range parts {
				t.side(p.Name, p.Took)
			}
		},
	}
	if ids == nil && w.deps.StartAhead {
		if acts := w.prestartActions(attempt); len(acts) > 0 {
			ahead = w.startAhead(ctx, acts)
			req.Prestart = func(ctx context.Context, cl ShimClient, netnsPath string) {
				w.prestart(ctx, cl, Sandbox{ID: sb.ID, Attempt: attempt, NetnsPath: netnsPath}, ahead)
			}
			// Made beside the network: undone if the sandbox is (the
			// shim's stop took the processes).
			before := w.heldIDs()
			rollback.Push("discard the containers made ahead for sandbox "+sb.ID, func(ctx context.Context) error {
				w.dropAhead(ctx, ahead)
				w.discardHeld(ctx, newIDs(w.heldIDs(), before))
				return nil
			})
		}
	}
	inst, cl, err := w.sandboxes().Create(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	if ahead != nil {
		// Prepared but never held (its pause never ran).
		w.dropAhead(ctx, ahead)
	}
	sb.NetnsPath, sb.IP, sb.IPs = inst.NetnsPath, inst.IP, inst.IPs
	rollback.Release()
	slog.Info("Sandbox created", "pod", w.key, "uid", w.uid, "sandbox", sb.ID, "ip", sb.IP)
	return sb, cl, nil
}

// sandboxes is the sandbox service over the worker's seams.
func (w *Worker) sandboxes() *sandbox.Service {
	d := w.deps
	return sandbox.New(sandbox.Deps{
		Network: d.Network, Shims: d.shims(), ShimBinary: d.ShimBinary, PauseBinary: d.PauseBinary,
		ShimLogLevel: d.ShimLogLevel, LogRotation: d.LogRotation, PodPidsLimit: d.PodPidsLimit,
		Security: d.Security, NodeIP: d.NodeIP,
	})
}

// sandboxPaths are where the pod's sandbox lives (store.Layout).
func (w *Worker) sandboxPaths() sandbox.Paths {
	l := w.deps.Layout
	return sandbox.Paths{
		ShimDir: l.ShimDir(w.uid), PodCgroup: w.podCgroup(), ShimCgroup: w.shimCgroup(),
		PauseLog: l.PauseLog(w.uid),
	}
}

// prepareSandboxVolumes makes the pod's volumes ready.
func (w *Worker) prepareSandboxVolumes(ctx context.Context, rollback *undo.Stack) error {
	podDir := w.deps.Layout.PodDir(w.uid)
	vols, err := w.deps.volumes().Prepare(ctx, w.pod, podDir)
	if err != nil {
		return fmt.Errorf("prepare volumes: %w", err)
	}
	w.mu.Lock()
	w.volumes = vols
	w.mu.Unlock()
	rollback.Push("clean up the volumes of pod "+w.key, func(ctx context.Context) error {
		w.mu.Lock()
		w.volumes = nil
		w.mu.Unlock()
		return w.deps.volumes().Cleanup(ctx, podDir)
	})
	return nil
}

// abandonCreation undoes a sandbox creation that a daemon crash, a panic
// or an incomplete rollback left: the shim it may have started (with
// whatever runs in the pod cgroup) and the CNI attachment it may have made,
// cached or not. A sandbox the state does not record (SandboxUnknown) goes
// the same way; its network, in no pod's records, is the start-up GC's. The
// record is kept until this succeeds, so that a failure is retried.
func (w *Worker) abandonCreation(ctx context.Context) error {
	w.mu.Lock()
	id, unknown := w.state.SandboxCreating, w.state.SandboxUnknown
	w.mu.Unlock()
	if id == "" && !unknown {
		return nil
	}
	var errs []error
	if err := w.killShim(); err != nil {
		errs = append(errs, fmt.Errorf("kill shim: %w", err))
	}
	if id != "" && !w.pod.Spec.HostNetwork {
		if err := w.deps.Network.Teardown(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := w.unmountAllRootfs(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("undo the unfinished creation of sandbox %q: %w", id, err)
	}
	w.mu.Lock()
	w.state.SandboxCreating = ""
	w.state.SandboxUnknown = false
	w.mu.Unlock()
	w.persist()
	slog.Info("Undid an unfinished sandbox creation", "pod", w.key, "uid", w.uid, "sandbox", id)
	return nil
}

// writePodFiles writes /etc/hosts, /etc/resolv.conf and /etc/hostname for
// the pod's containers (R91) in its run directory; once the address is
// known (podIP set), in place (sandbox.WritePodFiles).
func (w *Worker) writePodFiles(podIP string) error {
	hostHosts, _ := os.ReadFile("/etc/hosts")
	hostResolv, err := podfiles.ReadHostResolvConf(w.deps.ResolvConf)
	if err != nil {
		return fmt.Errorf("write pod files: %w", err)
	}
	resolv, warning, err := podfiles.ResolvConf(w.pod, hostResolv, w.deps.ClusterDNS)
	if err != nil {
		return fmt.Errorf("write pod files: resolv.conf: %w", err)
	}
	if warning != "" {
		w.event(corev1.EventTypeWarning, "DNSConfigForming", "", warning)
	}
	l := w.deps.Layout
	return sandbox.WritePodFiles(l.ShimDir(w.uid), l.PodFilesDir(w.uid), map[string][]byte{
		l.HostnameFile(w.uid):   []byte(podfiles.Hostname(w.pod) + "\n"),
		l.HostsFile(w.uid):      podfiles.Hosts(w.pod, podIP, hostHosts, w.deps.ClusterDNS.Domain),
		l.ResolvConfFile(w.uid): resolv,
	}, podIP != "")
}

// newIDs returns the ids of now that are not in before.
func newIDs(now, before []string) []string {
	old := map[string]bool{}
	for _, id := range before {
		old[id] = true
	}
	var out []string
	for _, id := range now {
		if !old[id] {
			out = append(out, id)
		}
	}
	return out
}

// teardownSandbox releases everything of the sandbox instance in the
// design's order: shim (with pause and any container left) → CNI DEL →
// unpin (the sandbox service) → container rootfs mounts. Each step treats
// "already gone" as done.
func (w *Worker) teardownSandbox(ctx context.Context, t *startTiming) error {
	w.mu.Lock()
	cl := w.shim
	w.shim = nil
	sb := w.state.Sandbox
	w.mu.Unlock()
	if cl == nil {
		cl, _ = w.connectShim(ctx)
	}
	td := sandbox.Teardown{HostNetwork: w.pod.Spec.HostNetwork, Paths: w.sandboxPaths(), Shim: cl, Mark: t.mark}
	if sb != nil {
		td.ID = sb.ID
	}
	err := w.sandboxes().Release(ctx, td)
	err = errors.Join(err, w.unmountAllRootfs())
	t.mark("rootfs", time.Now())
	return err
}

// unmountAllRootfs unmounts and removes every container root filesystem.
func (w *Worker) unmountAllRootfs() error {
	dir := w.deps.Layout.ContainersDir(w.uid)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unmount container roots: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if err := w.deps.rootfs().Unmount(w.deps.Layout.ContainerDir(w.uid, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("unmount rootfs of container %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// removePod finishes a deletion: sandbox gone, volumes cleaned, state removed.
// Its steps add to t (nil: untimed).
func (w *Worker) removePod(ctx context.Context, t *startTiming) error {
	if err := w.abandonCreation(ctx); err != nil {
		return err
	}
	t.mark("abandon", time.Now())
	if err := w.teardownSandbox(ctx, t); err != nil {
		return err
	}
	if err := w.deps.volumes().Cleanup(ctx, w.deps.Layout.PodDir(w.uid)); err != nil {
		return fmt.Errorf("clean up volumes: %w", err)
	}
	t.mark("volumes", time.Now())
	if err := w.deps.Store.RemovePod(w.uid); err != nil {
		return err
	}
	t.mark("state", time.Now())
	// Nothing of the pod runs any more: its user namespace's IDs may go
	// to another pod.
	w.deps.UserNS.Release(w.uid)
	return nil
}

// killShim kills the pod's shim, everything in the pod cgroup and the
// shim's own cgroup, and removes both cgroups.
func (w *Worker) killShim() error { return w.sandboxes().KillShim(w.sandboxPaths()) }

// shimCgroup is the cgroup the pod's shim runs in, beside the pods'.
func (w *Worker) shimCgroup() string { return w.deps.Layout.ShimCgroup(w.uid) }

func (w *Worker) podCgroup() string { return w.deps.Layout.PodCgroup(w.uid) }

func portMappings(pod *corev1.Pod) []network.PortMapping {
	var out []network.PortMapping
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, network.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: string(p.Protocol), HostIP: p.HostIP})
			}
		}
	}
	return out
}
