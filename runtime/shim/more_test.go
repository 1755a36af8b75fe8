package shim_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// R22: a container killed by the OOM killer is reported OOMKilled, and its
// exit is streamed only once the record is on disk.
func TestOOMKillIsReportedAfterRecord(t *testing.T) {
	p := startPod(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := p.c.Events(ctx, &shimv1.EventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.config("oom-0", p.rootfs("r"), "tail", "/dev/zero")
	cfg.Resources = &shimv1.Resources{MemoryLimitBytes: 16 << 20}
	p.create(cfg)
	var statuses []shimv1.Status
	for {
		ev, err := events.Recv()
		if err != nil {
			t.Fatalf("events: %v", err)
		}
		if ev.GetId() != "oom-0" {
			continue
		}
		statuses = append(statuses, ev.GetStatus())
		if ev.GetStatus() != shimv1.Status_STATUS_STOPPED {
			continue
		}
		if _, err := os.Stat(shimdir.ExitRecordPath(p.stateDir, "oom-0")); err != nil {
			t.Fatalf("exit event before the exit record: %v", err)
		}
		if !ev.GetOomKilled() || ev.GetExitCode() != 137 {
			t.Fatalf("exit event %v, want OOM-killed with 137", ev)
		}
		break
	}
	if len(statuses) != 2 || statuses[0] != shimv1.Status_STATUS_RUNNING {
		t.Fatalf("event statuses %v, want running then stopped", statuses)
	}
}

// Processes a hostPID container leaves behind are killed when its init ends
// and reaped by the shim (a child subreaper), not left as zombies.
func TestOrphansAreReaped(t *testing.T) {
	p := startPod(t)
	cfg := p.config("orphan-0", p.rootfs("r"), "sh", "-c", "sleep 1000 & sleep 1000 & exit 0")
	cfg.Namespaces = []*shimv1.Namespace{{Type: "ipc"}, {Type: "uts"}}
	p.create(cfg)
	p.waitStopped("orphan-0", 10*time.Second)
	testutil.WaitFor(t, 5*time.Second, "no zombie children of the shim", func() (bool, error) {
		for _, c := range childrenOf(int32(p.c.Pid())) {
			b, _ := os.ReadFile("/proc/" + c + "/stat")
			if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
				return false, nil
			}
		}
		return true, nil
	})
}

func TestExecNeedsRunningContainer(t *testing.T) {
	p := startPod(t)
	p.create(p.config("done-0", p.rootfs("r"), "true"))
	p.waitStopped("done-0", 10*time.Second)
	stream, err := p.c.Exec(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: &shimv1.ExecProcess{Container: "done-0", Args: []string{"true"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("exec in a stopped container: %v, want FailedPrecondition", err)
	}
}

// A restarted daemon finds the running shim again through its socket.
func TestConnectFindsRunningShim(t *testing.T) {
	p := startPod(t)
	p.create(p.config("keep-0", p.rootfs("r"), "sleep", "1000"))
	p.reconnect()
	c := p.c
	if c.Pid() == 0 {
		t.Fatal("Connect returned no shim pid")
	}
	if st := p.state("keep-0"); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		t.Fatalf("after reconnect keep-0 is %v, want running", st)
	}
}
