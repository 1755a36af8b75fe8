package podworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/hooks"
	"github.com/podd-dev/podd/internal/limiter"
	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/probes"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec"
	"github.com/podd-dev/podd/runtime/volume"
)

// startFailed is a start attempt that made no instance: it carries the
// waiting reason the planner shows (R21).
type startFailed struct {
	reason string
	err    error
}

func (e *startFailed) Error() string { return e.err.Error() }
func (e *startFailed) Unwrap() error { return e.err }

// failStart makes a start failure with the waiting reason to show, its
// message formatted as fmt.Errorf does (so %w keeps the cause for errors.Is).
func failStart(reason string, format string, args ...any) error {
	return &startFailed{reason: reason, err: fmt.Errorf(format, args...)}
}

// containerSpec returns the spec of the action's container.
func (w *Worker) containerSpec(a planner.Action) *corev1.Container {
	if a.Init {
		return &w.pod.Spec.InitContainers[a.Index]
	}
	return &w.pod.Spec.Containers[a.Index]
}

func fieldPath(c *corev1.Container, init bool) string {
	if init {
		return "spec.initContainers{" + c.Name + "}"
	}
	return "spec.containers{" + c.Name + "}"
}

// startContainer makes the instance of a container with restart number
// a.Restart and starts it. A failure
// that made no instance is recorded as the container's StartFailure; it
// reports whether the instance runs.
func (w *Worker) startContainer(ctx context.Context, a planner.Action) bool {
	c := w.containerSpec(a)
	fp := fieldPath(c, a.Init)
	err := w.createInstance(ctx, a, c, fp)
	if err != nil && ctx.Err() != nil {
		// Cut short by the daemon's stop: not the container's failure,
		// which the next daemon would back off on.
		slog.Info("Container start cut short by the daemon's stop", "pod", w.key, "uid", w.uid, "container", c.Name, "err", err)
		return false
	}
	w.mu.Lock()
	if err != nil {
		var sf *startFailed
		reason := "RunContainerError"
		if errors.As(err, &sf) {
			reason = sf.reason
		}
		w.state.StartFailures[c.Name] = &planner.StartFailure{Reason: reason, Message: err.Error(), At: time.Now()}
		w.mu.Unlock()
		w.event(corev1.EventTypeWarning, "Failed", fp, "Error: "+err.Error())
		return false
	}
	delete(w.state.StartFailures, c.Name)
	w.mu.Unlock()
	return true
}

func (w *Worker) createInstance(hookCtx context.Context, a planner.Action, c *corev1.Container, fp string) (err error) {
	t := newStartTiming(kindContainer, time.Now())
	// A delete cancels the start (as the kubelet cancels a pod sync); the
	// postStart hook of a started instance lives on hookCtx.
	ctx, stop := w.untilDeleted(hookCtx)
	defer stop()
	id := store.InstanceKey(c.Name, a.Restart)
	defer func() {
		w.finishStart(t, id, err)
		if err == nil && a.Restart > 0 && w.deps.Recorder != nil {
			w.deps.Recorder.ContainerRestarted()
		}
	}()
	cl := w.currentShim()
	if cl == nil {
		return failStart("CreateContainerError", "container %q of pod %q: no sandbox", c.Name, w.key)
	}
	if h := w.takeHeld(id); h != nil {
		// Made while the sandbox was: only its program is left to start.
		if w.startHeld(hookCtx, ctx, h, c, fp) {
			t = h.t
			return nil
		}
	}
	img, err := w.ensureImage(ctx, c, fp)
	if err != nil {
		return err
	}
	t.mark("image", time.Now())
	// A pull waits on the registry; what follows is the host's work, bounded
	// across pods, ahead of new sandboxes (its pod's sandbox exists).
	release, err := w.deps.Work.Acquire(ctx, limiter.Continue)
	if err != nil {
		return failStart("CreateContainerError", "container %q of pod %q: wait to start: %w", c.Name, w.key, err)
	}
	defer release()
	t.mark("queue", time.Now())
	w.mu.Lock()
	sb := *w.state.Sandbox
	w.mu.Unlock()
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	cfg, err := w.buildInstance(ctx, a, c, img, cl, sb, t, &rollback)
	if err != nil {
		return err
	}
	w.warnInvalidEnv(c, fp)
	w.event(corev1.EventTypeNormal, "Created", fp, "Created container: "+c.Name)
	t.mark("spec", time.Now())
	cctx, cancel := context.WithTimeout(ctx, w.runtimeTimeout())
	w.warmMigrations()
	resp, err := cl.CreateContainer(cctx, &shimv1.CreateContainerRequest{Config: cfg})
	cancel()
	// What the shim did not time itself is the call's round trip.
	t.markParts("shim_call", time.Now(), shimPhases(resp)...)
	if status.Code(err) == codes.FailedPrecondition && w.instanceExists(ctx, id) {
		// The instance exists, stopped with ContainerCannotRun (exit 128,
		// R22); the planner takes it from here.
		rollback.Release()
		w.event(corev1.EventTypeWarning, "Failed", fp, "Error: "+status.Convert(err).Message())
		return nil
	}
	if err != nil {
		return failStart("RunContainerError", "start container %q: %w", c.Name, err)
	}
	rollback.Release()
	if st := resp.GetState(); st.GetStatus() == shimv1.Status_STATUS_STOPPED && st.GetReason() != "" {
		w.event(corev1.EventTypeWarning, "Failed", fp, "Error: "+st.GetMessage())
		return nil
	}
	w.event(corev1.EventTypeNormal, "Started", fp, "Started container "+c.Name)
	w.afterStart(hookCtx, c, id, sb, fp)
	t.mark("post_start", time.Now())
	return nil
}

