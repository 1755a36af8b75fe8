package podworker

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/daemon/events"
	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/probes"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/proto/shim/v1/shimgrpc"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/runtime/spec"
)

// scriptedShim serves the shim API on a pod's socket: State blocks for
// stateDelay (or until the caller gives up), then reports the pause with
// pauseStatus; Shutdown is counted.
type scriptedShim struct {
	shimgrpc.UnimplementedShimServer
	pid         int32
	stateDelay  time.Duration
	pauseStatus shimv1.Status
	shutdowns   atomic.Int32
	srv         *grpc.Server
	lis         *net.UnixListener
	proc        *exec.Cmd
}

func (s *scriptedShim) Info(context.Context, *shimv1.InfoRequest) (*shimv1.InfoResponse, error) {
	return &shimv1.InfoResponse{Pid: s.pid}, nil
}

func (s *scriptedShim) State(ctx context.Context, _ *shimv1.StateRequest) (*shimv1.StateResponse, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(s.stateDelay):
	}
	return &shimv1.StateResponse{Containers: []*shimv1.ContainerState{{Id: spec.PauseID, Status: s.pauseStatus}}}, nil
}

func (s *scriptedShim) Shutdown(context.Context, *shimv1.ShutdownRequest) (*shimv1.ShutdownResponse, error) {
	s.shutdowns.Add(1)
	return &shimv1.ShutdownResponse{}, nil
}

// crash ends the fake shim the way a killed shim ends: its process is gone,
// its socket file stays and refuses connections.
func (s *scriptedShim) crash() {
	s.lis.SetUnlinkOnClose(false)
	s.srv.Stop()
	s.proc.Process.Kill()
}

// shimHarness is a worker for a host-network pod whose sandbox exists, with
// a scripted shim on its socket. Its pid file and reported pid name a live
// process that claims to be the pod's shim.
func shimHarness(t *testing.T, fake *scriptedShim) *Worker {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "pw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	layout := store.Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"),
		CgroupParent: "/podd-unit-test-" + filepath.Base(dir)}
	st, err := store.Open(layout)
	if err != nil {
		t.Fatal(err)
	}
	uid := "u1"
	shimDir := layout.ShimDir(uid)
	if err := os.MkdirAll(shimDir, 0o700); err != nil {
		t.Fatal(err)
	}
	proc := exec.Command("sh", "-c", "sleep 1000; :", "podd-shim", "--state-dir", shimDir)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Process.Kill(); proc.Wait() })
	fake.pid, fake.proc = int32(proc.Process.Pid), proc
	os.WriteFile(shimdir.PidFile(shimDir), []byte(strconv.Itoa(proc.Process.Pid)), 0o600)
	fake.lis, err = net.ListenUnix("unix", &net.UnixAddr{Name: shimdir.SocketPath(shimDir), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	fake.srv = grpc.NewServer()
	shimgrpc.RegisterShimServer(fake.srv, fake)
	go fake.srv.Serve(fake.lis)
	t.Cleanup(fake.srv.Stop)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "p", UID: types.UID(uid)},
		Spec:       corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	probesMgr := probes.NewManager(probes.Config{})
	t.Cleanup(probesMgr.Close)
	deps := &Deps{
		Layout: layout, Store: st, Events: events.New(time.Now), Probes: probesMgr,
		NodeIP: "127.0.0.1",
	}
	if err := st.SavePod(pod); err != nil {
		t.Fatal(err)
	}
	sb := &Sandbox{ID: "sb1", Attempt: 0, IP: "127.0.0.1", CreatedAt: time.Now()}
	return New(deps, pod, &State{Sandbox: sb})
}

// shortObserveTimeout makes a shim call "slow" after d, for the test.
func shortObserveTimeout(t *testing.T, d time.Duration) {
	old := observeTimeout
	observeTimeout = d
	t.Cleanup(func() { observeTimeout = old })
}

// Issue 7 item 6: a sandbox is lost only on evidence, never on a slow answer.
func TestObserveLosesSandboxOnlyOnEvidence(t *testing.T) {
	shortObserveTimeout(t, 200*time.Millisecond)
	for _, tc := range []struct {
		name      string
		fake      *scriptedShim
		crash     bool
		connected bool
		wantKnown bool
		wantState planner.SandboxState
	}{
		{"answering shim, pause running: ready", &scriptedShim{pauseStatus: shimv1.Status_STATUS_RUNNING}, false, false, true, planner.SandboxReady},
		{"shim slower than the deadline: unknown, not lost", &scriptedShim{stateDelay: time.Minute, pauseStatus: shimv1.Status_STATUS_RUNNING}, false, false, false, 0},
		{"connected shim slower than the deadline: unknown, not lost", &scriptedShim{stateDelay: time.Minute, pauseStatus: shimv1.Status_STATUS_RUNNING}, false, true, false, 0},
		{"pause exited: lost", &scriptedShim{pauseStatus: shimv1.Status_STATUS_STOPPED}, false, false, true, planner.SandboxLost},
		{"shim killed before the daemon connects: lost", &scriptedShim{pauseStatus: shimv1.Status_STATUS_RUNNING}, true, false, true, planner.SandboxLost},
		{"connected shim killed: lost", &scriptedShim{pauseStatus: shimv1.Status_STATUS_RUNNING}, true, true, true, planner.SandboxLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := tc.fake
			w := shimHarness(t, fake)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.connected {
				cl, err := w.connectShim(ctx)
				if err != nil {
					t.Fatal(err)
				}
				w.setShim(ctx, cl)
			}
			if tc.crash {
				fake.crash()
			}
			in, known := w.observe(ctx)
			if known != tc.wantKnown {
				t.Fatalf("known = %v, want %v (sandbox %v: %s)", known, tc.wantKnown, in.Sandbox.State, in.Sandbox.Message)
			}
			if known && in.Sandbox.State != tc.wantState {
				t.Fatalf("sandbox %v (%s), want %v", in.Sandbox.State, in.Sandbox.Message, tc.wantState)
			}
		})
	}
}

// Issue 7 item 6: a worker whose shim answers State slower than the
// deadline, again and again, never tears the sandbox down.
func TestSlowShimNeverTornDown(t *testing.T) {
	shortObserveTimeout(t, 100*time.Millisecond)
	fake := &scriptedShim{stateDelay: time.Minute, pauseStatus: shimv1.Status_STATUS_RUNNING}
	w := shimHarness(t, fake)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	// Several observe timeouts and retries.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && fake.shutdowns.Load() == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := fake.shutdowns.Load(); n > 0 {
		t.Fatalf("the slow shim was asked to shut down %d times", n)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.Sandbox == nil || w.state.Sandbox.ID != "sb1" {
		t.Fatalf("sandbox after slow answers: %+v", w.state.Sandbox)
	}
}
