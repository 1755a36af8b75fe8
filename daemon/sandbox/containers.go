package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/errdefs"
	"github.com/podd-dev/podd/internal/undo"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec"
)

// ContainerImages finds a container's image and unpacks its layers.
type ContainerImages interface {
	Layers
	// Get resolves a name, a repo digest or an image ID.
	Get(ctx context.Context, ref string) (image.Image, error)
}

// ContainerPhase is where a CRI container is in its life, as recorded.
type ContainerPhase string

// The recorded phases: Creating until its rootfs and config are made,
// Created until its start is asked, Started from then on.
const (
	ContainerCreating ContainerPhase = "Creating"
	ContainerCreated  ContainerPhase = "Created"
	ContainerStarted  ContainerPhase = "Started"
)

// ContainerState is a container's state as observed.
type ContainerState string

// The observed states, as CRI has them.
const (
	StateCreated ContainerState = "CREATED"
	StateRunning ContainerState = "RUNNING"
	StateExited  ContainerState = "EXITED"
	StateUnknown ContainerState = "UNKNOWN"
)

// Exit code and reason of a container whose end nobody saw (its shim gone
// with the host's reboot), as containerd reports them.
const (
	unknownExitCode   = 255
	unknownExitReason = "Unknown"
)

// ContainerRecord is what the registry persists of a CRI container.
type ContainerRecord struct {
	ID, SandboxID string
	Name          string
	Attempt       uint32
	// Image is the image as the client named it; ImageID its ID; ImageRef
	// the digest reference it resolved to (or the ID without one).
	Image, ImageID, ImageRef string
	Labels, Annotations      map[string]string
	LogPath                  string
	CreatedAt                time.Time
	Phase                    ContainerPhase
	// StopSignal is the image's STOPSIGNAL (0: SIGTERM).
	StopSignal int
	// Config is the shim's ContainerConfig (protobuf).
	Config []byte
	// Client is the client's own config, kept for its status.
	Client []byte
	// Exit is the last end the registry saw, kept once the shim forgets it.
	Exit *ContainerExit `json:",omitempty"`
	// ImageVolumes are the images it mounts as volumes.
	ImageVolumes []ImageVolume `json:",omitempty"`
}

// ContainerExit is how a container ended.
type ContainerExit struct {
	StartedAt, FinishedAt time.Time
	ExitCode              int32
	Reason, Message       string
}

// ContainerStatus is a container as recorded and observed.
type ContainerStatus struct {
	ContainerRecord
	State                 ContainerState
	Pid                   int32
	StartedAt, FinishedAt time.Time
	ExitCode              int32
	Reason, Message       string
}

// ContainerSpec is one container a client asks for.
type ContainerSpec struct {
	SandboxID, Name     string
	Attempt             uint32
	Image               string
	Labels, Annotations map[string]string
	// LogPath is the container's CRI log ("": none).
	LogPath string
	Client  []byte
	// Process is the client's process and security; the registry fills in
	// the sandbox's, the image's and the host's parts.
	Process spec.CRIInput
}

// Containers keeps the containers a client (the CRI server) owns in its
// sandboxes: it makes them with the host steps podd's pods use, starts,
// stops and removes them through their sandbox's shim, persists each
// under the layout's CRI directory and restores them after a restart.
// Like the Registry, it never restarts or collects one on its own.
type Containers struct {
	sandboxes *Registry
	layout    store.Layout
	images    ContainerImages
	rootfs    Rootfs

	// ctx bounds the goroutines following the shims' events.
	ctx context.Context

	mu      sync.Mutex
	entries map[string]*centry
	// following holds the sandboxes whose shim events are followed.
	following map[string]bool
}

// centry is one container. op serialises what changes it (start, stop,
// update, reopen, remove) and is taken before mu; mu guards rec and is
// held only while it is read or observed, so that a status or an exec
// never waits for a stop's grace period.
type centry struct {
	op   sync.Mutex
	mu   sync.Mutex
	rec  ContainerRecord
	snap ContainerRecord
}

