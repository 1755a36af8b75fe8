package sandbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/network"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/spec"
)

// Deps are the host services and settings every sandbox is made with.
type Deps struct {
	Network Network
	// Shims is the host's when nil.
	Shims Shims
	// ShimBinary and PauseBinary are the helper executables.
	ShimBinary   string
	PauseBinary  string
	ShimLogLevel string
	// LogRotation bounds each container's log.
	LogRotation crilog.Rotation
	// PodPidsLimit is the pids limit of each pod cgroup; -1 is no limit.
	PodPidsLimit int64
	// Security holds the host's capability bounding set and seccomp
	// settings, for the sandboxes' containers.
	Security spec.HostSecurity
	// NodeIP is the host's address: a hostNetwork sandbox's.
	NodeIP string
}

// Service makes and releases sandbox instances on the host. It keeps no
// state: callers record what Create returns.
type Service struct{ deps Deps }

// New returns the service over deps.
func New(deps Deps) *Service {
	if deps.Shims == nil {
		deps.Shims = hostShims{}
	}
	return &Service{deps: deps}
}

// Shims is the service's shim seam, for callers that find or kill a shim
// outside a creation or teardown (restore, abandoned creations).
func (s *Service) Shims() Shims { return s.deps.Shims }

// Paths are where one sandbox's host state lives (daemon/store.Layout
// names them).
type Paths struct {
	// ShimDir is the shim's run directory (socket, libcontainer state).
	ShimDir string
	// PodCgroup holds the pause and the containers; ShimCgroup the shim.
	PodCgroup, ShimCgroup string
	// PauseLog is the pause holder's output.
	PauseLog string
}

// Phase is how long one named part of a step took.
type Phase struct {
	Name string
	Took time.Duration
}

// Request is one sandbox instance to make.
type Request struct {
	// ID is fresh per instance: the netns pin name and the CNI container ID.
	ID string
	// Owner names the sandbox's owner in undo steps and errors ("pod
	// default/web").
	Owner string
	// Pod gives the pause holder its namespaces (hostNetwork, hostPID,
	// hostIPC, shareProcessNamespace), hostname, sysctls and labels.
	Pod          *corev1.Pod
	PortMappings []network.PortMapping
	Paths        Paths
	// PauseOOMScoreAdj is asked for the pause; the shim clamps it to its
	// own score, as containerd's restrict_oom_score_adj does, since this
	// kind of host refuses to lower it.
	PauseOOMScoreAdj int32
	// WriteFiles writes the pod's files once its address is known (the
	// pause may be starting meanwhile); nil writes none.
	WriteFiles func(*Instance) error
	// Mark records the end of each step (network, pod_files, then shim and
	// pause: how long each outlasted the steps before it) with its parts;
	// nil records nothing.
	Mark func(step string, at time.Time, parts []Phase)
	// UserNS, when set, gives the sandbox its own user namespace with
	// these mappings (see createInUserNamespace).
	UserNS *idmap.Mappings
	// Prestart, when set, runs once the netns is pinned (netnsPath; no
	// address yet) and, unless its containers join the pause only in
	// namespaces the shim pinned (spec.JoinsOnlyPinned), once the pause
	// runs; beside CNI ADD and the pod files (and the pause's start): it
	// may create containers held before their program
	// (CreateContainerRequest.hold), to release only after Create
	// returned. Create waits for it; what it made that Create's failure
	// leaves behind (a rootfs) is its caller's to undo, the processes
	// go with the shim's stop. Not called for a sandbox in its own user
	// namespace.
	Prestart func(ctx context.Context, cl ShimClient, netnsPath string)
	// Side, when set, takes the timed steps of the shim's side (its
	// launch, the wait for the netns, the pause, Prestart), which ran
	// beside the network.
	Side func(parts []Phase)
}

// Instance is a sandbox instance as made.
type Instance struct {
	ID        string
	NetnsPath string
	// IP is the first of IPs ("" before the network is set up).
	IP  string
	IPs []string
	// pausePid is the pause's pid in the shim's view once it runs.
	pausePid int
}