// buildInstance makes what instance a of c needs on the host in sandbox sb
// (earlier stopped instances forgotten, rootfs, log dir, volumes, staged
// mounts) and returns its config; rollback gets the undo of the rootfs and
// of the instance in shim cl.
func (w *Worker) buildInstance(ctx context.Context, a planner.Action, c *corev1.Container, img image.Image, cl ShimClient, sb Sandbox, t *startTiming, rollback *undo.Stack) (*shimv1.ContainerConfig, error) {
	id := store.InstanceKey(c.Name, a.Restart)
	w.removeOldInstances(ctx, cl, c.Name, id)
	t.mark("cleanup", time.Now())
	root, err := w.mountInstance(ctx, a, c, img, t, rollback)
	if err != nil {
		return nil, err
	}
	return w.configInstance(ctx, a, c, img, root, cl, sb, rollback)
}

// mountInstance mounts the rootfs of instance a of c and makes its log
// dir; rollback gets the unmount.
func (w *Worker) mountInstance(ctx context.Context, a planner.Action, c *corev1.Container, img image.Image, t *startTiming, rollback *undo.Stack) (string, error) {
	id := store.InstanceKey(c.Name, a.Restart)
	dir := w.deps.Layout.ContainerDir(w.uid, id)
	ids := w.heldUserNamespace()
	if err := w.reachContainerRoot(ids, dir); err != nil {
		return "", failStart("CreateContainerError", "container %q: %w", c.Name, err)
	}
	root, err := sandbox.MountRootfs(ctx, w.deps.Images, w.deps.rootfs(), img, dir, ids,
		func(step string) { t.mark(step, time.Now()) })
	if err != nil {
		return "", failStart("CreateContainerError", "container %q (image %q): %w", c.Name, c.Image, err)
	}
	t.mark("rootfs", time.Now())
	rollback.Push("unmount rootfs and volumeMounts of instance "+id, func(context.Context) error {
		return w.unmountInstance(id)
	})
	logPath := w.deps.Layout.LogPath(w.uid, c.Name, int(a.Restart))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return "", failStart("CreateContainerError", "create log dir of container %q: %w", c.Name, err)
	}
	return root, nil
}

// ensurePodFiles writes the pod files of sandbox sb when they are missing:
// a sandbox made by a podd that kept them elsewhere (in the pod's
// persistent directory, before they moved to its run directory).
func (w *Worker) ensurePodFiles(sb Sandbox) error {
	if !sandbox.PodFilesMissing(w.deps.Layout.HostsFile(w.uid)) {
		return nil
	}
	return w.writePodFiles(sb.IP)
}