// OpenContainers loads the records under layout. A container whose
// creation a crash cut short is undone; the rest are observed through
// their sandbox's shim when asked (none after a reboot: EXITED, Unknown).
func OpenContainers(ctx context.Context, sandboxes *Registry, layout store.Layout, images ContainerImages, fs Rootfs) (*Containers, error) {
	if fs == nil {
		fs = HostRootfs()
	}
	c := &Containers{
		sandboxes: sandboxes, layout: layout, images: images, rootfs: fs, ctx: context.WithoutCancel(ctx),
		entries: map[string]*centry{}, following: map[string]bool{},
	}
	recs, err := readRecords(layout.CRIContainersDir(), layout.CRIContainerFile, "container", func(r *ContainerRecord) string { return r.ID })
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if rec.Phase == ContainerCreating {
			if err := c.undoCreate(ctx, rec.ID); err != nil {
				slog.Warn("undo CRI container creation", "container", rec.ID, "err", err)
			}
			continue
		}
		c.entries[rec.ID] = &centry{rec: rec, snap: rec}
	}
	for _, e := range c.entries {
		if e.rec.Phase == ContainerStarted && e.rec.Exit == nil {
			c.follow(e.rec.SandboxID)
		}
	}
	return c, nil
}

// undoCreate removes what a creation made: image volumes, rootfs and
// record.
func (c *Containers) undoCreate(_ context.Context, id string) error {
	l := c.layout
	if err := unmountImageVolumes(c.rootfs, l.CRIContainerImageVolumesDir(id)); err != nil {
		return err
	}
	if err := UnmountContainer(c.rootfs, l.CRIContainerRootfsDir(id), l.CRIContainerStagingDir(id)); err != nil {
		return err
	}
	return os.RemoveAll(l.CRIContainerDir(id))
}

