//lint:file-ignore SA1012 a nil context marks the fakes of calls that take none: step then refuses to hang

package podworkertest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/network"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/spec"
)

// FaultKind is what a scripted step does instead of succeeding.
type FaultKind int

const (
	FaultNone  FaultKind = iota
	FaultError           // returns an error
	FaultPanic           // panics
	FaultHang            // blocks until its context ends
)

func (k FaultKind) String() string {
	return [...]string{"none", "error", "panic", "hang"}[k]
}

// fault is a scripted misbehaviour of one step; times 0 means every call.
type fault struct {
	kind  FaultKind
	times int
}

// Host is a scriptable stand-in for everything a pod worker touches on the
// host: shims (with their containers), the network, volumes, images and
// root filesystems. It keeps a census of what is alive, so a test can check
// that everything made was released. It is the worker's Network, Volumes,
// Images and Rootfs; Shims wraps it as the worker's Shims.
//
// Set the exported fields before a worker uses the host.
type Host struct {
	mu     sync.Mutex
	faults map[string]*fault
	hooks  map[string]func() // see OnStep
	// calls counts each step's calls.
	calls map[string]int

	shims   map[string]*Shim // live shims by state dir
	netns   map[string]bool  // live sandbox networks by sandbox id
	volumes map[string]bool  // prepared pod dirs
	mounts  map[string]bool  // mounted container roots
	// PauseExits makes the pause stop right after it starts.
	PauseExits bool
	// ShimWithoutHold makes the shims act as ones from before
	// CreateContainerRequest.hold: Info says so, and a container asked to
	// be held runs at once.
	ShimWithoutHold bool
	// ShimWithoutPins makes the shims act as ones from before pinned
	// namespaces: they make none at launch, so a container joining the
	// pause's namespaces cannot be made before the pause runs.
	ShimWithoutPins bool
	// IgnoreTerm makes containers survive their stop signal (SIGKILL only).
	IgnoreTerm bool
	// TermExitAfter makes a container exit this long after its stop signal,
	// as a shell whose trap runs once its current command ends; zero: at once.
	TermExitAfter time.Duration
	// EventsGate, when set, holds each Events call until it is closed (a
	// subscription still on its way to the shim).
	EventsGate chan struct{}
	// log records teardown-relevant calls in order.
	log []string
	// signals records each Signal call with its time.
	signals []SentSignal
	// CreateBarrier, when > 1, holds each app container create until that
	// many are in flight (or a second passed); maxCreates is the most seen.
	CreateBarrier        int
	creating, maxCreates int
	// configs are the configs of the containers the shims created, in order.
	configs []*shimv1.ContainerConfig
	// AddGate, when set, holds every network setup after its netns is
	// pinned (and reported) until it is closed or the call's context ends:
	// what runs beside CNI ADD can be seen at work.
	AddGate chan struct{}
}

// Configs returns the configs the shims were given to create containers
// (the pause's too), in order.
func (h *Host) Configs() []*shimv1.ContainerConfig {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*shimv1.ContainerConfig(nil), h.configs...)
}

// SentSignal is one Signal call a shim received.
type SentSignal struct {
	ID  string
	Sig syscall.Signal
	At  time.Time
}

// NewHost returns a host with nothing alive and no faults scripted.
func NewHost() *Host {
	return &Host{
		faults: map[string]*fault{}, calls: map[string]int{},
		shims: map[string]*Shim{}, netns: map[string]bool{},
		volumes: map[string]bool{}, mounts: map[string]bool{},
	}
}

// Script makes step misbehave: kind on its next times calls (0: every call).
// Steps are named "<seam>.<call>": volumes.prepare, network.setup,
// shim.launch, pause.create, container.create, image.get, shim.stop, ….
func (h *Host) Script(step string, kind FaultKind, times int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults[step] = &fault{kind: kind, times: times}
}

