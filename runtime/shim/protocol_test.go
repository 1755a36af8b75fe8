package shim_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// A shim of this podd serves ttrpc only, and the client uses it: calls,
// an Events stream, and Exec all answer, after a reconnect too.
func TestClientSpeaksTTRPCToANewShim(t *testing.T) {
	p := startPod(t)
	if _, err := os.Stat(shimdir.SocketPath(p.stateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the shim made a gRPC socket (%v)", err)
	}
	checkProtocolRoundTrip(t, p, shim.ProtocolTTRPC)
}

// A shim that serves Exec and Attach over gRPC beside ttrpc (still running
// after the daemon was upgraded) gets them over gRPC, the rest over ttrpc.
func TestClientSpeaksGRPCStreamsToAShimFromBeforeTTRPCStreams(t *testing.T) {
	testutil.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "podd-shim")
	testutil.BuildShimAt(t, testutil.PreTTRPCStreamsCommit, bin)
	p := startPodWith(t, bin)
	checkProtocolRoundTrip(t, p, shim.ProtocolTTRPCWithGRPCStreams)
}

// A shim built from podd before ttrpc (still running after the daemon was
// upgraded) is driven over gRPC: start, state, events, exec, and the
// reconnect of a restarted daemon.
func TestClientSpeaksGRPCToAShimFromBeforeTTRPC(t *testing.T) {
	testutil.RequireRoot(t)
	p := startPodWith(t, buildOldShim(t))
	if _, err := os.Stat(shimdir.TTRPCSocketPath(p.stateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the old shim made a ttrpc socket (%v): it is not a shim from before ttrpc", err)
	}
	checkProtocolRoundTrip(t, p, shim.ProtocolGRPC)
}

func checkProtocolRoundTrip(t *testing.T, p *testPod, want string) {
	t.Helper()
	if got := p.c.Protocol(); got != want {
		t.Fatalf("client speaks %s, want %s", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, err := p.c.Events(ctx, &shimv1.EventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *shimv1.ContainerState, 64)
	recvErr := make(chan error, 1)
	go func() {
		for {
			st, err := events.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case got <- st:
			default: // the test waits for one
			}
		}
	}()
	root := p.rootfs("r")
	p.create(p.config("app", root, "sleep", "1000"))
	// The shim may subscribe the stream after that start: start short
	// containers until an event comes.
	n := 0
	testutil.WaitFor(t, 20*time.Second, "a container event", func() (bool, error) {
		select {
		case <-got:
			return true, nil
		case err := <-recvErr:
			return false, err
		default:
		}
		n++
		p.create(p.config(fmt.Sprintf("tick-%d", n), root, "true"))
		return false, nil
	})
	r := p.exec(&shimv1.ExecProcess{Container: "app", Args: []string{"echo", "hi"}})
	if r.exit.GetExitCode() != 0 || strings.TrimSpace(r.stdout) != "hi" {
		t.Fatalf("exec echo hi: exit %d, stdout %q, stderr %q", r.exit.GetExitCode(), r.stdout, r.stderr)
	}
	cancel()
	select {
	case err := <-recvErr:
		if err == nil {
			t.Fatal("events stream ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events stream goes on 10 s after its context ended")
	}

	// A restarted daemon connects to the running shim.
	p.reconnect()
	c := p.c
	if got := c.Protocol(); got != want {
		t.Fatalf("after reconnect the client speaks %s, want %s", got, want)
	}
	if st := p.state("app"); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		t.Fatalf("after reconnect app is %v, want running", st)
	}
	p.signal("app", 9)
	if st := p.waitStopped("app", 10*time.Second); st.GetExitCode() != 137 {
		t.Fatalf("app exited %d after SIGKILL, want 137", st.GetExitCode())
	}
}

// buildOldShim builds podd-shim from testutil.PreTTRPCCommit.
func buildOldShim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "podd-shim")
	testutil.BuildShimAt(t, testutil.PreTTRPCCommit, bin)
	return bin
}
