package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/podd-dev/podd/internal/procstat"
	"github.com/podd-dev/podd/internal/procwait"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/proto/shim/v1/shimgrpc"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// DefaultStartTimeout bounds how long Launch waits for a new shim to answer
// when ctx has no deadline. Generous: on a small host busy with a burst of
// pods a shim can take many seconds to be scheduled and serve, and a missed
// start is a failed sandbox, retried with back-off.
const DefaultStartTimeout = 30 * time.Second

// LaunchConfig says which shim to start for which pod.
type LaunchConfig struct {
	// ShimBinary is the podd-shim executable.
	ShimBinary string
	PodUID     string
	// StateDir is the pod's run directory, <run-root>/pods/<uid>.
	StateDir string
	// CgroupParent is the pod cgroup, e.g. /podd/pod<uid>.
	CgroupParent string
	// LogLevel is debug, info, warn or error; empty means info.
	LogLevel string
	// ShimCgroup, when set, is the cgroup the shim itself runs in (outside
	// the daemon's and the pod's), e.g. /podd/shims/pod<uid>.
	ShimCgroup string
	// LogRotation bounds each container's CRI log.
	LogRotation crilog.Rotation
	// PodPidsLimit is the pod cgroup's pids.max; -1 is no limit, 0 leaves
	// it alone.
	PodPidsLimit int64
}

// Client talks to one pod's shim. The embedded ShimClient is the full API:
// over ttrpc to a shim of this podd; to a shim from before, over ttrpc with
// Exec and Attach over gRPC, or over gRPC only (issue 13; shims outlive a
// daemon upgrade).
type Client struct {
	shimgrpc.ShimClient
	// close closes the connections; the shim keeps running.
	close    func() error
	stateDir string
	pid      int
	// hold is the shim's Info answer: it can hold a container before
	// its program (CreateContainerRequest.hold).
	hold bool
	// pinned is the shim's Info answer: the namespaces it made for the
	// pod's holder.
	pinned []string
	// exited is closed when a shim this process launched has been reaped;
	// nil for a shim found with Connect.
	exited chan struct{}
}

// Launch starts podd-shim for a pod and returns once its socket answers. The
// shim runs in its own session with stdin from /dev/null and stdout/stderr
// appended to its log file, so the daemon dying never kills or blocks it.
// Launch reaps the shim when it exits. Spares.Launch does the same through
// a shim started before it was needed.
func Launch(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	if err := prepareLaunch(cfg); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(shimdir.LogFile(cfg.StateDir), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("launch shim for pod %s: %w", cfg.PodUID, err)
	}
	defer logf.Close()
	cmd := shimCommand(cfg.ShimBinary, shimArgs(cfg)...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("launch shim for pod %s: %w", cfg.PodUID, err)
	}
	if cfg.ShimCgroup != "" {
		// Before the shim starts any container: it is alone in its process.
		if err := shimdir.JoinCgroup(cmd.Process.Pid, cfg.ShimCgroup); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			shimdir.RemoveCgroup(cfg.ShimCgroup)
			return nil, fmt.Errorf("launch shim for pod %s: %w", cfg.PodUID, err)
		}
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = waitCmd(cmd)
		close(exited)
	}()
	ctx, cancel := withStartTimeout(ctx)
	defer cancel()
	c, err := waitReady(ctx, cfg.StateDir, exited)
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		if waitErr != nil {
			err = fmt.Errorf("%w (shim %v)", err, waitErr)
		}
		return nil, fmt.Errorf("launch shim for pod %s: %w%s", cfg.PodUID, err, logTail(cfg.StateDir))
	}
	c.exited = exited
	return c, nil
}

// prepareLaunch checks cfg and makes the pod's state directory.
func prepareLaunch(cfg LaunchConfig) error {
	if cfg.ShimBinary == "" || cfg.PodUID == "" || cfg.StateDir == "" || cfg.CgroupParent == "" {
		return fmt.Errorf("launch shim: binary, pod uid, state dir and cgroup parent are required")
	}
	sock := shimdir.TTRPCSocketPath(cfg.StateDir)
	if len(shimdir.SocketPath(cfg.StateDir)) > len(sock) {
		sock = shimdir.SocketPath(cfg.StateDir)
	}
	if len(sock) > shimdir.MaxSocketPath {
		return fmt.Errorf("launch shim for pod %s: socket path %s is %d bytes, longer than the %d a unix socket allows", cfg.PodUID, sock, len(sock), shimdir.MaxSocketPath)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("launch shim for pod %s: %w", cfg.PodUID, err)
	}
	return nil
}

// shimArgs are the arguments (after the program name) of cfg's shim.
func shimArgs(cfg LaunchConfig) []string {
	level := cfg.LogLevel
	if level == "" {
		level = "info"
	}
	return []string{
		"--pod-uid", cfg.PodUID,
		"--state-dir", cfg.StateDir,
		"--cgroup-parent", cfg.CgroupParent,
		"--log-level", level,
		"--log-max-size", strconv.FormatInt(cfg.LogRotation.MaxSize, 10),
		"--log-max-files", strconv.Itoa(cfg.LogRotation.MaxFiles),
		"--pod-pids-limit", strconv.FormatInt(cfg.PodPidsLimit, 10),
	}
}

