package shim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// SpareRefillDelay is how long after the last launch the next spare
// starts. Its exec and Go start take a core for some 10 ms: right after a
// launch they took CPU from the rest of that pod's start (CNI ADD beside
// it, the pause, the containers) on a 2-core host, and in a burst of pods
// from the other pods' starts. A burst's pods exec their shims, as before
// spares.
const SpareRefillDelay = 250 * time.Millisecond

// Spares keeps one spare podd-shim of one binary ready for the next
// Launch, and starts the next spare in the background when it is taken.
// A launch with no spare ready execs its shim as Launch does. The zero
// value is not usable; Close kills the idle spare.
type Spares struct {
	binary string
	// cgroup, when set, is where spares wait (beside the shims' cgroups):
	// a bound spare's is renamed to its shim cgroup (MoveCgroup).
	cgroup string
	log    *slog.Logger

	mu      sync.Mutex
	idle    *spare
	filling bool
	// moving counts the launches moving the spare they took out of
	// cgroup: no spare starts meanwhile. The move renames cgroup to the
	// pod's shim cgroup, and a spare joining it then went along.
	moving int
	// refill starts the next spare SpareRefillDelay after the last
	// launch.
	refill *time.Timer
	// off is set once a spare exited before it waited for its
	// arguments: the binary has no spare mode (a podd-shim from before
	// spares) or cannot start; launches exec from then on.
	off    bool
	closed bool
	fills  sync.WaitGroup
	// beforeMove, when set, is called when a launch has taken its spare,
	// before the spare's move (for tests).
	beforeMove func()
}

// NewSpares returns the spares of shim binary, which wait in cgroup (""
// leaves them in the caller's), and starts the first one in the
// background.
func NewSpares(binary, cgroup string) *Spares {
	s := &Spares{binary: binary, cgroup: cgroup, log: slog.Default().With("shimBinary", binary)}
	s.mu.Lock()
	s.fillLocked()
	s.mu.Unlock()
	return s
}

// Launch starts the shim of cfg, through the idle spare when there is a
// fit one, as Launch does otherwise.
func (s *Spares) Launch(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	defer s.fillLater()
	sp := s.take(cfg)
	if sp == nil {
		return Launch(ctx, cfg)
	}
	defer s.endMove()
	if s.beforeMove != nil {
		s.beforeMove()
	}
	c, err := sp.bind(ctx, cfg)
	if errors.Is(err, errSpareUnbound) {
		// The spare died (killed while idle, or at the moment it was
		// taken) before it read a thing: it did nothing for the pod.
		s.log.Warn("Spare shim died before it was bound; starting one", "pod", cfg.PodUID, "err", err)
		return Launch(ctx, cfg)
	}
	return c, err
}

// take returns the idle spare if it can be cfg's shim, else nil; a spare
// returned counts as moving until its launch ends.
func (s *Spares) take(cfg LaunchConfig) *spare {
	s.mu.Lock()
	if s.closed || s.off || cfg.ShimBinary != s.binary {
		s.mu.Unlock()
		return nil
	}
	sp := s.idle
	if sp == nil || !sp.fits(cfg) {
		// One that does not fit waits for the next pod.
		s.mu.Unlock()
		return nil
	}
	s.idle = nil
	s.moving++
	s.mu.Unlock()
	close(sp.taken)
	if sp.gone() || !sp.sameBinary() {
		// A spare of a binary since replaced (an upgrade) never runs a
		// pod: a pod gets the binary on disk, as with an exec.
		sp.drop()
		s.endMove()
		return nil
	}
	return sp
}

// endMove ends what take counted as moving.
func (s *Spares) endMove() {
	s.mu.Lock()
	s.moving--
	s.mu.Unlock()
}

// fillLater starts a spare in the background SpareRefillDelay from now,
// unless a launch comes first or one is idle or on its way by then.
func (s *Spares) fillLater() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.off {
		return
	}
	if s.refill == nil {
		s.refill = time.AfterFunc(SpareRefillDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.fillLocked()
		})
		return
	}
	s.refill.Reset(SpareRefillDelay)
}

// fillLocked starts a spare in the background unless one is idle or on
// its way. s.mu is held.
func (s *Spares) fillLocked() {
	if s.closed || s.off || s.filling || s.idle != nil || s.moving > 0 {
		// A launch that ends a move calls fillLater.
		return
	}
	s.filling = true
	s.fills.Add(1)
	go func() {
		defer s.fills.Done()
		sp, err := startSpare(s.binary, s.cgroup)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.filling = false
		if err != nil {
			s.off = true
			s.log.Warn("Cannot start a spare shim; pods' shims are started when needed", "err", err)
			return
		}
		if s.closed {
			sp.drop()
			return
		}
		s.idle = sp
		go s.watch(sp)
	}()
}