// Create makes a container in a ready sandbox: its rootfs from the image's
// layers, a read-only view of each image it mounts as a volume, and its
// shim config, recorded Created. A container of the same name and attempt
// in the sandbox is refused (errdefs.ErrAlreadyExists); an unknown image
// is errdefs.ErrNotFound; an image volume's sub path missing in its image
// errdefs.ErrInvalidArgument. On a failure nothing is left.
func (c *Containers) Create(ctx context.Context, cs ContainerSpec) (_ string, err error) {
	_, sb, err := c.sandboxes.Shim(ctx, cs.SandboxID)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cs.Name, err)
	}
	img, err := c.images.Get(ctx, cs.Image)
	if err != nil {
		if errors.Is(err, image.ErrNotFound) {
			err = errdefs.Classed(errdefs.ErrNotFound, "%w", err)
		}
		return "", fmt.Errorf("create container %q: image %q: %w", cs.Name, cs.Image, err)
	}
	sig, err := spec.StopSignal(img.StopSignal)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", cs.Name, err)
	}
	e := &centry{rec: ContainerRecord{
		ID: store.NewContainerID(), SandboxID: cs.SandboxID, Name: cs.Name, Attempt: cs.Attempt,
		Image: cs.Image, ImageID: img.ID, ImageRef: imageRef(img), Labels: cs.Labels, Annotations: cs.Annotations,
		LogPath: cs.LogPath, CreatedAt: time.Now(), Phase: ContainerCreating, StopSignal: int(sig), Client: cs.Client,
	}}
	id := e.rec.ID
	e.mu.Lock()
	defer e.mu.Unlock()
	c.mu.Lock()
	for _, o := range c.entries {
		if o.rec.SandboxID == cs.SandboxID && o.rec.Name == cs.Name && o.rec.Attempt == cs.Attempt {
			c.mu.Unlock()
			return "", errdefs.Classed(errdefs.ErrAlreadyExists, "container %q (attempt %d) already exists in sandbox %s as %s", cs.Name, cs.Attempt, cs.SandboxID, o.rec.ID)
		}
	}
	c.entries[id] = e
	c.mu.Unlock()
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	rollback.Push("forget CRI container "+id, func(context.Context) error {
		c.mu.Lock()
		delete(c.entries, id)
		c.mu.Unlock()
		return nil
	})
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("create container %q in sandbox %s: %w", cs.Name, cs.SandboxID, err)
	}
	// Record the creation before making anything: a crash half-way is
	// undone on restore.
	if err := c.persist(e); err != nil {
		return fail(err)
	}
	rollback.Push("remove the rootfs and record of CRI container "+id, func(ctx context.Context) error {
		return c.undoCreate(ctx, id)
	})
	if sb.Spec.UserNS != nil {
		if err := Searchable(c.layout.Root, c.layout.CRIContainerRootfsDir(id)); err != nil {
			return fail(err)
		}
	}
	root, err := MountRootfs(ctx, c.images, c.rootfs, img, c.layout.CRIContainerRootfsDir(id), sb.Spec.UserNS, nil)
	if err != nil {
		return fail(err)
	}
	if cs.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(cs.LogPath), 0o755); err != nil {
			return fail(fmt.Errorf("create log dir: %w", err))
		}
	}
	in := cs.Process
	in.Mounts = slices.Clone(in.Mounts)
	if e.rec.ImageVolumes, err = mountImageVolumes(ctx, c.images, c.rootfs, c.layout.CRIContainerImageVolumesDir(id), in.Mounts, sb.Spec.UserNS); err != nil {
		return fail(err)
	}
	in.ContainerID, in.Name = id, cs.Name
	in.PodName, in.PodNamespace, in.PodUID = sb.Spec.Name, sb.Spec.Namespace, sb.Spec.UID
	in.Hostname = sb.Spec.Hostname
	in.Sandbox.NetnsPath, in.Sandbox.HostNetwork, in.Sandbox.HostIPC = sb.NetnsPath, sb.Spec.HostNetwork, sb.Spec.HostIPC
	in.Sandbox.UserNS = sb.Spec.UserNS
	if sb.Spec.HostNetwork {
		in.Sandbox.NetnsPath = ""
	}
	l := c.layout
	if err := c.sandboxes.ensureFiles(sb); err != nil {
		return fail(err)
	}
	in.Files = spec.PodFiles{Hosts: l.CRIHostsFile(sb.ID), ResolvConf: l.CRIResolvConfFile(sb.ID), Hostname: l.CRIHostnameFile(sb.ID)}
	in.PodIPs, in.CgroupParent = sb.IPs, sb.PodCgroup
	in.Image, in.Rootfs, in.LogPath = img.Config, root, cs.LogPath
	in.Security = c.sandboxes.Security()
	cfg, err := spec.BuildCRI(in)
	if err != nil {
		return fail(errdefs.Classed(errdefs.ErrInvalidArgument, "%w", err))
	}
	if e.rec.Config, err = proto.Marshal(cfg); err != nil {
		return fail(err)
	}
	e.rec.Phase = ContainerCreated
	if err := c.persist(e); err != nil {
		return fail(err)
	}
	rollback.Release()
	slog.Info("CRI container created", "container", id, "name", cs.Name, "sandbox", cs.SandboxID, "image", img.ID)
	c.sandboxes.events.publish(EventCreated, cs.SandboxID, id)
	return id, nil
}

// imageRef is the reference a container's image resolved to: its first
// repo digest, or its ID.
func imageRef(img image.Image) string {
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.ID
}

// Start hands a created container to its sandbox's shim, which runs it.
// A container not created (started already) is errdefs.ErrFailedPrecondition.
// Its status answers meanwhile (CREATED until the shim runs it).
func (c *Containers) Start(ctx context.Context, id string) error {
	e := c.lookup(id)
	if e == nil {
		return errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	e.op.Lock()
	defer e.op.Unlock()
	cl, cfg, err := c.markStarted(ctx, e)
	if err != nil {
		return err
	}
	resp, err := cl.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: cfg})
	if err != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, known := c.shimState(ctx, cl, id); !known {
			now := time.Now()
			e.rec.Exit = &ContainerExit{StartedAt: now, FinishedAt: now, ExitCode: 128, Reason: "StartError", Message: status.Convert(err).Message()}
			c.persist(e)
			c.sandboxes.events.publish(EventStopped, e.rec.SandboxID, id)
		}
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if st := resp.GetState(); st.GetStatus() == shimv1.Status_STATUS_STOPPED && st.GetReason() != "" {
		return errdefs.Classed(errdefs.ErrFailedPrecondition, "start container %s: %s: %s", id, st.GetReason(), st.GetMessage())
	}
	slog.Info("CRI container started", "container", id)
	c.sandboxes.events.publish(EventStarted, e.rec.SandboxID, id)
	c.follow(e.rec.SandboxID)
	return nil
}

