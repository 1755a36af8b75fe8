package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/shim/server/internal/holder"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// Options are podd-shim's flags.
type Options struct {
	PodUID string
	// StateDir is the pod's run directory: socket, pid file, log,
	// libcontainer root and exit records live there.
	StateDir string
	// CgroupParent is the pod cgroup, removed on shutdown.
	CgroupParent string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogRotation bounds each container's CRI log.
	LogRotation crilog.Rotation
	// PodPidsLimit is pids.max of the pod cgroup; -1 is no limit, 0
	// leaves it alone.
	PodPidsLimit int64
	// SpareStatus is the status pipe of a spare the daemon bound (from
	// AwaitBinding), nil for a shim exec'd for its pod. Main then points
	// fds 0-2 where an exec'd shim has them and reports there once it
	// serves.
	SpareStatus *os.File
}

// shimOOMScoreAdj is the score the shim asks for so that the OOM killer
// takes its containers before it.
const shimOOMScoreAdj = -998

// Main runs the shim until a shutdown has torn it down.
func Main(opts Options) error {
	if opts.PodUID == "" || opts.StateDir == "" || opts.CgroupParent == "" {
		return errors.New("podd-shim: --pod-uid, --state-dir and --cgroup-parent are required")
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("podd-shim: %w", err)
	}
	logf, err := os.OpenFile(shimdir.LogFile(opts.StateDir), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("podd-shim: open log: %w", err)
	}
	defer logf.Close()
	if opts.SpareStatus != nil {
		if err := bindStdio(logf); err != nil {
			return fmt.Errorf("podd-shim: %w", err)
		}
	}
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: parseLevel(opts.LogLevel)})).
		With("uid", opts.PodUID)

	tuneRuntime()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("podd-shim: become child subreaper: %w", err)
	}
	minOOM := lowerOOMScore(log)
	// Before any container: their cgroups go below the pod's.
	if err := libct.SetupPodCgroup(opts.CgroupParent, opts.PodPidsLimit); err != nil {
		return fmt.Errorf("podd-shim: %w", err)
	}

	srv, err := newService(opts, log, minOOM)
	if err != nil {
		return fmt.Errorf("podd-shim: %w", err)
	}
	var pinErr error
	if srv.pins, pinErr = holder.PinNamespaces(); pinErr != nil {
		// The containers then wait for the holder's own namespaces.
		log.Warn("no pinned namespaces", "err", pinErr)
	}
	api, err := serve(srv, opts.StateDir)
	if err != nil {
		return fmt.Errorf("podd-shim: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.reaper.run(ctx)
	// Not fsynced: a pid means nothing after a reboot, and the fsync held
	// up the first answer (the daemon's launch) by a disk flush.
	if err := atomicfile.Replace(shimdir.PidFile(opts.StateDir), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		api.stop()
		return fmt.Errorf("podd-shim: %w", err)
	}
	log.Info("shim serving", "pid", os.Getpid(), "socket", shimdir.TTRPCSocketPath(opts.StateDir), "cgroupParent", opts.CgroupParent, "spare", opts.SpareStatus != nil)
	reportServing(opts.SpareStatus)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM)
	// SIGINT, SIGHUP and SIGPIPE are caught and dropped, not ignored: an
	// ignored signal stays ignored across fork and exec, in every create
	// child, container and exec'd process; a caught one is reset to its
	// default by their exec.
	dropped := make(chan os.Signal, 1)
	signal.Notify(dropped, unix.SIGINT, unix.SIGHUP, unix.SIGPIPE)
loop:
	for {
		select {
		case <-dropped:
		case <-sigs:
			srv.beginShutdown(false)
		case err := <-api.err:
			log.Error("serve", "err", err)
			srv.beginShutdown(true)
			<-srv.finished()
			return fmt.Errorf("podd-shim: serve: %w", err)
		case <-srv.finished():
			break loop
		}
	}
	api.stopGracefully(5 * time.Second)
	log.Info("shim exiting")
	return nil
}

