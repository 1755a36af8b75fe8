package shim_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/proto/shim/v1/shimgrpc"
)

// hold creates cfg held: set up, its program not started.
func (p *testPod) hold(cfg *shimv1.ContainerConfig) *shimv1.ContainerState {
	p.t.Helper()
	resp, err := p.c.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg, Hold: true})
	if err != nil {
		p.t.Fatalf("create %s held: %v", cfg.GetId(), err)
	}
	if st := resp.GetState(); st.GetStatus() != shimv1.Status_STATUS_CREATED || st.GetStartedUnixNano() != 0 || st.GetPid() == 0 || !st.GetHeld() {
		p.t.Fatalf("create %s held returned %v, want held: created with a pid, not started", cfg.GetId(), st)
	}
	return resp.GetState()
}

// A held container runs its program only once StartContainer releases it.
func TestHeldContainerRunsOnlyOnceStarted(t *testing.T) {
	p := startPod(t)
	for _, tc := range []struct {
		name string
		api  shimgrpc.ShimClient
	}{{"ttrpc", p.c}} {
		t.Run(tc.name, func(t *testing.T) {
			id := "held-" + tc.name
			cfg := p.config(id, p.rootfs(tc.name), "sh", "-c", "echo ran; exit 7")
			held := p.hold(cfg)
			if st := p.state(id); st.GetStatus() != shimv1.Status_STATUS_CREATED || !st.GetHeld() {
				t.Fatalf("state of the held container = %v, want created, held", st)
			}
			if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(int(held.GetPid())) + "/comm"); strings.TrimSpace(string(comm)) != "runc:[2:INIT]" {
				t.Fatalf("held init %d is %q, want libcontainer's init waiting", held.GetPid(), comm)
			}
			if b, _ := os.ReadFile(cfg.GetLogPath()); len(b) != 0 {
				t.Fatalf("the held container wrote %q before its release", b)
			}
			resp, err := tc.api.StartContainer(context.Background(), &shimv1.StartContainerRequest{Id: id})
			if err != nil {
				t.Fatal(err)
			}
			if st := resp.GetState(); st.GetStatus() != shimv1.Status_STATUS_RUNNING || st.GetStartedUnixNano() == 0 || st.GetPid() != held.GetPid() || st.GetHeld() {
				t.Fatalf("start returned %v, want running with a start time and the held pid %d", st, held.GetPid())
			}
			st := p.waitStopped(id, 10*time.Second)
			if st.GetExitCode() != 7 || st.GetStartedUnixNano() == 0 || st.GetReason() != "" {
				t.Fatalf("exit = %v, want 7 after a recorded start", st)
			}
			if lines := p.logLines(cfg); len(lines) != 1 {
				t.Fatalf("log = %q, want the one line of the program", lines)
			}
			// Released once: a second start is refused.
			if _, err := tc.api.StartContainer(context.Background(), &shimv1.StartContainerRequest{Id: id}); status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("second start: %v, want FailedPrecondition", err)
			}
		})
	}
}

// Remove kills a held container (undo of a start that never happened).
func TestRemoveKillsAHeldContainer(t *testing.T) {
	p := startPod(t)
	cfg := p.config("held-0", p.rootfs("r"), "sh", "-c", "echo ran")
	held := p.hold(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.c.Remove(ctx, &shimv1.RemoveRequest{Id: "held-0"}); err != nil {
		t.Fatal(err)
	}
	if st := p.state("held-0"); st != nil {
		t.Fatalf("state after remove = %v, want none", st)
	}
	if err := unix.Kill(int(held.GetPid()), 0); err == nil {
		t.Fatalf("held init %d still exists after remove", held.GetPid())
	}
	if b, _ := os.ReadFile(cfg.GetLogPath()); len(b) != 0 {
		t.Fatalf("the removed held container wrote %q", b)
	}
	if _, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "held-0"}); status.Code(err) != codes.NotFound {
		t.Fatalf("start after remove: %v, want NotFound", err)
	}
}

// A signal to a held container ends it (its program never ran), and a
// release then fails without hanging.
func TestSignalKillsAHeldContainer(t *testing.T) {
	p := startPod(t)
	cfg := p.config("held-0", p.rootfs("r"), "sh", "-c", "echo ran")
	p.hold(cfg)
	p.signal("held-0", int32(unix.SIGTERM))
	st := p.waitStopped("held-0", 10*time.Second)
	if st.GetStartedUnixNano() != 0 {
		t.Fatalf("killed held container = %v, want never started", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "held-0"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("start of a killed held container: %v, want FailedPrecondition", err)
	}
	if b, _ := os.ReadFile(cfg.GetLogPath()); len(b) != 0 {
		t.Fatalf("the killed held container wrote %q", b)
	}
}

// A held init that dies on its own (killed from outside the shim) makes
// the release fail at once, with the exit recorded.
func TestReleaseOfADeadHeldContainerFails(t *testing.T) {
	p := startPod(t)
	held := p.hold(p.config("held-0", p.rootfs("r"), "sh", "-c", "echo ran"))
	if err := unix.Kill(int(held.GetPid()), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "held-0"}); err == nil {
		t.Fatal("release of a dead held container succeeded")
	}
	if st := p.waitStopped("held-0", 10*time.Second); st.GetStartedUnixNano() != 0 {
		t.Fatalf("dead held container = %v, want stopped, never started", st)
	}
}