// OnStep runs fn at each call of step, before its script.
func (h *Host) OnStep(step string, fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hooks == nil {
		h.hooks = map[string]func(){}
	}
	h.hooks[step] = fn
}

// step runs a step's hook and script: nil when it succeeds.
func (h *Host) step(ctx context.Context, name string) error {
	h.mu.Lock()
	hook := h.hooks[name]
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	h.mu.Lock()
	h.calls[name]++
	f := h.faults[name]
	kind := FaultNone
	if f != nil {
		kind = f.kind
		if f.times > 0 {
			if f.times--; f.times == 0 {
				delete(h.faults, name)
			}
		}
	}
	h.mu.Unlock()
	switch kind {
	case FaultError:
		return fmt.Errorf("injected failure at %s", name)
	case FaultPanic:
		panic("injected panic at " + name)
	case FaultHang:
		if ctx == nil {
			return fmt.Errorf("injected failure at %s (cannot hang without a context)", name)
		}
		<-ctx.Done()
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
	return nil
}

func (h *Host) record(s string) {
	h.mu.Lock()
	h.log = append(h.log, s)
	h.mu.Unlock()
}

// Count returns how often step was called.
func (h *Host) Count(step string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[step]
}

// barrier counts a create in flight and, with CreateBarrier set, waits
// until that many are; the returned func ends the create.
func (h *Host) barrier() (done func()) {
	h.mu.Lock()
	h.creating++
	h.maxCreates = max(h.maxCreates, h.creating)
	want := h.CreateBarrier
	h.mu.Unlock()
	deadline := time.Now().Add(time.Second)
	for want > 1 && time.Now().Before(deadline) {
		h.mu.Lock()
		n := h.creating
		h.mu.Unlock()
		if n >= want {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	return func() {
		h.mu.Lock()
		h.creating--
		h.mu.Unlock()
	}
}

// Leaks lists what is still alive, sorted.
func (h *Host) Leaks() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for dir := range h.shims {
		out = append(out, "shim "+dir)
	}
	for id := range h.netns {
		out = append(out, "network "+id)
	}
	for d := range h.volumes {
		out = append(out, "volumes "+d)
	}
	for d := range h.mounts {
		out = append(out, "rootfs "+d)
	}
	sort.Strings(out)
	return out
}

// Log returns the teardown-relevant calls in order ("stop shim",
// "network teardown", "volumes cleanup", "kill shim", "signal <id> <n>").
func (h *Host) Log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

// SignalsTo returns the signals sent to container id, with their times.
func (h *Host) SignalsTo(id string) []SentSignal {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []SentSignal
	for _, s := range h.signals {
		if s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

// MaxCreates is the most app container creates seen in flight at once.
func (h *Host) MaxCreates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.maxCreates
}

// HasNetwork reports whether the network of sandboxID is set up.
func (h *Host) HasNetwork(sandboxID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.netns[sandboxID]
}

// Networks lists the sandboxes whose network is set up, sorted.
func (h *Host) Networks() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id := range h.netns {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// ForgetNetwork drops the network of sandboxID from the census.
func (h *Host) ForgetNetwork(sandboxID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.netns, sandboxID)
}

// HasShim reports whether a shim serves stateDir.
func (h *Host) HasShim(stateDir string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.shims[stateDir]
	return ok
}

// ExitContainers makes the running containers of the shim of stateDir that
// match stop with code, as their processes would; false when no shim serves
// stateDir.
func (h *Host) ExitContainers(stateDir string, match func(*shimv1.ContainerState) bool, code int32) bool {
	return h.eachContainer(stateDir, shimv1.Status_STATUS_RUNNING, match, func(s *Shim, c *shimv1.ContainerState) {
		c.Status, c.ExitCode, c.FinishedUnixNano = shimv1.Status_STATUS_STOPPED, code, time.Now().UnixNano()
		s.publishLocked(c)
	})
}

// StartingContainers puts the running containers of the shim of stateDir
// that match back to created, as a start the shim is still carrying out
// (its create child has not reported yet) looks; FinishStarts ends those
// starts. False when no shim serves stateDir.
func (h *Host) StartingContainers(stateDir string, match func(*shimv1.ContainerState) bool) bool {
	return h.setStatus(stateDir, match, shimv1.Status_STATUS_RUNNING, shimv1.Status_STATUS_CREATED)
}

// FinishStarts makes the created containers of the shim of stateDir run,
// with an event each, as the shim's starts end.
func (h *Host) FinishStarts(stateDir string) bool {
	return h.setStatus(stateDir, func(c *shimv1.ContainerState) bool { return !c.GetHeld() }, shimv1.Status_STATUS_CREATED, shimv1.Status_STATUS_RUNNING)
}

// setStatus moves the matching containers of the shim of stateDir from one
// status to another; a container that starts running is published.
func (h *Host) setStatus(stateDir string, match func(*shimv1.ContainerState) bool, from, to shimv1.Status) bool {
	return h.eachContainer(stateDir, from, match, func(s *Shim, c *shimv1.ContainerState) {
		c.Status = to
		if to == shimv1.Status_STATUS_RUNNING {
			s.publishLocked(c)
		}
	})
}

// eachContainer calls change, under the shim's lock, for each container of
// the shim of stateDir in status from that match; false when no shim
// serves stateDir.
func (h *Host) eachContainer(stateDir string, from shimv1.Status, match func(*shimv1.ContainerState) bool, change func(*Shim, *shimv1.ContainerState)) bool {
	h.mu.Lock()
	s := h.shims[stateDir]
	h.mu.Unlock()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.containers {
		if c.Status == from && match(c) {
			change(s, c)
		}
	}
	return true
}

// EndEventStreams ends the Events streams of the shim of stateDir, as the
// real shim does to a subscriber that fell too far behind; the shim lives on.
func (h *Host) EndEventStreams(stateDir string) {
	h.mu.Lock()
	s := h.shims[stateDir]
	h.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := range s.subs {
		delete(s.subs, e)
		close(e.lagged)
	}
}

// KillShim makes the shim of stateDir die, as a host reboot or an OOM kill
// would: its containers are gone and so is the evidence of it.
func (h *Host) KillShim(stateDir string) {
	h.mu.Lock()
	s := h.shims[stateDir]
	h.mu.Unlock()
	if s != nil {
		s.die()
	}
}

// --- Shims ---

// Shims is h as a pod worker's Shims, whose Launch and Connect return the
// worker's client interface C (podworker.ShimClient): the package cannot
// name it, since the worker's own tests import this package.
type Shims[C any] struct{ *Host }

// Launch is LaunchShim returning C.
func (s Shims[C]) Launch(ctx context.Context, cfg shim.LaunchConfig) (C, error) {
	return client[C](s.LaunchShim(ctx, cfg))
}

// Connect is ConnectShim returning C.
func (s Shims[C]) Connect(ctx context.Context, stateDir string) (C, error) {
	return client[C](s.ConnectShim(ctx, stateDir))
}

// client converts a fake shim to C; a failure stays a nil C (never a
// non-nil interface holding a nil *Shim).
func client[C any](s *Shim, err error) (C, error) {
	var c C
	if err != nil {
		return c, err
	}
	c, ok := any(s).(C)
	if !ok {
		return c, fmt.Errorf("fake shim does not implement %T", c)
	}
	return c, nil
}

// LaunchShim starts a fake shim for cfg.StateDir (Shims.Launch).
func (h *Host) LaunchShim(ctx context.Context, cfg shim.LaunchConfig) (*Shim, error) {
	if err := h.step(ctx, "shim.launch"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.shims[cfg.StateDir]; ok {
		return nil, fmt.Errorf("fake: a shim already serves %s", cfg.StateDir)
	}
	s := &Shim{h: h, dir: cfg.StateDir, containers: map[string]*shimv1.ContainerState{}, gone: make(chan struct{})}
	if !h.ShimWithoutPins {
		s.pinned = []string{"uts", "ipc"}
	}
	h.shims[cfg.StateDir] = s
	return s, nil
}

// ConnectShim finds the live fake shim of stateDir (Shims.Connect).
func (h *Host) ConnectShim(ctx context.Context, stateDir string) (*Shim, error) {
	if err := h.step(ctx, "shim.connect"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.shims[stateDir]
	if !ok {
		return nil, fmt.Errorf("fake connect to shim: %w", fs.ErrNotExist)
	}
	return s, nil
}

func (h *Host) Kill(stateDir, cgroup string) error {
	h.record("kill shim")
	if err := h.step(nil, "shim.kill"); err != nil {
		return err
	}
	h.mu.Lock()
	s := h.shims[stateDir]
	h.mu.Unlock()
	if s != nil {
		s.die()
	}
	return nil
}

func (h *Host) RemoveCgroup(string) error { return h.step(nil, "shim.removeCgroup") }

// Gone has evidence exactly when the fake shim of stateDir is dead.
func (h *Host) Gone(_ context.Context, stateDir string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.shims[stateDir]; !ok {
		return fmt.Errorf("fake shim of %s: %w", stateDir, shim.ErrGone)
	}
	return nil
}

// --- Network ---

// Setup pins (step network.pin, then req.Pinned) and runs CNI ADD (step
// network.setup); a failure at either leaves nothing, as the real manager.
func (h *Host) Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error) {
	if err := h.step(ctx, "network.pin"); err != nil {
		return nil, err
	}
	if req.Pinned != nil {
		req.Pinned("/run/fake/netns/" + req.SandboxID)
	}
	if gate := h.AddGate; gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := h.step(ctx, "network.setup"); err != nil {
		return nil, err // like the real manager, a failed Setup undid itself
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.netns[req.SandboxID] = true
	return &network.Attachment{SandboxID: req.SandboxID, NetnsPath: "/run/fake/netns/" + req.SandboxID,
		IPs: []net.IP{net.IPv4(10, 88, 0, byte(len(h.netns)+1))}}, nil
}

func (h *Host) Teardown(ctx context.Context, sandboxID string) error {
	h.record("network teardown")
	if err := h.step(ctx, "network.teardown"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.netns, sandboxID)
	return nil
}

// --- Volumes ---

func (h *Host) Prepare(ctx context.Context, pod *corev1.Pod, podDir string) (map[string]string, error) {
	if err := h.step(ctx, "volumes.prepare"); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.volumes[podDir] = true
	out := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		out[v.Name] = podDir + "/volumes/" + v.Name
	}
	return out, nil
}

func (h *Host) Cleanup(ctx context.Context, podDir string) error {
	h.record("volumes cleanup")
	if err := h.step(ctx, "volumes.cleanup"); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.volumes, podDir)
	return nil
}

// --- Images ---

func (h *Host) Get(ctx context.Context, ref string) (image.Image, error) {
	if err := h.step(ctx, "image.get"); err != nil {
		return image.Image{}, err
	}
	return image.Image{Refs: []string{ref}, ID: "sha256:fake", Config: image.Config{Cmd: []string{"/bin/sh"}}}, nil
}

func (h *Host) Pull(ctx context.Context, ref string, _ image.PullOptions) (image.Image, error) {
	if err := h.step(ctx, "image.pull"); err != nil {
		return image.Image{}, err
	}
	return h.Get(ctx, ref)
}

func (h *Host) Layers(ctx context.Context, _ image.Image) ([]string, error) {
	if err := h.step(ctx, "image.layers"); err != nil {
		return nil, err
	}
	return []string{"/fake/layers/1"}, nil
}

// --- Rootfs ---

func (h *Host) Mount(_ []string, dir string, _ *idmap.Mappings) (string, error) {
	if err := h.step(nil, "rootfs.mount"); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mounts[dir] = true
	return dir + "/merged", nil
}

func (h *Host) MountView(_ []string, dir string, _ *idmap.Mappings) (string, error) {
	if err := h.step(nil, "rootfs.view"); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir+"/merged", 0o755); err != nil {
		return "", err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mounts[dir] = true
	return dir + "/merged", nil
}

func (h *Host) Unmount(dir string) error {
	if err := h.step(nil, "rootfs.unmount"); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.mounts, dir)
	return nil
}

// Shim is one pod's shim with its containers; containers exit at once
// on their stop signal unless the host ignores TERM. Like the shim, it
// sends each container's start and exit to its Events streams.
type Shim struct {
	h   *Host
	dir string
	// pinned are the namespaces it made as it started (uts and ipc, unless
	// ShimWithoutPins).
	pinned     []string
	mu         sync.Mutex
	containers map[string]*shimv1.ContainerState
	gone       chan struct{}
	dead       bool
	// subs are the open Events streams.
	subs map[*events]struct{}
}

// eventsBuffer is how many events a stream may lag behind before it ends,
// as the shim's do.
const eventsBuffer = 64

// publishLocked sends st to every Events stream. Callers hold s.mu.
func (s *Shim) publishLocked(st *shimv1.ContainerState) {
	for e := range s.subs {
		select {
		case e.ch <- proto.Clone(st).(*shimv1.ContainerState):
		default:
			delete(s.subs, e)
			close(e.lagged)
		}
	}
}

func (s *Shim) die() {
	s.mu.Lock()
	if !s.dead {
		s.dead = true
		close(s.gone)
	}
	s.containers = map[string]*shimv1.ContainerState{}
	s.subs = nil
	s.mu.Unlock()
	s.h.mu.Lock()
	if s.h.shims[s.dir] == s {
		delete(s.h.shims, s.dir)
	}
	s.h.mu.Unlock()
}

func (s *Shim) alive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return status.Error(codes.Unavailable, "fake shim is gone")
	}
	return nil
}