// Create makes a sandbox: pin netns + CNI ADD, and meanwhile the shim and,
// once the netns is pinned, the pause in it (neither needs the network's
// result); then the pod files, which need the address. Each step registers
// its undo as soon as what it made exists; on a failure (or a panic)
// everything made is undone, newest first, and the error names the step
// and every undo that failed. The returned shim runs the pause.
func (s *Service) Create(ctx context.Context, req Request) (_ *Instance, _ ShimClient, err error) {
	if req.UserNS != nil {
		return s.createInUserNamespace(ctx, req)
	}
	var rollback undo.Stack
	defer rollback.OnFailure(ctx, &err)
	mark := req.Mark
	if mark == nil {
		mark = func(string, time.Time, []Phase) {}
	}
	inst := &Instance{ID: req.ID}
	// The shim starts, and then the pause, while CNI ADD runs: both mostly
	// wait on processes they exec. pinned hands the launch the netns.
	pinned := make(chan string, 1)
	if req.Pod.Spec.HostNetwork {
		pinned <- ""
	}
	launchCtx, cancelLaunch := context.WithCancel(ctx)
	defer cancelLaunch()
	launched := make(chan launchResult, 1)
	go func() { launched <- s.launchWithPause(launchCtx, req, pinned) }()
	consumed := false
	defer func() {
		// A panic in the network step or the pod files: the shim the
		// launch may still make is undone with the rest (this runs before
		// the rollback).
		if !consumed {
			cancelLaunch()
			if l := <-launched; l.cl != nil {
				s.pushShimStop(&rollback, req, l.cl)
			}
		}
	}()
	parts, netErr := s.setupNetwork(ctx, req, inst, "", &rollback, func(path string) { pinned <- path })
	var filesErr error
	if netErr != nil {
		cancelLaunch()
	} else {
		mark("network", time.Now(), parts)
		if req.WriteFiles != nil {
			if filesErr = req.WriteFiles(inst); filesErr != nil {
				cancelLaunch()
			} else {
				mark("pod_files", time.Now(), nil)
			}
		}
	}
	// Where this side's own steps ended: the other side's steps are marked
	// from here, each for as long as it outlasted the ones before.
	ownDone := time.Now()
	launch := <-launched
	consumed = true
	if launch.cl != nil {
		s.pushShimStop(&rollback, req, launch.cl)
	}
	if launch.panicked != nil {
		panic(launch.panicked) // undone like a panic of this goroutine
	}
	switch {
	case netErr != nil:
		return nil, nil, netErr
	case launch.err != nil:
		return nil, nil, launch.err
	case filesErr != nil:
		return nil, nil, filesErr
	case launch.pauseErr != nil:
		return nil, nil, launch.pauseErr
	}
	// "shim", "pause" and "prestart" are how long each outlasted the steps
	// before (the network and the pod files ran beside them).
	last := ownDone
	for _, at := range []*time.Time{&launch.launched, &launch.paused, &launch.prestarted} {
		*at = later(*at, last)
		last = *at
	}
	mark("shim", launch.launched, nil)
	mark("pause", launch.paused, launch.pauseParts)
	if req.Prestart != nil {
		mark("prestart", launch.prestarted, nil)
	}
	if req.Side != nil {
		req.Side(launch.side)
	}
	inst.pausePid = launch.pausePid
	rollback.Release()
	return inst, launch.cl, nil
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// setupNetwork pins the sandbox's netns (a new one, or the one at from)
// and runs CNI ADD in it (hostNetwork: the node's address), filling in
// inst's addresses. pinned, when set, gets the netns's path before CNI ADD.
func (s *Service) setupNetwork(ctx context.Context, req Request, inst *Instance, from string, rollback *undo.Stack, pinned func(string)) ([]Phase, error) {
	if req.Pod.Spec.HostNetwork {
		inst.IP = s.deps.NodeIP
		inst.IPs = []string{inst.IP}
		return nil, nil
	}
	id := req.ID
	att, err := s.deps.Network.Setup(ctx, network.SetupRequest{
		PodUID: string(req.Pod.UID), Namespace: req.Pod.Namespace, Name: req.Pod.Name, SandboxID: id,
		PortMappings: req.PortMappings, NetnsFrom: from, Pinned: pinned,
	})
	if err != nil {
		return nil, fmt.Errorf("set up pod network: %w", err)
	}
	rollback.Push("tear down the network of sandbox "+id, func(ctx context.Context) error {
		return s.deps.Network.Teardown(ctx, id)
	})
	inst.NetnsPath = att.NetnsPath
	for _, ip := range att.IPs {
		inst.IPs = append(inst.IPs, ip.String())
	}
	if len(inst.IPs) > 0 {
		inst.IP = inst.IPs[0]
	}
	return []Phase{{"netns", att.NetnsTook}, {"cni_add", att.CNIAddTook}}, nil
}

// launchResult is what launching a shim gave: the running shim, or why
// not (an error, or the value of a panic, re-raised by Create).
type launchResult struct {
	cl       ShimClient
	err      error
	panicked any
	// launched is when the shim answered; the rest is the pause's, started
	// by launchWithPause: when it ran, its pid and phases, or why not.
	launched   time.Time
	paused     time.Time
	pausePid   int
	pauseParts []Phase
	pauseErr   error
	// prestarted is when req.Prestart returned; side times the steps.
	prestarted time.Time
	side       []Phase
}

// launchWithPause launches the shim and, once the netns is pinned (its path
// comes on pinned; "" for the host's network), starts the pause in it. A
// cancelled ctx (the network or the pod files failed) stops it waiting; a
// pause started meanwhile goes with the shim's undo.
func (s *Service) launchWithPause(ctx context.Context, req Request, pinned <-chan string) (res launchResult) {
	defer func() {
		// A panic here is the caller's (Create re-raises it); the shim
		// already launched stays in res, to be undone with the rest.
		if r := recover(); r != nil {
			res.panicked = r
		}
	}()
	began := time.Now()
	if res.cl, res.err = s.launchShim(ctx, req); res.err != nil {
		return res
	}
	res.launched = time.Now()
	res.side = append(res.side, Phase{"par_shim", res.launched.Sub(began)})
	select {
	case path := <-pinned:
		waited := time.Now()
		// Containers that join the pause only in namespaces the shim
		// pinned are made beside the pause, not after it.
		var beside chan struct{}
		var besidePanic any
		if req.Prestart != nil && spec.JoinsOnlyPinned(spec.SandboxFor(req.Pod, path), res.cl.PinnedNamespaces()) {
			beside = make(chan struct{})
			go func() {
				defer close(beside)
				// Re-raised below, where the launch's own recovery makes
				// it Create's.
				defer func() { besidePanic = recover() }()
				req.Prestart(ctx, res.cl, path)
			}()
		}
		res.pausePid, res.pauseParts, res.pauseErr = s.startPause(ctx, res.cl, req, path)
		res.paused = time.Now()
		res.side = append(res.side, Phase{"par_netns_wait", waited.Sub(res.launched)}, Phase{"par_pause", res.paused.Sub(waited)})
		switch {
		case beside != nil:
			if <-beside; besidePanic != nil {
				panic(besidePanic)
			}
		case res.pauseErr == nil && req.Prestart != nil:
			req.Prestart(ctx, res.cl, path)
		}
		if req.Prestart != nil {
			res.prestarted = time.Now()
			res.side = append(res.side, Phase{"par_prestart", max(res.prestarted.Sub(res.paused), 0)})
		}
	case <-ctx.Done():
		res.pauseErr = fmt.Errorf("start pause: %w", ctx.Err())
	}
	return res
}

// launchShim starts the pod's shim in its own cgroup.
func (s *Service) launchShim(ctx context.Context, req Request) (ShimClient, error) {
	p := req.Paths
	cl, err := s.deps.Shims.Launch(ctx, shim.LaunchConfig{
		ShimBinary: s.deps.ShimBinary, PodUID: string(req.Pod.UID), StateDir: p.ShimDir,
		CgroupParent: p.PodCgroup, LogLevel: s.deps.ShimLogLevel, ShimCgroup: p.ShimCgroup,
		LogRotation: s.deps.LogRotation, PodPidsLimit: s.deps.PodPidsLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("start shim: %w", err)
	}
	return cl, nil
}

// pushShimStop registers the undo of a launched shim.
func (s *Service) pushShimStop(rollback *undo.Stack, req Request, cl ShimClient) {
	p := req.Paths
	rollback.Push("stop the shim of "+req.Owner, func(ctx context.Context) error {
		defer cl.Close()
		if err := cl.Stop(ctx, true); err != nil {
			// A shim that does not answer must not outlive its sandbox.
			return errors.Join(err, s.KillShim(p))
		}
		return s.deps.Shims.RemoveCgroup(p.ShimCgroup)
	})
}

// startPause runs the pod's namespace holder in the shim, in the netns at
// netnsPath ("": its own or the host's, as the pod says); it must be running
// once the call returns. It returns the pause's pid and the shim's phases.
func (s *Service) startPause(ctx context.Context, cl ShimClient, req Request, netnsPath string) (int, []Phase, error) {
	p := req.Paths
	cfg, err := spec.PauseConfig(spec.PauseInput{
		Pod: req.Pod, Binary: s.deps.PauseBinary,
		NetnsPath: netnsPath, CgroupParent: p.PodCgroup, LogPath: p.PauseLog,
		UserNS: req.UserNS,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("start pause: %w", err)
	}
	cfg.OomScoreAdj = req.PauseOOMScoreAdj
	resp, err := cl.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: cfg})
	if err != nil {
		return 0, nil, fmt.Errorf("start pause: %w", err)
	}
	if st := resp.GetState(); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		return 0, nil, fmt.Errorf("start pause: %s %s", st.GetReason(), st.GetMessage())
	}
	var parts []Phase
	for _, ph := range resp.GetPhases() {
		parts = append(parts, Phase{Name: "pause_" + ph.GetName(), Took: time.Duration(ph.GetNanos())})
	}
	return int(resp.GetState().GetPid()), parts, nil
}