// watch forgets sp when it dies idle, and turns spares off when it
// exits by itself before it waited for its arguments (a binary without
// spares fails on the flag). It returns once sp is taken.
func (s *Spares) watch(sp *spare) {
	select {
	case <-sp.taken:
		return
	case <-sp.exited:
	}
	<-sp.statusDone
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle == sp {
		s.idle = nil
	}
	if !sp.seen(sp.waiting) && !sp.killed.Load() && sp.cmd.ProcessState.Exited() {
		s.off = true
		s.log.Warn("Spare shim exited before it was ready; pods' shims are started when needed", "err", sp.waitErr)
	}
}

// Close kills the idle spare and waits for one being started; later
// launches exec their shims. Shims already bound run on.
func (s *Spares) Close() {
	s.mu.Lock()
	s.closed = true
	if s.refill != nil {
		s.refill.Stop()
	}
	sp := s.idle
	s.idle = nil
	s.mu.Unlock()
	if sp != nil {
		sp.drop()
	}
	s.fills.Wait()
	if s.cgroup != "" {
		if err := shimdir.RemoveCgroup(s.cgroup); err != nil {
			s.log.Warn("Cannot remove the spare shims' cgroup", "cgroup", s.cgroup, "err", err)
		}
	}
}

// idlePid is the pid of the idle spare once it waits for its arguments,
// 0 if there is none (for tests).
func (s *Spares) idlePid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle == nil || !s.idle.seen(s.idle.waiting) || s.idle.gone() {
		return 0
	}
	return s.idle.cmd.Process.Pid
}

// spare is one started spare shim.
type spare struct {
	cmd *exec.Cmd
	// args is the pipe its arguments go down; bin what its binary was;
	// cgroup where it waits ("": where the daemon runs).
	args   *os.File
	bin    os.FileInfo
	cgroup string
	// waiting, bound and serving are closed when the spare says so on
	// its status pipe; statusDone when the pipe is closed.
	waiting, bound, serving, statusDone chan struct{}
	exited                              chan struct{}
	waitErr                             error
	// taken is closed when a launch takes it; killed is set when the
	// daemon kills it.
	taken  chan struct{}
	killed atomic.Bool
}

// startSpare starts a spare of binary in cgroup.
func startSpare(binary, cgroup string) (*spare, error) {
	bin, err := os.Stat(binary)
	if err != nil {
		return nil, fmt.Errorf("start spare shim: %w", err)
	}
	argsR, argsW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start spare shim: %w", err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		argsR.Close()
		argsW.Close()
		return nil, fmt.Errorf("start spare shim: %w", err)
	}
	cmd := shimCommand(binary, shimdir.SpareArg, strings.Repeat(" ", shimdir.SpareRoom))
	cmd.Stdin = argsR
	cmd.ExtraFiles = []*os.File{statusW} // SpareStatusFd
	err = cmd.Start()
	argsR.Close()
	statusW.Close()
	if err != nil {
		argsW.Close()
		statusR.Close()
		return nil, fmt.Errorf("start spare shim: %w", err)
	}
	sp := &spare{
		cmd: cmd, args: argsW, bin: bin, cgroup: cgroup,
		waiting: make(chan struct{}), bound: make(chan struct{}), serving: make(chan struct{}),
		statusDone: make(chan struct{}), exited: make(chan struct{}), taken: make(chan struct{}),
	}
	go func() {
		sp.waitErr = waitCmd(cmd)
		close(sp.exited)
	}()
	go sp.readStatus(statusR)
	if cgroup != "" {
		if err := shimdir.JoinCgroup(cmd.Process.Pid, cgroup); err != nil {
			sp.drop()
			return nil, fmt.Errorf("start spare shim: %w", err)
		}
	}
	// Far below a pipe's buffer: the write never waits. EPIPE: it died
	// already, which its watch sees.
	_, _ = argsW.Write([]byte{shimdir.SparePlaced})
	return sp, nil
}

// readStatus follows the spare's status pipe until it is closed.
func (sp *spare) readStatus(r *os.File) {
	defer close(sp.statusDone)
	defer r.Close()
	steps := map[byte]chan struct{}{shimdir.SpareWaiting: sp.waiting, shimdir.SpareBound: sp.bound, shimdir.SpareServing: sp.serving}
	var b [1]byte
	for {
		if _, err := r.Read(b[:]); err != nil {
			return
		}
		if ch, ok := steps[b[0]]; ok && !sp.seen(ch) {
			close(ch)
		}
	}
}