// container runs step and the liveness check, then returns container id
// with s.mu held: the caller calls unlock.
func (s *Shim) container(ctx context.Context, step, id string) (_ *shimv1.ContainerState, unlock func(), _ error) {
	if err := s.h.step(ctx, step); err != nil {
		return nil, nil, err
	}
	if err := s.alive(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	c, ok := s.containers[id]
	if !ok {
		s.mu.Unlock()
		return nil, nil, status.Errorf(codes.NotFound, "container %s not found", id)
	}
	return c, s.mu.Unlock, nil
}

func (s *Shim) CreateContainer(ctx context.Context, in *shimv1.CreateContainerRequest, _ ...grpc.CallOption) (*shimv1.CreateContainerResponse, error) {
	id := in.GetConfig().GetId()
	step := "container.create"
	switch {
	case id == spec.PauseID:
		step = "pause.create"
	case in.GetHold():
		step = "container.hold"
	}
	if err := s.h.step(ctx, step); err != nil {
		return nil, err
	}
	if id != spec.PauseID {
		defer s.h.barrier()()
	}
	if err := s.alive(); err != nil {
		return nil, err
	}
	s.h.mu.Lock()
	s.h.configs = append(s.h.configs, proto.Clone(in.GetConfig()).(*shimv1.ContainerConfig))
	s.h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.containers[id]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "container with given ID already exists: %s", id)
	}
	for _, ns := range in.GetConfig().GetNamespaces() {
		// As the shim: a container's namespace that is not pinned is
		// joined through its running init.
		c := ns.GetContainer()
		if c != "" && !slices.Contains(s.pinned, ns.GetType()) && s.containers[c].GetStatus() != shimv1.Status_STATUS_RUNNING {
			return nil, status.Errorf(codes.Unknown, "create container %q: join %s namespace of container %q: not running", id, ns.GetType(), c)
		}
	}
	st := &shimv1.ContainerState{Id: id, Status: shimv1.Status_STATUS_RUNNING, Pid: 100,
		StartedUnixNano: time.Now().UnixNano(), Labels: in.GetConfig().GetLabels()}
	if in.GetHold() && !s.h.ShimWithoutHold {
		st.Status, st.StartedUnixNano, st.Held = shimv1.Status_STATUS_CREATED, 0, true
		s.h.record("hold " + id)
	} else if id != spec.PauseID {
		s.h.record("run " + id)
	}
	if id == spec.PauseID && s.h.PauseExits {
		st.Status, st.Reason, st.Message = shimv1.Status_STATUS_STOPPED, "ContainerCannotRun", "fake pause exits"
	}
	s.containers[id] = st
	s.publishLocked(st)
	return &shimv1.CreateContainerResponse{State: st}, nil
}

