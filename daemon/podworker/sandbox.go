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

	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/podfiles"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/spec"
	"github.com/podd-dev/podd/runtime/volume"
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

// undo is a stack of steps that roll back a half-made setup.
type undo []func(context.Context)

func (u *undo) push(f func(context.Context)) { *u = append(*u, f) }

// run executes the steps in reverse under a fresh context: the request's
// context may be the thing that was cancelled.
func (u undo) run() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := len(u) - 1; i >= 0; i-- {
		u[i](ctx)
	}
}

// createSandbox makes the pod's sandbox in the design's order: volumes, pin
// netns + CNI ADD, pod files, shim, pause. On failure everything it made is
// undone and the error names the step.
func (w *Worker) createSandbox(ctx context.Context, attempt uint32) (sb *Sandbox, cl *shim.Client, err error) {
	pod := w.pod
	var rollback undo
	defer func() {
		if err != nil {
			rollback.run()
		}
	}()
	sb = &Sandbox{ID: newSandboxID(), Attempt: attempt, CreatedAt: time.Now()}
	// Record the attempt before making anything, so that a crash half-way
	// is undone on restart (abandonCreation).
	w.mu.Lock()
	w.state.SandboxCreating = sb.ID
	w.mu.Unlock()
	w.persist()

	vols, err := volume.Prepare(ctx, pod, w.deps.Layout.PodDir(w.uid))
	if err != nil {
		return nil, nil, fmt.Errorf("prepare volumes: %w", err)
	}
	w.mu.Lock()
	w.volumes = vols
	w.mu.Unlock()
	rollback.push(func(ctx context.Context) { volume.Cleanup(ctx, w.deps.Layout.PodDir(w.uid)) })

	if !pod.Spec.HostNetwork {
		att, err := w.deps.Network.Setup(ctx, network.SetupRequest{
			PodUID: w.uid, Namespace: pod.Namespace, Name: pod.Name, SandboxID: sb.ID,
			PortMappings: portMappings(pod),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("set up pod network: %w", err)
		}
		// Capture what the undo needs now: a failed return clears sb.
		id := sb.ID
		rollback.push(func(ctx context.Context) { w.deps.Network.Teardown(ctx, id) })
		sb.NetnsPath = att.NetnsPath
		for _, ip := range att.IPs {
			sb.IPs = append(sb.IPs, ip.String())
		}
		if len(sb.IPs) > 0 {
			sb.IP = sb.IPs[0]
		}
	} else {
		sb.IP = w.deps.NodeIP
		sb.IPs = []string{sb.IP}
	}

	if err := w.writePodFiles(sb); err != nil {
		return nil, nil, err
	}

	stateDir := w.deps.Layout.ShimDir(w.uid)
	cl, err = shim.Launch(ctx, shim.LaunchConfig{
		ShimBinary: w.deps.ShimBinary, PodUID: w.uid, StateDir: stateDir,
		CgroupParent: w.podCgroup(), LogLevel: w.deps.ShimLogLevel, ShimCgroup: w.shimCgroup(),
		LogRotation: w.deps.LogRotation, PodPidsLimit: w.deps.PodPidsLimit,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start shim: %w", err)
	}
	launched := cl
	rollback.push(func(ctx context.Context) {
		launched.Stop(ctx, true)
		launched.Close()
	})

	pauseRoot := w.deps.Layout.PauseRootfs(w.uid)
	if err := os.MkdirAll(pauseRoot, 0o755); err != nil {
		return nil, nil, fmt.Errorf("start pause: %w", err)
	}
	cfg, err := spec.PauseConfig(spec.PauseInput{
		Pod: pod, Rootfs: pauseRoot, Binary: w.deps.PauseBinary,
		NetnsPath: sb.NetnsPath, CgroupParent: w.podCgroup(),
		LogPath: filepath.Join(stateDir, "pause.log"), Security: w.deps.Security,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start pause: %w", err)
	}
	resp, err := cl.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: cfg})
	if err != nil {
		return nil, nil, fmt.Errorf("start pause: %w", err)
	}
	if st := resp.GetState(); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		return nil, nil, fmt.Errorf("start pause: %s %s", st.GetReason(), st.GetMessage())
	}
	slog.Info("Sandbox created", "pod", w.key, "uid", w.uid, "sandbox", sb.ID, "ip", sb.IP)
	return sb, cl, nil
}

// abandonCreation undoes a sandbox creation that a daemon crash cut short:
// the shim it may have started (with whatever runs in the pod cgroup) and
// the CNI attachment it may have made, cached or not.
func (w *Worker) abandonCreation(ctx context.Context) {
	w.mu.Lock()
	id := w.state.SandboxCreating
	w.mu.Unlock()
	if id == "" {
		return
	}
	if err := w.killShim(); err != nil {
		slog.Warn("Undo interrupted sandbox creation: kill shim", "pod", w.key, "uid", w.uid, "err", err)
	}
	if !w.pod.Spec.HostNetwork {
		if err := w.deps.Network.Teardown(ctx, id); err != nil {
			slog.Warn("Undo interrupted sandbox creation: network", "pod", w.key, "uid", w.uid, "sandbox", id, "err", err)
		}
	}
	w.mu.Lock()
	w.state.SandboxCreating = ""
	w.mu.Unlock()
	w.persist()
	slog.Info("Undid a sandbox creation cut short by a crash", "pod", w.key, "uid", w.uid, "sandbox", id)
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
	resolv, warning, err := podfiles.ResolvConf(w.pod, hostResolv)
	if err != nil {
		return fmt.Errorf("write pod files: resolv.conf: %w", err)
	}
	if warning != "" {
		w.event(corev1.EventTypeWarning, "DNSConfigForming", "", warning)
	}
	files := map[string][]byte{
		"hostname":    []byte(podfiles.Hostname(w.pod) + "\n"),
		"hosts":       podfiles.Hosts(w.pod, sb.IP, hostHosts),
		"resolv.conf": resolv,
	}
	for name, data := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
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
	} else if err := shim.RemoveCgroup(w.shimCgroup()); err != nil {
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
		if err := w.unmountInstance(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("unmount rootfs of container %s: %w", e.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// removePod finishes a deletion: sandbox gone, volumes cleaned, state removed.
func (w *Worker) removePod(ctx context.Context) error {
	if err := w.teardownSandbox(ctx); err != nil {
		return err
	}
	if err := volume.Cleanup(ctx, w.deps.Layout.PodDir(w.uid)); err != nil {
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
	return errors.Join(shim.Kill(dir, w.podCgroup()), shim.Kill(dir, w.shimCgroup()))
}

// shimCgroup is the cgroup the pod's shim runs in, beside the pods'.
func (w *Worker) shimCgroup() string {
	return ShimCgroup(w.deps.CgroupParent, w.uid)
}

// ShimCgroup is where the shim of pod uid runs, under the daemon's cgroup
// parent.
func ShimCgroup(parent, uid string) string {
	return filepath.Join(parent, "shims", "pod"+uid)
}

func (w *Worker) podCgroup() string {
	return filepath.Join(w.deps.CgroupParent, "pod"+w.uid)
}

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
