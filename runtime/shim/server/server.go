package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/podd-dev/podd/internal/version"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/shim/server/internal/holder"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// service implements the Shim service for one pod; ttrpcService serves it.
type service struct {
	podUID       string
	stateDir     string
	cgroupParent string
	logRotation  crilog.Rotation
	log          *slog.Logger
	rt           *libct.Runtime
	// minOOMScoreAdj is the lowest oom_score_adj the shim can give.
	minOOMScoreAdj int
	reaper         *reaper
	events         *broker
	execStarts     startLimit
	started        time.Time
	// trim returns memory to the OS after bursts of work.
	trim *memTrim
	// pins are the pod's UTS and IPC namespaces made at launch, which the
	// holder joins; nil is none.
	pins *holder.Pins

	mu           sync.Mutex
	containers   map[string]*container
	shuttingDown bool
	forced       bool
	// done is closed when the shim has torn everything down and may exit.
	done chan struct{}
}

// newService returns the service for the pod in opts.
func newService(opts Options, log *slog.Logger, minOOMScoreAdj int) (*service, error) {
	rt, err := libct.NewRuntime(shimdir.RuncDir(opts.StateDir), minOOMScoreAdj)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(shimdir.ExitsDir(opts.StateDir), 0o700); err != nil {
		return nil, fmt.Errorf("create exits dir: %w", err)
	}
	return &service{
		podUID:         opts.PodUID,
		stateDir:       opts.StateDir,
		cgroupParent:   opts.CgroupParent,
		logRotation:    opts.LogRotation,
		log:            log,
		rt:             rt,
		minOOMScoreAdj: minOOMScoreAdj,
		reaper:         newReaper(log),
		events:         newBroker(),
		execStarts:     newStartLimit(maxExecStarts),
		started:        time.Now(),
		trim:           newMemTrim(),
		containers:     map[string]*container{},
		done:           make(chan struct{}),
	}, nil
}

func (s *service) lookup(id string) *container {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.containers[id]
}

// Info reports the shim's identity.
func (s *service) Info(context.Context, *shimv1.InfoRequest) (*shimv1.InfoResponse, error) {
	return &shimv1.InfoResponse{
		PodUid:           s.podUID,
		Pid:              int32(os.Getpid()),
		Version:          version.Version,
		StartedUnixNano:  s.started.UnixNano(),
		Hold:             true,
		TtrpcStreams:     true,
		PinnedNamespaces: s.pins.Types(),
	}, nil
}

// CreateContainer creates and starts a container and returns once its
// process runs or its failure is recorded.
func (s *service) CreateContainer(_ context.Context, req *shimv1.CreateContainerRequest) (*shimv1.CreateContainerResponse, error) {
	cfg := req.GetConfig()
	if cfg.GetId() == "" {
		return nil, status.Error(codes.InvalidArgument, "create container: config.id is empty")
	}
	if req.GetHold() && cfg.GetHolder() {
		return nil, status.Errorf(codes.InvalidArgument, "create container %q: the namespace holder cannot be held", cfg.GetId())
	}
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		return nil, status.Errorf(codes.FailedPrecondition, "create container %q: shim is shutting down", cfg.GetId())
	}
	if _, ok := s.containers[cfg.GetId()]; ok {
		s.mu.Unlock()
		return nil, status.Errorf(codes.AlreadyExists, "container %q exists", cfg.GetId())
	}
	c := newContainer(cfg, time.Now())
	if cfg.GetHolder() && s.pins != nil {
		// From now on a container joining the holder's namespaces of these
		// types joins the pins, whether the holder runs yet or not.
		c.pinsJoined = holder.PinsJoined(cfg)
	}
	s.containers[c.id] = c
	s.mu.Unlock()

	if cfg.GetHolder() && s.rt != nil {
		// A pod's containers are created beside its pause or after it:
		// their first create child starts beside the pause (a spare's
		// started before its pod).
		go s.rt.PrepareCreate()
	}
	start := s.runContainer
	if req.GetHold() {
		start = s.holdContainer
	}
	running, err := start(c)
	if err != nil {
		var se *startError
		if errors.As(err, &se) && se.reason == shimdir.ReasonCannotRun {
			return nil, status.Errorf(codes.FailedPrecondition, "create container %q: %v", c.id, err)
		}
		return nil, status.Errorf(codes.Unknown, "create container %q: %v", c.id, err)
	}
	return &shimv1.CreateContainerResponse{State: running, Phases: c.startPhases}, nil
}