// Info answers the shim's identity; hold unless ShimWithoutHold.
func (s *Shim) Info(ctx context.Context, _ *shimv1.InfoRequest, _ ...grpc.CallOption) (*shimv1.InfoResponse, error) {
	if err := s.h.step(ctx, "shim.info"); err != nil {
		return nil, err
	}
	if err := s.alive(); err != nil {
		return nil, err
	}
	return &shimv1.InfoResponse{Pid: 1, Hold: !s.h.ShimWithoutHold, PinnedNamespaces: s.pinned}, nil
}

// PinnedNamespaces is what Info answers: uts and ipc, unless
// ShimWithoutPins.
func (s *Shim) PinnedNamespaces() []string { return s.pinned }

// StartContainer releases a held container: "container.start" is its step.
func (s *Shim) StartContainer(ctx context.Context, in *shimv1.StartContainerRequest, _ ...grpc.CallOption) (*shimv1.StartContainerResponse, error) {
	c, unlock, err := s.container(ctx, "container.start", in.GetId())
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !c.Held {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is not held", in.GetId())
	}
	c.Status, c.StartedUnixNano, c.Held = shimv1.Status_STATUS_RUNNING, time.Now().UnixNano(), false
	s.h.record("start " + in.GetId())
	return &shimv1.StartContainerResponse{State: proto.Clone(c).(*shimv1.ContainerState)}, nil
}