// shimCommand is a podd-shim process as every shim starts: in its own
// session, in /, with a clean environment.
func shimCommand(binary string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = "/"
	// A clean environment: nothing of the daemon's (NOTIFY_SOCKET,
	// LISTEN_FDS, GOGC...) should reach the shim or its containers.
	// GOMAXPROCS must be in it for the runtime to start with one P:
	// setting it later in the shim leaves the second P's caches and
	// spans behind (see ShimGOMAXPROCS).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GOMAXPROCS=" + strconv.Itoa(shimdir.ShimGOMAXPROCS), "GODEBUG=" + shimdir.ShimGODEBUG}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// withStartTimeout bounds ctx by DefaultStartTimeout unless it has a
// deadline.
func withStartTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultStartTimeout)
}

// Intervals of waitReady's look for the socket: a shim serves within a few
// ms of its start, and a launch runs beside CNI ADD on the way to the
// pause, so it looks often at first (a stat each time), then seldom.
const (
	readyPollFast    = 2 * time.Millisecond
	readyPollSlow    = 20 * time.Millisecond
	readyPollFastFor = 200 * time.Millisecond
)

// waitReady dials the shim until Info answers, the shim exits or ctx ends.
// A shim serves its ttrpc socket. One from before ttrpc streams (a test's
// build of an earlier podd) also serves gRPC, on a socket it makes last:
// it is ready once that exists.
func waitReady(ctx context.Context, stateDir string, exited <-chan struct{}) (*Client, error) {
	began := time.Now()
	tick := time.NewTimer(readyPollFast)
	defer tick.Stop()
	var last error
	for {
		if c, err := dialReady(ctx, stateDir); err == nil {
			if c != nil {
				return c, nil
			}
		} else {
			last = err
		}
		select {
		case <-exited:
			return nil, errors.New("shim exited before it served its socket")
		case <-ctx.Done():
			if last != nil {
				return nil, fmt.Errorf("shim not ready: %w", last)
			}
			return nil, fmt.Errorf("shim not ready: %w", ctx.Err())
		case <-tick.C:
		}
		if time.Since(began) < readyPollFastFor {
			tick.Reset(readyPollFast)
		} else {
			tick.Reset(readyPollSlow)
		}
	}
}

// dialReady connects to a shim that serves all its sockets; nil and no
// error while it does not yet.
func dialReady(ctx context.Context, stateDir string) (*Client, error) {
	_, errT := os.Stat(shimdir.TTRPCSocketPath(stateDir))
	_, errG := os.Stat(shimdir.SocketPath(stateDir))
	if errT != nil && errG != nil {
		return nil, nil
	}
	c, err := dial(ctx, stateDir)
	if err != nil {
		return nil, err
	}
	if c.Protocol() == ProtocolTTRPCWithGRPCStreams && errG != nil {
		c.Close()
		return nil, nil
	}
	return c, nil
}

// Connect attaches to the running shim of stateDir, e.g. after a daemon
// restart.
func Connect(ctx context.Context, stateDir string) (*Client, error) {
	if _, err := socketPath(stateDir); err != nil {
		return nil, fmt.Errorf("connect to shim: %w", err)
	}
	c, err := dial(ctx, stateDir)
	if err != nil {
		return nil, fmt.Errorf("connect to shim in %s: %w", stateDir, err)
	}
	return c, nil
}

// socketPath is the socket the shim of stateDir answers on: its ttrpc
// socket, or the gRPC one of a shim from before ttrpc.
func socketPath(stateDir string) (string, error) {
	sock := shimdir.TTRPCSocketPath(stateDir)
	_, err := os.Stat(sock)
	if errors.Is(err, os.ErrNotExist) {
		if _, errG := os.Stat(shimdir.SocketPath(stateDir)); errG == nil {
			return shimdir.SocketPath(stateDir), nil
		}
	}
	return sock, err
}

// dial connects over ttrpc when the shim serves it, else over gRPC.
func dial(ctx context.Context, stateDir string) (*Client, error) {
	if _, err := os.Stat(shimdir.TTRPCSocketPath(stateDir)); err == nil {
		c, err := dialTTRPC(ctx, stateDir)
		if err == nil || !refusedErr(err) {
			return c, err
		}
		// The socket of a shim that was killed, in the state dir of one
		// from before ttrpc (a downgrade, then an upgrade).
	}
	return dialGRPC(ctx, stateDir)
}

// dialGRPC connects to the shim's gRPC socket and asks its Info.
func dialGRPC(ctx context.Context, stateDir string) (*Client, error) {
	conn, err := newGRPCConn(stateDir)
	if err != nil {
		return nil, err
	}
	api := shimgrpc.NewShimClient(conn)
	ictx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	info, err := api.Info(ictx, &shimv1.InfoRequest{}, grpc.WaitForReady(true))
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Client{ShimClient: api, close: conn.Close, stateDir: stateDir, pid: int(info.GetPid()), hold: info.GetHold(), pinned: info.GetPinnedNamespaces()}, nil
}

