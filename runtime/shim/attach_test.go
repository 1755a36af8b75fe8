package shim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/proto/shim/v1/shimgrpc"
	"github.com/podd-dev/podd/test/testutil"
)

// attachment is one attach session to a container, read in the background.
type attachment struct {
	t      *testing.T
	cancel context.CancelFunc
	stream shimgrpc.Shim_AttachClient
	out    chan *shimv1.AttachResponse
	errc   chan error
	stdout strings.Builder
	stderr strings.Builder
	exited bool
}

func (p *testPod) attach(start *shimv1.AttachStart) *attachment {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	p.t.Cleanup(cancel)
	stream, err := p.c.Attach(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := stream.Send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Start{Start: start}}); err != nil {
		p.t.Fatal(err)
	}
	a := &attachment{t: p.t, cancel: cancel, stream: stream, out: make(chan *shimv1.AttachResponse, 64), errc: make(chan error, 1)}
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				a.errc <- err
				close(a.out)
				return
			}
			a.out <- resp
		}
	}()
	return a
}

func (a *attachment) send(msg *shimv1.AttachRequest) {
	a.t.Helper()
	if err := a.stream.Send(msg); err != nil {
		a.t.Fatal(err)
	}
}

func (a *attachment) input(s string) {
	a.send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Stdin{Stdin: []byte(s)}})
}

// waitFor reads until cond holds on what was read, the session ends or the
// time is up.
func (a *attachment) waitFor(what string, cond func(a *attachment) bool) {
	a.t.Helper()
	timeout := time.After(30 * time.Second)
	for !cond(a) {
		select {
		case resp, ok := <-a.out:
			if !ok {
				a.t.Fatalf("%s: the session ended (%v) with stdout %q, stderr %q", what, <-a.errc, a.stdout.String(), a.stderr.String())
			}
			a.stdout.Write(resp.GetStdout())
			a.stderr.Write(resp.GetStderr())
			if resp.GetExit() != nil {
				a.exited = true
			}
		case <-timeout:
			a.t.Fatalf("%s: not within 30s; stdout %q, stderr %q", what, a.stdout.String(), a.stderr.String())
		}
	}
}

// An attached client gets the container's output from then on and feeds
// its stdin; detaching leaves the container running for the next client;
// with stdin_once the end of a client's input closes the container's stdin.
func TestAttachToStdinContainer(t *testing.T) {
	p := startPod(t)
	cfg := p.config("echo-0", p.rootfs("r"), "sh", "-c", `echo started; while read l; do echo "got $l"; echo "err $l" >&2; done; echo eof`)
	cfg.Stdin = true
	p.create(cfg)
	testutil.WaitFor(t, 10*time.Second, "started in the log", func() (bool, error) {
		return strings.Contains(strings.Join(p.logLines(cfg), "\n"), "started"), nil
	})

	a := p.attach(&shimv1.AttachStart{Container: "echo-0", Stdin: true, Stdout: true, Stderr: true})
	a.input("one\n")
	a.waitFor("echo of one", func(a *attachment) bool {
		return strings.Contains(a.stdout.String(), "got one\n") && strings.Contains(a.stderr.String(), "err one\n")
	})
	if strings.Contains(a.stdout.String(), "started") {
		t.Errorf("attach replayed output from before it: %q", a.stdout.String())
	}
	a.send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_CloseStdin{CloseStdin: true}})
	a.cancel()
	if st := p.state("echo-0"); st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		t.Fatalf("after a client without stdin_once detached: %v", st)
	}

	out := p.attach(&shimv1.AttachStart{Container: "echo-0", Stdout: true})
	b := p.attach(&shimv1.AttachStart{Container: "echo-0", Stdin: true, StdinOnce: true})
	b.input("two\n")
	out.waitFor("echo of two", func(a *attachment) bool { return strings.Contains(a.stdout.String(), "got two\n") })
	b.send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_CloseStdin{CloseStdin: true}})
	out.waitFor("the exit after stdin_once closed stdin", func(a *attachment) bool { return a.exited })
	if !strings.Contains(out.stdout.String(), "eof\n") || strings.Contains(out.stderr.String(), "err") {
		t.Errorf("stdout-only client got stdout %q stderr %q", out.stdout.String(), out.stderr.String())
	}
	if st := p.waitStopped("echo-0", 10*time.Second); st.GetExitCode() != 0 {
		t.Fatalf("exit: %v", st)
	}
	var logged []string
	for _, l := range p.logLines(cfg) {
		logged = append(logged, l[strings.Index(l, " ")+1:])
	}
	if got := strings.Join(logged, "|"); !strings.Contains(got, "stdout F got one|") || !strings.Contains(got, "stdout F got two|") {
		t.Errorf("log keeps the attached output: %q", got)
	}
}

// A terminal container: input goes to the terminal, resizes resize it, the
// output arrives as stdout.
func TestAttachToTerminalContainer(t *testing.T) {
	p := startPod(t)
	cfg := p.config("tty-0", p.rootfs("r"), "sh")
	cfg.Stdin, cfg.Tty = true, true
	p.create(cfg)

	a := p.attach(&shimv1.AttachStart{Container: "tty-0", Stdin: true, Stdout: true, Stderr: true, StdinOnce: true})
	a.send(&shimv1.AttachRequest{Msg: &shimv1.AttachRequest_Resize{Resize: &shimv1.Resize{Width: 101, Height: 33}}})
	a.input("stty size\n")
	a.waitFor("the terminal's size", func(a *attachment) bool { return strings.Contains(a.stdout.String(), "33 101") })
	a.input("exit 4\n")
	a.waitFor("the exit", func(a *attachment) bool { return a.exited })
	if st := p.waitStopped("tty-0", 10*time.Second); st.GetExitCode() != 4 {
		t.Fatalf("exit: %v", st)
	}
}

// Attach refuses what it cannot do, naming the container.
func TestAttachRefusals(t *testing.T) {
	p := startPod(t)
	p.create(p.config("app-0", p.rootfs("r"), "sleep", "600"))
	done := p.config("done-0", p.rootfs("r2"), "true")
	p.create(done)
	p.waitStopped("done-0", 10*time.Second)
	for _, tt := range []struct {
		start *shimv1.AttachStart
		code  codes.Code
		msg   string
	}{
		{&shimv1.AttachStart{Container: "app-0", Stdin: true, Stdout: true}, codes.FailedPrecondition, `container "app-0": it was not created with stdin`},
		{&shimv1.AttachStart{Container: "done-0", Stdout: true}, codes.FailedPrecondition, `container "done-0": it is stopped`},
		{&shimv1.AttachStart{Container: "nope", Stdout: true}, codes.NotFound, `container "nope": no such container`},
		{&shimv1.AttachStart{Stdout: true}, codes.InvalidArgument, "start with a container"},
	} {
		a := p.attach(tt.start)
		err := <-a.errc
		if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("attach %v: %v, want %v %q", tt.start, err, tt.code, tt.msg)
		}
	}
}