func (s *Shim) Signal(ctx context.Context, in *shimv1.SignalRequest, _ ...grpc.CallOption) (*shimv1.SignalResponse, error) {
	s.h.record(fmt.Sprintf("signal %s %d", in.GetId(), in.GetSignal()))
	s.h.mu.Lock()
	s.h.signals = append(s.h.signals, SentSignal{ID: in.GetId(), Sig: syscall.Signal(in.GetSignal()), At: time.Now()})
	s.h.mu.Unlock()
	c, unlock, err := s.container(ctx, "container.signal", in.GetId())
	if err != nil {
		return nil, err
	}
	defer unlock()
	sig := syscall.Signal(in.GetSignal())
	if c.Status != shimv1.Status_STATUS_RUNNING || (sig != syscall.SIGKILL && s.h.IgnoreTerm) {
		return &shimv1.SignalResponse{}, nil
	}
	if sig != syscall.SIGKILL && s.h.TermExitAfter > 0 {
		time.AfterFunc(s.h.TermExitAfter, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if c.Status == shimv1.Status_STATUS_RUNNING && !s.dead {
				c.Status, c.FinishedUnixNano = shimv1.Status_STATUS_STOPPED, time.Now().UnixNano()
				s.publishLocked(c)
			}
		})
		return &shimv1.SignalResponse{}, nil
	}
	c.Status, c.Signal, c.FinishedUnixNano = shimv1.Status_STATUS_STOPPED, int32(sig), time.Now().UnixNano()
	s.publishLocked(c)
	return &shimv1.SignalResponse{}, nil
}