// newGRPCConn makes a client connection to the shim's gRPC socket; it
// connects at the first call.
func newGRPCConn(stateDir string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+shimdir.SocketPath(stateDir),
		append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
}

// What a client speaks to its shim (Client.Protocol).
const (
	// ProtocolTTRPC is the whole API over ttrpc.
	ProtocolTTRPC = "ttrpc"
	// ProtocolTTRPCWithGRPCStreams is ttrpc with Exec and Attach over
	// gRPC: a shim from before ttrpc streams.
	ProtocolTTRPCWithGRPCStreams = "ttrpc+grpc"
	// ProtocolGRPC is the whole API over gRPC: a shim from before ttrpc.
	ProtocolGRPC = "grpc"
)

// Protocol is what the client speaks to the shim.
func (c *Client) Protocol() string {
	a, ok := c.ShimClient.(*ttrpcAPI)
	switch {
	case !ok:
		return ProtocolGRPC
	case a.streams:
		return ProtocolTTRPC
	}
	return ProtocolTTRPCWithGRPCStreams
}

// Pid is the shim's process id.
func (c *Client) Pid() int { return c.pid }

// CanHold reports whether the shim can hold a container before its
// program (its Info answer when the client connected): a shim from before
// hold would run it at once.
func (c *Client) CanHold() bool { return c.hold }

// PinnedNamespaces lists the namespace types the shim made for the pod's
// holder as it started, as it said when connected (none from a shim
// before pins).
func (c *Client) PinnedNamespaces() []string { return c.pinned }

// StateDir is the shim's state directory.
func (c *Client) StateDir() string { return c.stateDir }

// Stop asks the shim to shut down (force: kill what still runs first) and
// waits until its process is gone or ctx ends. Without force a shim with
// running containers stays until they stop. Stopping a shim that is already
// gone succeeds if it went through its teardown; one that died without it
// (SIGKILL, OOM kill) stopped nothing: see exitError.
func (c *Client) Stop(ctx context.Context, force bool) error {
	if c.gone() {
		return c.exitError()
	}
	if _, err := c.Shutdown(ctx, &shimv1.ShutdownRequest{Force: force}); err != nil {
		// A shim that exits at the end of its teardown may do so before
		// its answer is out; one that is being killed cannot answer.
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if c.waitGone(wctx) != nil {
			return fmt.Errorf("shut down shim %d: %w", c.pid, err)
		}
		return c.exitError()
	}
	if err := c.waitGone(ctx); err != nil {
		return fmt.Errorf("wait for shim %d to exit: %w", c.pid, err)
	}
	return nil
}

// exitError tells apart the two ways an exited shim went. Its teardown
// (pod cgroup removed, everything it ran stopped) removes its pid file
// last; a shim killed before (SIGKILL, OOM kill) leaves the file naming it,
// and its pause and containers still run in the pod cgroup. That is an
// error wrapping ErrGone, so that the caller kills what is left: a killed
// shim is often not yet reaped (Exited still false) when the daemon, having
// found its sandbox lost, releases it.
func (c *Client) exitError() error {
	if pid, ok := shimdir.RecordedPid(c.stateDir); ok && pid == c.pid {
		return fmt.Errorf("shim %d: %w: it exited without its teardown; what it ran is still in the pod cgroup", c.pid, ErrGone)
	}
	return nil
}

// Exited reports whether the shim process is known to have exited: reaped
// by this daemon, or its pid no longer runs. A pid that runs again under
// another program reads as running; Gone tells those apart.
func (c *Client) Exited() bool { return c.gone() }

// waitGone returns once the shim process has exited, or ctx's error: a
// shim this process launched when it is reaped, another (one connected to
// after a restart) when its pidfd says it ended.
func (c *Client) waitGone(ctx context.Context) error {
	if c.exited != nil {
		select {
		case <-c.exited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := procwait.AwaitEnd(ctx, c.pid)
	if !errors.Is(err, procwait.ErrUnwatchable) {
		return err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !c.gone() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// gone reports whether the shim process has exited.
func (c *Client) gone() bool {
	if c.exited != nil {
		select {
		case <-c.exited:
			return true
		default:
			return false
		}
	}
	return !alive(c.pid)
}

// alive reports whether pid runs. A zombie does not: a shim adopted by an
// init that reaps slowly is gone for every purpose of ours.
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	st, err := procstat.Read(pid)
	return err == nil && !st.Ended()
}

// Close closes the connections; the shim keeps running.
func (c *Client) Close() error { return c.close() }

// logTail returns the end of the shim's log, to explain a failed launch.
func logTail(stateDir string) string {
	b, err := os.ReadFile(shimdir.LogFile(stateDir))
	if err != nil || len(b) == 0 {
		return ""
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "; shim log: " + strings.TrimSpace(string(b))
}