// markStarted records e Started (once asked, the shim is the source of
// truth) and returns its sandbox's shim and e's shim config.
func (c *Containers) markStarted(ctx context.Context, e *centry) (ShimClient, *shimv1.ContainerConfig, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.rec.ID
	if e.rec.Phase != ContainerCreated {
		return nil, nil, errdefs.Classed(errdefs.ErrFailedPrecondition, "start container %s: it is %s already", id, e.rec.Phase)
	}
	cl, _, err := c.sandboxes.Shim(ctx, e.rec.SandboxID)
	if err != nil {
		return nil, nil, fmt.Errorf("start container %s: %w", id, err)
	}
	cfg := &shimv1.ContainerConfig{}
	if err := proto.Unmarshal(e.rec.Config, cfg); err != nil {
		return nil, nil, fmt.Errorf("start container %s: read its config: %w", id, err)
	}
	e.rec.Phase = ContainerStarted
	if err := c.persist(e); err != nil {
		e.rec.Phase = ContainerCreated
		return nil, nil, fmt.Errorf("start container %s: %w", id, err)
	}
	return cl, cfg, nil
}

// shimState returns the shim's state of container id.
func (c *Containers) shimState(ctx context.Context, cl ShimClient, id string) (*shimv1.ContainerState, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := cl.State(ctx, &shimv1.StateRequest{})
	if err != nil {
		return nil, false
	}
	for _, st := range resp.GetContainers() {
		if st.GetId() == id {
			return st, true
		}
	}
	return nil, false
}

// observe returns e's status; states are its sandbox's shim's (known:
// the shim answered). A stopped container's end is kept in the record.
func (c *Containers) observe(e *centry, rec ContainerRecord, st *shimv1.ContainerState, reachable bool) ContainerStatus {
	out := ContainerStatus{ContainerRecord: rec}
	switch {
	case rec.Phase != ContainerStarted:
		out.State = StateCreated
		return out
	case st != nil && st.GetStatus() == shimv1.Status_STATUS_RUNNING:
		out.State, out.Pid = StateRunning, st.GetPid()
		out.StartedAt = time.Unix(0, st.GetStartedUnixNano())
		return out
	case st != nil && st.GetStatus() == shimv1.Status_STATUS_STOPPED:
		ex := exitOf(st)
		if e != nil && (e.rec.Exit == nil || !e.rec.Exit.same(ex)) {
			first := e.rec.Exit == nil
			e.rec.Exit = &ex
			c.persist(e)
			if first {
				c.sandboxes.events.publish(EventStopped, e.rec.SandboxID, e.rec.ID)
			}
		}
		rec.Exit = &ex
	case st != nil:
		// Known to the shim, being started.
		out.State = StateCreated
		return out
	case rec.Exit == nil && reachable:
		// Asked to start, not known to the shim yet (a start in progress).
		out.State = StateCreated
		return out
	}
	if rec.Exit == nil {
		// Its shim is gone and nobody saw it end (a reboot).
		out.State, out.ExitCode, out.Reason = StateExited, unknownExitCode, unknownExitReason
		out.FinishedAt = time.Now()
		return out
	}
	out.State = StateExited
	out.StartedAt, out.FinishedAt = rec.Exit.StartedAt, rec.Exit.FinishedAt
	out.ExitCode, out.Reason, out.Message = rec.Exit.ExitCode, rec.Exit.Reason, rec.Exit.Message
	return out
}

// same reports whether two records of an end agree.
func (x ContainerExit) same(y ContainerExit) bool {
	return x.StartedAt.Equal(y.StartedAt) && x.FinishedAt.Equal(y.FinishedAt) && x.ExitCode == y.ExitCode &&
		x.Reason == y.Reason && x.Message == y.Message
}