// configInstance returns the config of instance a of c, whose rootfs is
// mounted at root, in sandbox sb (volumes prepared, mounts staged);
// rollback gets the removal of the instance from shim cl.
func (w *Worker) configInstance(ctx context.Context, a planner.Action, c *corev1.Container, img image.Image, root string, cl ShimClient, sb Sandbox, rollback *undo.Stack) (*shimv1.ContainerConfig, error) {
	id := store.InstanceKey(c.Name, a.Restart)
	ids := w.heldUserNamespace()
	rollback.Push("remove instance "+id+" from the shim", func(ctx context.Context) error {
		return sandbox.RemoveFromShim(ctx, cl, id)
	})
	logPath := w.deps.Layout.LogPath(w.uid, c.Name, int(a.Restart))
	if err := w.ensureVolumes(ctx); err != nil {
		return nil, failStart("CreateContainerConfigError", "%w", err)
	}
	if err := w.ensurePodFiles(sb); err != nil {
		return nil, failStart("CreateContainerConfigError", "%w", err)
	}
	sig, err := spec.ContainerStopSignal(c, img.StopSignal)
	if err != nil {
		return nil, failStart("CreateContainerConfigError", "container %q: %w", c.Name, err)
	}
	w.mu.Lock()
	vols := w.volumes
	w.mu.Unlock()
	l := w.deps.Layout
	in := spec.Input{
		Pod: w.pod, Container: c, ContainerID: id,
		Image: img.Config, Rootfs: root, Volumes: vols,
		Sandbox: spec.SandboxFor(w.pod, sb.NetnsPath),
		Files: spec.PodFiles{Hosts: l.HostsFile(w.uid), ResolvConf: l.ResolvConfFile(w.uid),
			Hostname: l.HostnameFile(w.uid)},
		PodIPs: sb.IPs, HostIPs: []string{w.deps.NodeIP},
		CgroupParent: w.podCgroup(), LogPath: logPath, Security: w.deps.Security, Objects: w.objects(),
		IDMappedVolumes: idmappedVolumes(vols, ids),
		Labels: map[string]string{
			labelContainer: c.Name, labelStopSignal: strconv.Itoa(int(sig)), labelImageID: img.ID,
			labelContainerID: store.NewContainerID(),
		},
	}
	in.Sandbox.UserNS = ids
	if in.Staged, err = w.stageMounts(ctx, in, id); err != nil {
		return nil, failStart("CreateContainerConfigError", "%w", err)
	}
	cfg, err := spec.Build(in)
	if err != nil {
		return nil, failStart("CreateContainerConfigError", "%w", err)
	}
	return cfg, nil
}

// ensureImage finds the container's image, pulling it when the policy
// allows and it is missing.
func (w *Worker) ensureImage(ctx context.Context, c *corev1.Container, fp string) (image.Image, error) {
	if _, err := image.Normalize(c.Image); err != nil {
		return image.Image{}, failStart("InvalidImageName", "Failed to apply default image tag %q: %w", c.Image, err)
	}
	img, err := w.deps.Images.Get(ctx, c.Image)
	if err == nil {
		w.event(corev1.EventTypeNormal, "Pulled", fp, fmt.Sprintf("Container image %q already present on machine", c.Image))
		return img, nil
	}
	if !errors.Is(err, image.ErrNotFound) {
		return image.Image{}, failStart("CreateContainerError", "look up image %q: %w", c.Image, err)
	}
	if c.ImagePullPolicy == corev1.PullNever {
		return image.Image{}, failStart("ErrImageNeverPull", "Container image %q is not present with pull policy of Never", c.Image)
	}
	w.event(corev1.EventTypeNormal, "Pulling", fp, fmt.Sprintf("Pulling image %q", c.Image))
	start := time.Now()
	img, err = w.deps.Images.Pull(ctx, c.Image, image.PullOptions{Auth: w.pullCredentials(c.Image, fp)})
	if err != nil {
		return image.Image{}, failStart("ErrImagePull", "pull image %q: %w", c.Image, err)
	}
	w.event(corev1.EventTypeNormal, "Pulled", fp, fmt.Sprintf("Successfully pulled image %q in %s", c.Image, time.Since(start).Round(time.Millisecond)))
	return img, nil
}