// A shutdown, forced or not, does not wait for a held container forever.
func TestShutdownKillsAHeldContainer(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run(map[bool]string{false: "graceful", true: "forced"}[force], func(t *testing.T) {
			p := startPod(t)
			held := p.hold(p.config("held-0", p.rootfs("r"), "sleep", "1000"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.c.Stop(ctx, force); err != nil {
				t.Fatalf("stop the shim with a held container: %v", err)
			}
			if err := unix.Kill(int(held.GetPid()), 0); err == nil {
				t.Fatalf("held init %d outlived its shim", held.GetPid())
			}
		})
	}
}

func TestStartContainerNeedsAHeldContainer(t *testing.T) {
	p := startPod(t)
	p.create(p.config("run-0", p.rootfs("r"), "sleep", "1000"))
	ctx := context.Background()
	if info, err := p.c.Info(ctx, &shimv1.InfoRequest{}); err != nil || !info.GetHold() {
		t.Fatalf("Info = %v, %v; want hold", info, err)
	}
	if !p.c.CanHold() {
		t.Fatal("the client does not keep the shim's hold from its Info answer")
	}
	if _, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "run-0"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("start of a running container: %v, want FailedPrecondition", err)
	}
	if _, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "nope-0"}); status.Code(err) != codes.NotFound {
		t.Fatalf("start of an unknown container: %v, want NotFound", err)
	}
	holder := p.config("pause", "", "")
	holder.Holder = true
	if _, err := p.c.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: holder, Hold: true}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("held namespace holder: %v, want InvalidArgument", err)
	}
}

// Two releases at once: one lets the program run, the other is refused
// (it would find the exec fifo gone).
func TestConcurrentReleasesStartOnce(t *testing.T) {
	p := startPod(t)
	p.hold(p.config("held-0", p.rootfs("r"), "sleep", "1000"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "held-0"})
			errs <- err
		}()
	}
	var ok, refused int
	for range 2 {
		switch err := <-errs; status.Code(err) {
		case codes.OK:
			ok++
		case codes.FailedPrecondition:
			refused++
		default:
			t.Errorf("release: %v", err)
		}
	}
	if ok != 1 || refused != 1 {
		t.Fatalf("%d releases succeeded, %d refused; want one each", ok, refused)
	}
	if st := p.state("held-0"); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		t.Fatalf("state after the releases = %v, want running", st)
	}
}

// A held container with a terminal gets it at the hold (the init sends it
// while it sets up) and writes through it once released.
func TestHeldContainerWithATerminal(t *testing.T) {
	p := startPod(t)
	cfg := p.config("held-tty", p.rootfs("r"), "sh", "-c", "test -t 1 && echo on-a-tty")
	cfg.Tty = true
	p.hold(cfg)
	if _, err := p.c.StartContainer(context.Background(), &shimv1.StartContainerRequest{Id: "held-tty"}); err != nil {
		t.Fatal(err)
	}
	if st := p.waitStopped("held-tty", 10*time.Second); st.GetExitCode() != 0 {
		t.Fatalf("exit = %v, want 0", st)
	}
	if lines := p.logLines(cfg); len(lines) != 1 || !strings.Contains(lines[0], "on-a-tty") {
		t.Fatalf("log = %q, want the program's line through its terminal", lines)
	}
}

// A start, held or not, returns once the container's program runs: from
// then on a signal reaches the program (which may trap it), never
// libcontainer's init. The shim sees the exec as the exec fifo's hang-up.
func TestStartReturnsOnceTheProgramRuns(t *testing.T) {
	p := startPod(t)
	comm := func(pid int32) string {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/comm")
		return strings.TrimSpace(string(b))
	}
	for i := range 5 {
		id := "direct-" + strconv.Itoa(i)
		st := p.create(p.config(id, p.rootfs(id), "sleep", "1000"))
		if c := comm(st.GetPid()); c != "sleep" {
			t.Fatalf("%s: process %d is %q once create returned, want the program (sleep)", id, st.GetPid(), c)
		}
		id = "held-" + strconv.Itoa(i)
		held := p.hold(p.config(id, p.rootfs(id), "sleep", "1000"))
		resp, err := p.c.StartContainer(context.Background(), &shimv1.StartContainerRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		if c := comm(held.GetPid()); c != "sleep" || resp.GetState().GetStatus() != shimv1.Status_STATUS_RUNNING {
			t.Fatalf("%s: process %d is %q (%v) once start returned, want the program (sleep) running", id, held.GetPid(), c, resp.GetState())
		}
	}
}

// A held container whose program cannot be exec'd (it is not there) is
// refused at the hold, and a program that exits at once after its release
// is reported as started, then stopped: the release never hangs.
func TestReleaseOfAProgramThatEndsAtOnce(t *testing.T) {
	p := startPod(t)
	cfg := p.config("quick-0", p.rootfs("q"), "true")
	p.hold(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.c.StartContainer(ctx, &shimv1.StartContainerRequest{Id: "quick-0"}); err != nil {
		t.Fatal(err)
	}
	if st := p.waitStopped("quick-0", 10*time.Second); st.GetExitCode() != 0 || st.GetStartedUnixNano() == 0 {
		t.Fatalf("exit = %v, want 0 after a recorded start", st)
	}
}