func (s *Shim) State(ctx context.Context, _ *shimv1.StateRequest, _ ...grpc.CallOption) (*shimv1.StateResponse, error) {
	if err := s.h.step(ctx, "shim.state"); err != nil {
		return nil, err
	}
	if err := s.alive(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &shimv1.StateResponse{}
	for _, c := range s.containers {
		resp.Containers = append(resp.Containers, proto.Clone(c).(*shimv1.ContainerState))
	}
	return resp, nil
}

func (s *Shim) Remove(ctx context.Context, in *shimv1.RemoveRequest, _ ...grpc.CallOption) (*shimv1.RemoveResponse, error) {
	if err := s.h.step(ctx, "container.remove"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.containers, in.GetId())
	return &shimv1.RemoveResponse{}, nil
}

func (s *Shim) Update(ctx context.Context, in *shimv1.UpdateRequest, _ ...grpc.CallOption) (*shimv1.UpdateResponse, error) {
	c, unlock, err := s.container(ctx, "container.update", in.GetId())
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.Status == shimv1.Status_STATUS_STOPPED {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is stopped", in.GetId())
	}
	return &shimv1.UpdateResponse{}, nil
}

func (s *Shim) ReopenLog(ctx context.Context, in *shimv1.ReopenLogRequest, _ ...grpc.CallOption) (*shimv1.ReopenLogResponse, error) {
	c, unlock, err := s.container(ctx, "container.reopenlog", in.GetId())
	if err != nil {
		return nil, err
	}
	defer unlock()
	if c.Status != shimv1.Status_STATUS_RUNNING {
		return nil, status.Errorf(codes.FailedPrecondition, "container %s is not running", in.GetId())
	}
	return &shimv1.ReopenLogResponse{}, nil
}

func (s *Shim) Exec(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.ExecRequest, shimv1.ExecResponse], error) {
	return nil, status.Error(codes.Unimplemented, "the fake shim runs no exec")
}