func (sp *spare) seen(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (sp *spare) gone() bool { return sp.seen(sp.exited) }

// fits reports whether cfg's command line fits in the spare's room.
func (sp *spare) fits(cfg LaunchConfig) bool {
	n := 0
	for _, a := range shimArgs(cfg) {
		n += len(a) + 1
	}
	// The room's own terminating NUL stays: the kernel then shows
	// exactly the arguments, NUL padded.
	return n <= len(shimdir.SpareArg)+1+shimdir.SpareRoom
}

// sameBinary reports whether the spare's binary is still the one on disk.
func (sp *spare) sameBinary() bool {
	now, err := os.Stat(sp.cmd.Path)
	return err == nil && os.SameFile(now, sp.bin) && now.ModTime().Equal(sp.bin.ModTime()) && now.Size() == sp.bin.Size()
}

// drop kills the spare and reaps it.
func (sp *spare) drop() {
	sp.args.Close()
	sp.kill()
}

// kill kills the spare and waits until it is reaped and its status pipe
// is read to the end.
func (sp *spare) kill() {
	sp.killed.Store(true)
	_ = sp.cmd.Process.Kill()
	<-sp.exited
	<-sp.statusDone
}

// moveTo moves the spare into cgroup, from the one it waits in.
func (sp *spare) moveTo(cgroup string) error {
	if sp.cgroup == "" {
		return shimdir.JoinCgroup(sp.cmd.Process.Pid, cgroup)
	}
	return shimdir.MoveCgroup(sp.cmd.Process.Pid, sp.cgroup, cgroup)
}

// errSpareUnbound is a spare that died before it read its arguments.
var errSpareUnbound = errors.New("spare shim exited before it was bound")

// bind makes the spare cfg's shim and returns once it serves.
func (sp *spare) bind(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	if err := prepareLaunch(cfg); err != nil {
		sp.drop()
		return nil, err
	}
	args, err := json.Marshal(shimArgs(cfg))
	if err != nil {
		sp.drop()
		return nil, fmt.Errorf("launch shim for pod %s: %w", cfg.PodUID, err)
	}
	// The move into the shim cgroup runs while the spare sets up, as an
	// exec'd shim is moved while it starts: it waits for a grace period
	// of the kernel's (each cgroup v2 hierarchy, and v1 where renaming is
	// not possible), a few ms on a busy host. The shim starts no
	// container before Launch returns, after the move.
	moved := make(chan error, 1)
	if cfg.ShimCgroup == "" {
		moved <- nil
	} else {
		go func() { moved <- sp.moveTo(cfg.ShimCgroup) }()
	}
	// Far below a pipe's buffer: the write never waits for the spare.
	_, werr := sp.args.Write(args)
	if cerr := sp.args.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		// EPIPE: it died idle.
		<-moved
		sp.kill()
		return nil, fmt.Errorf("%w: %w", errSpareUnbound, werr)
	}
	ctx, cancel := withStartTimeout(ctx)
	defer cancel()
	c, err := sp.awaitServing(ctx, cfg)
	if merr := <-moved; merr != nil {
		if c != nil {
			c.Close()
		}
		sp.kill()
		if !sp.seen(sp.bound) {
			// ESRCH: it died idle, the arguments in the pipe's buffer.
			return nil, fmt.Errorf("%w: %w", errSpareUnbound, merr)
		}
		shimdir.RemoveCgroup(cfg.ShimCgroup)
		return nil, fmt.Errorf("launch shim for pod %s: %w", cfg.PodUID, merr)
	}
	if err != nil {
		if !errors.Is(err, errSpareUnbound) {
			err = fmt.Errorf("launch shim for pod %s: %w%s", cfg.PodUID, err, logTail(cfg.StateDir))
		}
		return nil, err
	}
	c.exited = sp.exited
	return c, nil
}

// awaitServing waits for the bound spare to serve and connects to it. On
// failure the spare is killed and reaped.
func (sp *spare) awaitServing(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	select {
	case <-sp.serving:
	case <-sp.statusDone:
		// Closed without serving: it exited (or is about to).
	case <-ctx.Done():
	}
	if sp.seen(sp.serving) {
		c, err := waitReady(ctx, cfg.StateDir, sp.exited)
		if err == nil {
			return c, nil
		}
		sp.kill()
		return nil, err
	}
	sp.kill()
	if !sp.seen(sp.bound) {
		return nil, fmt.Errorf("%w (%v)", errSpareUnbound, sp.waitErr)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("shim not ready: %w", ctx.Err())
	}
	err := errors.New("shim exited before it served its socket")
	if sp.waitErr != nil {
		err = fmt.Errorf("%w (shim %v)", err, sp.waitErr)
	}
	return nil, err
}