// apiServer is the shim's API server: ttrpc on the ttrpc socket.
type apiServer struct {
	ttrpc *ttrpc.Server
	// err receives the error that ends the server.
	err chan error
}

// serve listens on the ttrpc socket and serves srv there.
func serve(srv *service, stateDir string) (*apiServer, error) {
	lis, err := listen(shimdir.TTRPCSocketPath(stateDir))
	if err != nil {
		return nil, err
	}
	ts, err := ttrpc.NewServer(ttrpc.WithUnaryServerInterceptor(
		func(ctx context.Context, unmarshal ttrpc.Unmarshaler, _ *ttrpc.UnaryServerInfo, method ttrpc.Method) (any, error) {
			defer srv.trim.kick()
			return method(ctx, unmarshal)
		}))
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("ttrpc server: %w", err)
	}
	shimv1.RegisterTTRPCShimService(ts, ttrpcService{srv})
	s := &apiServer{ttrpc: ts, err: make(chan error, 1)}
	go func() {
		if err := ts.Serve(context.Background(), lis); err != nil && !errors.Is(err, ttrpc.ErrServerClosed) {
			s.err <- fmt.Errorf("ttrpc: %w", err)
		}
	}()
	return s, nil
}

// stop closes the server and its connections at once.
func (s *apiServer) stop() { s.ttrpc.Close() }

// stopGracefully lets running calls (the Shutdown answer) finish, for at
// most timeout, then stops the server.
func (s *apiServer) stopGracefully(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.shutdownTTRPC(ctx); err != nil {
		s.ttrpc.Close()
	}
}

// ttrpcRecheck is how often shutdownTTRPC looks for the last calls to end.
const ttrpcRecheck = 5 * time.Millisecond

// shutdownTTRPC is ttrpc's graceful Shutdown, which closes a connection
// once its calls are done but looks again only every 200 ms: the end of the
// daemon's Events stream, a moment after the teardown, made every shim
// exit 200 ms late, and every pod's delete wait for it. Asked again every
// ttrpcRecheck, it returns as soon as the last call is done, or with ctx's
// error.
func (s *apiServer) shutdownTTRPC(ctx context.Context) error {
	for {
		rctx, cancel := context.WithTimeout(ctx, ttrpcRecheck)
		err := s.ttrpc.Shutdown(rctx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// listen opens the socket (mode 0600), refusing to steal it from a shim
// that still answers.
func listen(path string) (net.Listener, error) {
	if len(path) > shimdir.MaxSocketPath {
		return nil, fmt.Errorf("socket path %s is longer than %d bytes", path, shimdir.MaxSocketPath)
	}
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return nil, fmt.Errorf("socket %s: another shim is serving it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	old := unix.Umask(0o177)
	lis, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return lis, nil
}

// tuneRuntime keeps the heap small unless GOGC/GOMEMLIMIT/GOMAXPROCS say
// otherwise: a node runs one shim per pod. The daemon starts shims with
// GOMAXPROCS=shimdir.ShimGOMAXPROCS and GODEBUG=shimdir.ShimGODEBUG, which the
// runtime reads before anything runs; the calls here only cover shims
// started without them.
func tuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(activeGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(activeMemoryLimit)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(shimdir.ShimGOMAXPROCS)
	}
	if os.Getenv("GODEBUG") == "" {
		// Late (package initialisation has allocated), but later samples
		// are what touch the profile's table (see shimdir.ShimGODEBUG).
		runtime.MemProfileRate = 0
	}
}

// lowerOOMScore asks for a low OOM score for the shim (best effort: some
// hosts refuse even root) and returns the lowest score the shim can give a
// container: anything when lowering works, else its own score.
func lowerOOMScore(log *slog.Logger) int {
	const path = "/proc/self/oom_score_adj"
	err := os.WriteFile(path, []byte(strconv.Itoa(shimOOMScoreAdj)), 0)
	if err == nil {
		return -1000
	}
	log.Warn("cannot lower the shim's oom_score_adj; containers get at least the shim's score", "want", shimOOMScoreAdj, "err", err)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}
