package podworker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/podfiles"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/spec"
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

// createSandbox makes the pod's sandbox in the design's order: volumes, pin
// netns + CNI ADD, pod files, shim, pause. Each step registers its undo as
// soon as what it made exists; on a failure (or a panic) everything made is
// undone, newest first, and the error names the step and every undo that
// failed.
func (w *Worker) createSandbox(ctx context.Context, attempt uint32, t *startTiming) (_ *Sandbox, _ ShimClient, err error) {
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	sb := &Sandbox{ID: newSandboxID(), Attempt: attempt, CreatedAt: time.Now()}
	// Record the attempt before making anything, so that a crash half-way
	// is undone on restart (abandonCreation).
	w.mu.Lock()
	w.state.SandboxCreating = sb.ID
	w.mu.Unlock()
	w.persist()
	t.mark("persist_intent", time.Now())

	if err := w.prepareSandboxVolumes(ctx, &rollback); err != nil {
		return nil, nil, err
	}
	t.mark("volumes", time.Now())
	if err := w.setupSandboxNetwork(ctx, sb, &rollback, t); err != nil {
		return nil, nil, err
	}
	if err := w.writePodFiles(sb); err != nil {
		return nil, nil, err
	}
	t.mark("pod_files", time.Now())
	cl, err := w.launchShim(ctx, &rollback)
	if err != nil {
		return nil, nil, err
	}
	t.mark("shim", time.Now())
	if err := w.startPause(ctx, cl, sb, t); err != nil {
		return nil, nil, err
	}
	rollback.Release()
	slog.Info("Sandbox created", "pod", w.key, "uid", w.uid, "sandbox", sb.ID, "ip", sb.IP)
	return sb, cl, nil
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

// setupSandboxNetwork pins the sandbox's netns and runs CNI ADD in it
// (hostNetwork: the node's address), filling in sb's addresses.
func (w *Worker) setupSandboxNetwork(ctx context.Context, sb *Sandbox, rollback *undo.Stack, t *startTiming) error {
	if w.pod.Spec.HostNetwork {
		sb.IP = w.deps.NodeIP
		sb.IPs = []string{sb.IP}
		t.mark("network", time.Now())
		return nil
	}
	id := sb.ID
	att, err := w.deps.Network.Setup(ctx, network.SetupRequest{
		PodUID: w.uid, Namespace: w.pod.Namespace, Name: w.pod.Name, SandboxID: id,
		PortMappings: portMappings(w.pod),
	})
	if err != nil {
		return fmt.Errorf("set up pod network: %w", err)
	}
	t.markParts("network", time.Now(), phaseTime{"netns", att.NetnsTook}, phaseTime{"cni_add", att.CNIAddTook})
	rollback.Push("tear down the network of sandbox "+id, func(ctx context.Context) error {
		return w.deps.Network.Teardown(ctx, id)
	})
	sb.NetnsPath = att.NetnsPath
	for _, ip := range att.IPs {
		sb.IPs = append(sb.IPs, ip.String())
	}
	if len(sb.IPs) > 0 {
		sb.IP = sb.IPs[0]
	}
	return nil
}

// launchShim starts the pod's shim in its own cgroup.
func (w *Worker) launchShim(ctx context.Context, rollback *undo.Stack) (ShimClient, error) {
	stateDir := w.deps.Layout.ShimDir(w.uid)
	cl, err := w.deps.shims().Launch(ctx, shim.LaunchConfig{
		ShimBinary: w.deps.ShimBinary, PodUID: w.uid, StateDir: stateDir,
		CgroupParent: w.podCgroup(), LogLevel: w.deps.ShimLogLevel, ShimCgroup: w.shimCgroup(),
		LogRotation: w.deps.LogRotation, PodPidsLimit: w.deps.PodPidsLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("start shim: %w", err)
	}
	rollback.Push("stop the shim of pod "+w.key, func(ctx context.Context) error {
		defer cl.Close()
		if err := cl.Stop(ctx, true); err != nil {
			// A shim that does not answer must not outlive its sandbox.
			return errors.Join(err, w.killShim())
		}
		return w.deps.shims().RemoveCgroup(w.shimCgroup())
	})
	return cl, nil
}

// startPause runs the pod's namespace holder in the shim; it must be
// running once the call returns.
func (w *Worker) startPause(ctx context.Context, cl ShimClient, sb *Sandbox, t *startTiming) error {
	pauseRoot := w.deps.Layout.PauseRootfs(w.uid)
	if err := os.MkdirAll(pauseRoot, 0o755); err != nil {
		return fmt.Errorf("start pause: %w", err)
	}
	cfg, err := spec.PauseConfig(spec.PauseInput{
		Pod: w.pod, Rootfs: pauseRoot, Binary: w.deps.PauseBinary,
		NetnsPath: sb.NetnsPath, CgroupParent: w.podCgroup(),
		LogPath: w.deps.Layout.PauseLog(w.uid), Security: w.deps.Security,
	})
	if err != nil {
		return fmt.Errorf("start pause: %w", err)
	}
	resp, err := cl.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: cfg})
	if err != nil {
		return fmt.Errorf("start pause: %w", err)
	}
	t.markParts("pause", time.Now(), prefixed("pause_", shimPhases(resp))...)
	if st := resp.GetState(); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		return fmt.Errorf("start pause: %s %s", st.GetReason(), st.GetMessage())
	}
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
// the pod's containers (R91).
func (w *Worker) writePodFiles(sb *Sandbox) error {
	dir := w.deps.Layout.PodFilesDir(w.uid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write pod files: %w", err)
	}
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
	files := map[string][]byte{
		l.HostnameFile(w.uid):   []byte(podfiles.Hostname(w.pod) + "\n"),
		l.HostsFile(w.uid):      podfiles.Hosts(w.pod, sb.IP, hostHosts, w.deps.ClusterDNS.Domain),
		l.ResolvConfFile(w.uid): resolv,
	}
	for path, data := range files {
		if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("write pod files: %w", err)
		}
	}
	return nil
}