// ensureVolumes prepares the pod's volumes once (idempotent after a restart).
func (w *Worker) ensureVolumes(ctx context.Context) error {
	w.mu.Lock()
	have := w.volumes != nil
	w.mu.Unlock()
	if have {
		return nil
	}
	vols, err := w.deps.volumes().Prepare(ctx, w.pod, w.deps.Layout.PodDir(w.uid))
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.volumes = vols
	w.mu.Unlock()
	return nil
}

// stageMounts pins the instance's subPaths and typed hostPaths so runc gets
// staged paths, not ones it would resolve (CVE-2021-25741). The staging
// lies in the instance's dir: unmounting its rootfs dir undoes it.
func (w *Worker) stageMounts(ctx context.Context, in spec.Input, id string) (map[int]string, error) {
	subs, err := spec.SubPaths(in)
	if err != nil {
		return nil, err
	}
	return volume.StageMounts(ctx, w.pod, in.Container, subs, in.Volumes, w.deps.Layout.StagingDir(w.uid, id))
}

// unmountInstance unstages the instance's volumeMounts (made private first,
// so no unmount propagates to the host), then unmounts and removes its
// rootfs dir.
func (w *Worker) unmountInstance(id string) error {
	return sandbox.UnmountContainer(w.deps.rootfs(), w.deps.Layout.ContainerDir(w.uid, id), w.deps.Layout.StagingDir(w.uid, id))
}

// removeOldInstances forgets the container's earlier stopped instances in
// shim cl (and a held one of id keep that nobody will release) and
// unmounts their root filesystems; their logs stay.
func (w *Worker) removeOldInstances(ctx context.Context, cl ShimClient, name, keep string) {
	states, err := w.shimState(ctx, cl)
	if err != nil {
		return
	}
	for _, st := range states {
		// A held instance of the id to make is one an earlier daemon held
		// and never released: Remove kills it.
		stale := st.GetId() == keep && st.GetHeld()
		old := st.GetId() != keep && st.GetStatus() == shimv1.Status_STATUS_STOPPED
		if st.GetLabels()[labelContainer] != name || !(stale || old) {
			continue
		}
		if _, err := cl.Remove(ctx, &shimv1.RemoveRequest{Id: st.GetId()}); err == nil {
			w.unmountInstance(st.GetId())
			w.mu.Lock()
			delete(w.probeResults, st.GetId())
			delete(w.probed, st.GetId())
			delete(w.postStart, st.GetId())
			w.mu.Unlock()
			w.deps.Probes.RemoveContainer(probes.ContainerKey{PodUID: w.uid, Container: name, InstanceID: st.GetId()})
		}
	}
}

// afterStart starts the instance's probes and its postStart hook (R51).
func (w *Worker) afterStart(ctx context.Context, c *corev1.Container, id string, sb Sandbox, fp string) {
	w.addProbes(c, id, sb, planner.ProbeResults{})
	if c.Lifecycle == nil || c.Lifecycle.PostStart == nil {
		return
	}
	w.mu.Lock()
	w.postStart[id] = nil
	w.mu.Unlock()
	w.goGuarded("postStart hook of "+id, func() {
		// Like the kubelet, postStart has no deadline of its own; it ends
		// when the instance is killed (ctx) or the daemon stops.
		out, err := hooks.Run(ctx, c.Lifecycle.PostStart, hooks.Target{
			PodIP: sb.IP, HostNetwork: w.pod.Spec.HostNetwork, ContainerPorts: c.Ports, ContainerID: id,
		}, w.execer(), time.Time{})
		w.mu.Lock()
		if err != nil {
			msg := fmt.Sprintf("PostStartHook failed: %v", err)
			if out != "" {
				msg += ": " + out
			}
			w.postStart[id] = &msg
		} else {
			delete(w.postStart, id)
		}
		w.mu.Unlock()
		w.poke()
	})
}

// instanceExists reports whether the shim knows instance id.
func (w *Worker) instanceExists(ctx context.Context, id string) bool {
	states, err := w.shimState(ctx, w.currentShim())
	return err == nil && find(states, id) != nil
}