// Teardown is what Release needs of a sandbox instance.
type Teardown struct {
	// ID is the instance's; "" when it never got that far.
	ID          string
	HostNetwork bool
	Paths       Paths
	// Shim is the instance's shim when the caller holds it; Release
	// connects to it otherwise.
	Shim ShimClient
	// Mark, when set, records the end of each step (shim, network).
	Mark func(step string, at time.Time)
}

// Release releases everything of a sandbox instance in the design's order:
// shim (with the pause and any container left) → CNI DEL → unpin. Each step
// treats "already gone" as done, so Release may be repeated after a crash.
func (s *Service) Release(ctx context.Context, td Teardown) error {
	var errs []error
	mark := func(step string) {
		if td.Mark != nil {
			td.Mark(step, time.Now())
		}
	}
	cl := td.Shim
	if cl == nil {
		cl, _ = s.deps.Shims.Connect(ctx, td.Paths.ShimDir)
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
		if err := s.KillShim(td.Paths); err != nil {
			errs = append(errs, fmt.Errorf("kill shim: %w", err))
		}
	} else if err := s.deps.Shims.RemoveCgroup(td.Paths.ShimCgroup); err != nil {
		errs = append(errs, fmt.Errorf("remove shim cgroup: %w", err))
	}
	mark("shim")
	if td.ID != "" && !td.HostNetwork {
		if err := s.deps.Network.Teardown(ctx, td.ID); err != nil {
			errs = append(errs, fmt.Errorf("tear down pod network: %w", err))
		}
	}
	mark("network")
	return errors.Join(errs...)
}

// KillShim kills a sandbox's shim, everything in its pod cgroup and the
// shim's own cgroup, and removes both cgroups.
func (s *Service) KillShim(p Paths) error {
	return errors.Join(s.deps.Shims.Kill(p.ShimDir, p.PodCgroup), s.deps.Shims.Kill(p.ShimDir, p.ShimCgroup))
}