// teardownSandbox releases everything of the sandbox instance in the
// design's order: shim (with pause and any container left) → CNI DEL →
// unpin → container rootfs mounts. Each step treats "already gone" as done.
func (w *Worker) teardownSandbox(ctx context.Context) error {
	var errs []error
	w.mu.Lock()
	cl := w.shim
	w.shim = nil
	w.mu.Unlock()
	if cl == nil {
		cl, _ = w.connectShim(ctx)
	}
	stopped := false
	if cl != nil {
		// A shim that was already gone stopped nothing: what it ran (pause,
		// containers) is still in the pod cgroup.
		stopped = !cl.Exited() && cl.Stop(ctx, true) == nil
		cl.Close()
	}
	if !stopped {
		// A shim that does not answer must not outlive its sandbox: kill
		// it and whatever is left in the pod cgroup.
		if err := w.killShim(); err != nil {
			errs = append(errs, fmt.Errorf("kill shim: %w", err))
		}
	} else if err := w.deps.shims().RemoveCgroup(w.shimCgroup()); err != nil {
		errs = append(errs, fmt.Errorf("remove shim cgroup: %w", err))
	}
	w.mu.Lock()
	sb := w.state.Sandbox
	w.mu.Unlock()
	if sb != nil && !w.pod.Spec.HostNetwork {
		if err := w.deps.Network.Teardown(ctx, sb.ID); err != nil {
			errs = append(errs, fmt.Errorf("tear down pod network: %w", err))
		}
	}
	if err := w.unmountAllRootfs(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
		if err := w.deps.rootfs().Unmount(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("unmount rootfs of container %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// removePod finishes a deletion: sandbox gone, volumes cleaned, state removed.
func (w *Worker) removePod(ctx context.Context) error {
	if err := w.abandonCreation(ctx); err != nil {
		return err
	}
	if err := w.teardownSandbox(ctx); err != nil {
		return err
	}
	if err := w.deps.volumes().Cleanup(ctx, w.deps.Layout.PodDir(w.uid)); err != nil {
		return fmt.Errorf("clean up volumes: %w", err)
	}
	if err := w.deps.Store.RemovePod(w.uid); err != nil {
		return err
	}
	return nil
}

// killShim kills the pod's shim, everything in the pod cgroup and the
// shim's own cgroup, and removes both cgroups.
func (w *Worker) killShim() error {
	dir := w.deps.Layout.ShimDir(w.uid)
	return errors.Join(w.deps.shims().Kill(dir, w.podCgroup()), w.deps.shims().Kill(dir, w.shimCgroup()))
}

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