// Signal signals a running container; a stopped one is left alone.
func (s *service) Signal(_ context.Context, req *shimv1.SignalRequest) (*shimv1.SignalResponse, error) {
	c := s.lookup(req.GetId())
	if c == nil {
		return nil, status.Errorf(codes.NotFound, "signal container %q: no such container", req.GetId())
	}
	sig := unix.Signal(req.GetSignal())
	if sig <= 0 || sig > 64 {
		return nil, status.Errorf(codes.InvalidArgument, "signal container %q: bad signal %d", req.GetId(), req.GetSignal())
	}
	c.mu.Lock()
	st, t := c.st, c.task
	c.mu.Unlock()
	switch st.(type) {
	case stoppedState, removedState:
		return &shimv1.SignalResponse{}, nil
	case createdState, releasingState:
		return nil, status.Errorf(codes.FailedPrecondition, "signal container %q: not started", req.GetId())
	case heldState:
		// Its program never ran: any signal ends it.
		s.killHeld(c, false)
		return &shimv1.SignalResponse{}, nil
	}
	if err := t.Signal(sig, req.GetAll()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &shimv1.SignalResponse{}, nil
}

// State lists every container.
func (s *service) State(context.Context, *shimv1.StateRequest) (*shimv1.StateResponse, error) {
	s.mu.Lock()
	list := make([]*container, 0, len(s.containers))
	for _, c := range s.containers {
		list = append(list, c)
	}
	s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	resp := &shimv1.StateResponse{}
	for _, c := range list {
		resp.Containers = append(resp.Containers, c.snapshot())
	}
	return resp, nil
}

// eventsServer is the shim's side of an Events stream.
type eventsServer interface {
	Context() context.Context
	Send(*shimv1.ContainerState) error
}

// Events streams state changes until the client goes, the shim shuts down
// or the client falls too far behind (then it should resync with State).
func (s *service) Events(_ *shimv1.EventsRequest, stream eventsServer) error {
	ch, cancel := s.events.subscribe()
	defer cancel()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case st, ok := <-ch:
			if !ok {
				if s.isShuttingDown() {
					return nil
				}
				return status.Error(codes.ResourceExhausted, "events: subscriber fell behind; resync with State")
			}
			if err := stream.Send(st); err != nil {
				return err
			}
		}
	}
}

// Update sets a created or running container's CPU and memory limits.
func (s *service) Update(_ context.Context, req *shimv1.UpdateRequest) (*shimv1.UpdateResponse, error) {
	c := s.lookup(req.GetId())
	if c == nil {
		return nil, status.Errorf(codes.NotFound, "update container %q: no such container", req.GetId())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.st.(type) {
	case stoppedState, removedState:
		return nil, status.Errorf(codes.FailedPrecondition, "update container %q: it is %s", c.id, c.st.name())
	}
	if c.cfg.GetHolder() {
		return nil, status.Errorf(codes.FailedPrecondition, "update container %q: it is the namespace holder", c.id)
	}
	lc, ok := c.libcontainer()
	if !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "update container %q: it is not created yet", c.id)
	}
	if err := lc.Update(req.GetResources()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &shimv1.UpdateResponse{}, nil
}

// ReopenLog reopens a running container's log file.
func (s *service) ReopenLog(_ context.Context, req *shimv1.ReopenLogRequest) (*shimv1.ReopenLogResponse, error) {
	c := s.lookup(req.GetId())
	if c == nil {
		return nil, status.Errorf(codes.NotFound, "reopen the log of container %q: no such container", req.GetId())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, running := c.st.(runningState); !running {
		return nil, status.Errorf(codes.FailedPrecondition, "reopen the log of container %q: it is %s, not running", c.id, c.st.name())
	}
	if c.out == nil || c.out.file == nil {
		return &shimv1.ReopenLogResponse{}, nil
	}
	if err := c.out.file.Reopen(); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &shimv1.ReopenLogResponse{}, nil
}

// Remove forgets a stopped container and deletes its exit record.
func (s *service) Remove(ctx context.Context, req *shimv1.RemoveRequest) (*shimv1.RemoveResponse, error) {
	c := s.lookup(req.GetId())
	if c == nil {
		return &shimv1.RemoveResponse{}, nil
	}
	if err := s.removeHeld(ctx, c); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.st.(type) {
	case removedState:
		return &shimv1.RemoveResponse{}, nil
	case stoppedState:
	default:
		return nil, status.Errorf(codes.FailedPrecondition, "remove container %q: it is %s", c.id, c.st.name())
	}
	if c.task != nil {
		if err := c.task.Destroy(); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	if err := os.Remove(shimdir.ExitRecordPath(s.stateDir, c.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.Internal, "remove exit record of %q: %v", c.id, err)
	}
	next, err := c.st.remove()
	if err != nil {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	c.st = next
	s.mu.Lock()
	delete(s.containers, c.id)
	s.mu.Unlock()
	return &shimv1.RemoveResponse{}, nil
}

func (s *service) isShuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shuttingDown
}