// exitOf reads a stopped container's end, with CRI's reasons.
func exitOf(st *shimv1.ContainerState) ContainerExit {
	ex := ContainerExit{
		StartedAt: time.Unix(0, st.GetStartedUnixNano()), FinishedAt: time.Unix(0, st.GetFinishedUnixNano()),
		ExitCode: st.GetExitCode(), Reason: st.GetReason(), Message: st.GetMessage(),
	}
	if st.GetStartedUnixNano() == 0 {
		ex.StartedAt = time.Time{}
	}
	switch {
	case st.GetOomKilled():
		ex.Reason = "OOMKilled"
	case ex.Reason != "":
	case ex.ExitCode == 0:
		ex.Reason = "Completed"
	default:
		ex.Reason = "Error"
	}
	return ex
}

// Get returns container id's status; an unknown ID is errdefs.ErrNotFound.
func (c *Containers) Get(ctx context.Context, id string) (ContainerStatus, error) {
	e := c.lookup(id)
	if e == nil {
		return ContainerStatus{}, errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return c.status(ctx, e), nil
}

// status observes e (locked) through its sandbox's shim.
func (c *Containers) status(ctx context.Context, e *centry) ContainerStatus {
	if e.rec.Phase != ContainerStarted {
		return c.observe(e, e.rec, nil, false)
	}
	cl, _, err := c.sandboxes.Shim(ctx, e.rec.SandboxID)
	if err != nil {
		return c.observe(e, e.rec, nil, false)
	}
	st, _ := c.shimState(ctx, cl, e.rec.ID)
	return c.observe(e, e.rec, st, true)
}

// List returns every container's status, oldest first.
func (c *Containers) List(ctx context.Context) []ContainerStatus {
	c.mu.Lock()
	es := make([]*centry, 0, len(c.entries))
	for _, e := range c.entries {
		es = append(es, e)
	}
	c.mu.Unlock()
	// One State call per sandbox.
	type shimView struct {
		states    map[string]*shimv1.ContainerState
		reachable bool
	}
	views := map[string]*shimView{}
	view := func(sb string) *shimView {
		if v, ok := views[sb]; ok {
			return v
		}
		v := &shimView{states: map[string]*shimv1.ContainerState{}}
		views[sb] = v
		cl, _, err := c.sandboxes.Shim(ctx, sb)
		if err != nil {
			return v
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		resp, err := cl.State(sctx, &shimv1.StateRequest{})
		if err != nil {
			return v
		}
		v.reachable = true
		for _, st := range resp.GetContainers() {
			v.states[st.GetId()] = st
		}
		return v
	}
	out := make([]ContainerStatus, 0, len(es))
	for _, e := range es {
		var locked *centry
		var rec ContainerRecord
		if e.mu.TryLock() {
			locked, rec = e, e.rec
		} else {
			c.mu.Lock()
			rec = e.snap
			c.mu.Unlock()
		}
		if rec.ID != "" && rec.Phase != ContainerCreating {
			v := view(rec.SandboxID)
			out = append(out, c.observe(locked, rec, v.states[rec.ID], v.reachable))
		}
		if locked != nil {
			e.mu.Unlock()
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// stopPoll is how often a stop checks whether the container exited.
const stopPoll = 50 * time.Millisecond

// killWait bounds the wait for a container's exit after SIGKILL.
const killWait = 30 * time.Second

// Stop stops a running container: its stop signal (the image's
// STOPSIGNAL, else SIGTERM), then SIGKILL to all its processes when
// timeout passes. Stopping an unknown or stopped container succeeds.
func (c *Containers) Stop(ctx context.Context, id string, timeout time.Duration) error {
	e := c.lookup(id)
	if e == nil {
		return nil
	}
	e.op.Lock()
	defer e.op.Unlock()
	return c.stop(ctx, e, timeout)
}

// stop stops e, whose op lock the caller holds; it takes e.mu only to
// observe e, never while it waits.
func (c *Containers) stop(ctx context.Context, e *centry, timeout time.Duration) error {
	e.mu.Lock()
	rec := e.rec
	e.mu.Unlock()
	id := rec.ID
	if rec.Phase != ContainerStarted {
		return nil
	}
	cl, _, err := c.sandboxes.Shim(ctx, rec.SandboxID)
	if err != nil {
		return nil // no shim: nothing of it runs
	}
	if c.observeStopped(ctx, e, cl) {
		return nil
	}
	if timeout > 0 {
		sig := syscall.Signal(rec.StopSignal)
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		if _, err := cl.Signal(ctx, &shimv1.SignalRequest{Id: id, Signal: int32(sig)}); err != nil {
			return fmt.Errorf("stop container %s: signal %d: %w", id, sig, err)
		}
		if c.waitStopped(ctx, e, cl, time.Now().Add(timeout)) {
			return nil
		}
	}
	if _, err := cl.Signal(ctx, &shimv1.SignalRequest{Id: id, Signal: int32(syscall.SIGKILL), All: true}); err != nil {
		return fmt.Errorf("stop container %s: kill: %w", id, err)
	}
	if !c.waitStopped(ctx, e, cl, time.Now().Add(killWait)) {
		return fmt.Errorf("stop container %s: it did not exit %s after SIGKILL", id, killWait)
	}
	slog.Info("CRI container stopped", "container", id)
	return nil
}

// observeStopped asks the shim whether e stopped, recording its end if
// so.
func (c *Containers) observeStopped(ctx context.Context, e *centry, cl ShimClient) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := c.shimState(ctx, cl, e.rec.ID)
	if !ok || st.GetStatus() == shimv1.Status_STATUS_STOPPED {
		c.observe(e, e.rec, st, true)
		return true
	}
	return false
}

// waitStopped polls the shim until e stopped (its end recorded) or
// deadline passes.
func (c *Containers) waitStopped(ctx context.Context, e *centry, cl ShimClient, deadline time.Time) bool {
	t := time.NewTicker(stopPoll)
	defer t.Stop()
	for {
		if c.observeStopped(ctx, e, cl) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// Remove stops a container if it runs, and forgets it: its shim instance,
// rootfs and record (its log stays: the client owns it). Removing an
// unknown container succeeds.
func (c *Containers) Remove(ctx context.Context, id string) error {
	e := c.lookup(id)
	if e == nil {
		return nil
	}
	e.op.Lock()
	defer e.op.Unlock()
	if err := c.stop(ctx, e, 0); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rec.Phase == ContainerStarted {
		if cl, _, err := c.sandboxes.Shim(ctx, e.rec.SandboxID); err == nil {
			if err := RemoveFromShim(ctx, cl, id); err != nil {
				return fmt.Errorf("remove container %s: %w", id, err)
			}
		}
	}
	if err := c.undoCreate(ctx, id); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
	slog.Info("CRI container removed", "container", id)
	c.sandboxes.events.publish(EventDeleted, e.rec.SandboxID, id)
	return nil
}

// follow watches the events of sandbox's shim, unless already watched,
// so that a container that ends on its own is observed (its end recorded
// and published) when it ends, not when a client next asks. The watch
// ends with the shim.
func (c *Containers) follow(sandbox string) {
	c.mu.Lock()
	if c.following[sandbox] {
		c.mu.Unlock()
		return
	}
	c.following[sandbox] = true
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.following, sandbox)
			c.mu.Unlock()
		}()
		cl, _, err := c.sandboxes.Shim(c.ctx, sandbox)
		if err != nil {
			return
		}
		stream, err := cl.Events(c.ctx, &shimv1.EventsRequest{})
		if err != nil {
			return
		}
		// What ended before the stream opened.
		for _, id := range c.inSandbox(sandbox) {
			c.refresh(id)
		}
		for {
			st, err := stream.Recv()
			if err != nil {
				return
			}
			if st.GetStatus() == shimv1.Status_STATUS_STOPPED {
				c.refresh(st.GetId())
			}
		}
	}()
}

// refresh observes container id (a known one) through its shim.
func (c *Containers) refresh(id string) {
	e := c.lookup(id)
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c.status(c.ctx, e)
}

// Update sets a created or running container's CPU and memory limits (a
// zero value leaves one as it is) and records them with client, the
// client's config as updated. An exited container is
// errdefs.ErrFailedPrecondition.
func (c *Containers) Update(ctx context.Context, id string, res *shimv1.Resources, client []byte) error {
	e := c.lookup(id)
	if e == nil {
		return errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	e.op.Lock()
	defer e.op.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch st := c.status(ctx, e); st.State {
	case StateCreated:
		if e.rec.Phase == ContainerStarted {
			return errdefs.Classed(errdefs.ErrFailedPrecondition, "update container %s: it is being started", id)
		}
	case StateRunning:
		cl, _, err := c.sandboxes.Shim(ctx, e.rec.SandboxID)
		if err != nil {
			return fmt.Errorf("update container %s: %w", id, err)
		}
		if _, err := cl.Update(ctx, &shimv1.UpdateRequest{Id: id, Resources: res}); err != nil {
			return fmt.Errorf("update container %s: %w", id, err)
		}
	default:
		return errdefs.Classed(errdefs.ErrFailedPrecondition, "update container %s: it is %s", id, st.State)
	}
	cfg := &shimv1.ContainerConfig{}
	if err := proto.Unmarshal(e.rec.Config, cfg); err != nil {
		return fmt.Errorf("update container %s: read its config: %w", id, err)
	}
	if cfg.Resources == nil {
		cfg.Resources = &shimv1.Resources{}
	}
	r := cfg.Resources
	if res.GetCpuShares() > 0 {
		r.CpuShares = res.GetCpuShares()
	}
	if res.GetCpuQuotaUs() > 0 {
		r.CpuQuotaUs, r.CpuPeriodUs = res.GetCpuQuotaUs(), res.GetCpuPeriodUs()
	}
	if res.GetMemoryLimitBytes() > 0 {
		r.MemoryLimitBytes = res.GetMemoryLimitBytes()
	}
	data, err := proto.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("update container %s: %w", id, err)
	}
	old := e.rec
	e.rec.Config, e.rec.Client = data, client
	if err := c.persist(e); err != nil {
		e.rec = old
		return fmt.Errorf("update container %s: %w", id, err)
	}
	slog.Info("CRI container resources updated", "container", id)
	return nil
}

// ReopenLog makes the shim reopen a running container's log file; a
// container not running is errdefs.ErrFailedPrecondition.
func (c *Containers) ReopenLog(ctx context.Context, id string) error {
	e := c.lookup(id)
	if e == nil {
		return errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	e.op.Lock()
	defer e.op.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := c.status(ctx, e); st.State != StateRunning {
		return errdefs.Classed(errdefs.ErrFailedPrecondition, "reopen the log of container %s: it is %s, not running", id, st.State)
	}
	cl, _, err := c.sandboxes.Shim(ctx, e.rec.SandboxID)
	if err != nil {
		return fmt.Errorf("reopen the log of container %s: %w", id, err)
	}
	if _, err := cl.ReopenLog(ctx, &shimv1.ReopenLogRequest{Id: id}); err != nil {
		return fmt.Errorf("reopen the log of container %s: %w", id, err)
	}
	return nil
}

// inSandbox lists the IDs of sandbox's containers.
func (c *Containers) inSandbox(sandbox string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id, e := range c.entries {
		if e.snap.SandboxID == sandbox || e.rec.SandboxID == sandbox {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// StopSandbox kills every container of a sandbox (as containerd does
// before it stops the sandbox), keeping their ends.
func (c *Containers) StopSandbox(ctx context.Context, sandbox string) error {
	var errs []error
	for _, id := range c.inSandbox(sandbox) {
		errs = append(errs, c.Stop(ctx, id, 0))
	}
	return errors.Join(errs...)
}

// RemoveSandbox removes every container of a sandbox.
func (c *Containers) RemoveSandbox(ctx context.Context, sandbox string) error {
	var errs []error
	for _, id := range c.inSandbox(sandbox) {
		errs = append(errs, c.Remove(ctx, id))
	}
	return errors.Join(errs...)
}

// Images lists the image IDs the containers use, as root or as volume.
func (c *Containers) Images() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, e := range c.entries {
		out[e.snap.ImageID] = true
		for _, v := range e.snap.ImageVolumes {
			out[v.ImageID] = true
		}
	}
	return out
}

func (c *Containers) lookup(id string) *centry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[id]
}

// persist writes e's record atomically.
func (c *Containers) persist(e *centry) error {
	if err := writeRecord(c.layout.CRIContainerDir(e.rec.ID), c.layout.CRIContainerFile(e.rec.ID), e.rec); err != nil {
		return fmt.Errorf("record container %s: %w", e.rec.ID, err)
	}
	c.mu.Lock()
	e.snap = e.rec
	c.mu.Unlock()
	return nil
}