func (s *Shim) Attach(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[shimv1.AttachRequest, shimv1.AttachResponse], error) {
	return nil, status.Error(codes.Unimplemented, "the fake shim attaches no client")
}

func (s *Shim) Events(ctx context.Context, _ *shimv1.EventsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[shimv1.ContainerState], error) {
	if err := s.h.step(ctx, "shim.events"); err != nil {
		return nil, err
	}
	if gate := s.h.EventsGate; gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return nil, status.Error(codes.Unavailable, "fake shim is gone")
	}
	e := &events{ctx: ctx, gone: s.gone, shim: s, ch: make(chan *shimv1.ContainerState, eventsBuffer), lagged: make(chan struct{})}
	if s.subs == nil {
		s.subs = map[*events]struct{}{}
	}
	s.subs[e] = struct{}{}
	return e, nil
}

func (s *Shim) Stop(ctx context.Context, force bool) error {
	s.h.record("stop shim")
	if err := s.h.step(ctx, "shim.stop"); err != nil {
		return err
	}
	s.die()
	return nil
}

func (s *Shim) Close() error { return nil }

// CanHold is what Info answers: hold unless ShimWithoutHold.
func (s *Shim) CanHold() bool { return !s.h.ShimWithoutHold }

func (s *Shim) Exited() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

// events is a shim event stream: each container start and exit, until
// the shim dies, the subscriber leaves (ctx) or falls behind.
type events struct {
	grpc.ClientStream
	ctx    context.Context
	gone   chan struct{}
	shim   *Shim
	ch     chan *shimv1.ContainerState
	lagged chan struct{} // closed when the stream fell behind
}

func (e *events) Recv() (*shimv1.ContainerState, error) {
	select {
	case st := <-e.ch:
		return st, nil
	case <-e.ctx.Done():
		e.shim.mu.Lock()
		delete(e.shim.subs, e)
		e.shim.mu.Unlock()
		return nil, e.ctx.Err()
	case <-e.gone:
		return nil, errors.New("fake shim is gone")
	case <-e.lagged:
		return nil, status.Error(codes.ResourceExhausted, "fake shim events: the subscriber fell behind")
	}
}
