package cri

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/podd-dev/podd/internal/errdefs"
)

// streamFakes is the daemon's CRI containers as the streaming calls see
// them: a table of containers, and a record of each exec and attach.
type streamFakes struct {
	mu       sync.Mutex
	targets  map[string]Container
	execs    []ExecOptions
	attaches []AttachOptions
	code     int32
	err      error
	sizes    []Size
}

func (f *streamFakes) Get(_ context.Context, id string) (Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.targets[id]
	if !ok {
		return Container{}, errdefs.Classed(errdefs.ErrNotFound, "container %q not found", id)
	}
	return c, nil
}

// streamTarget is a container in state with the stdin settings of cfg.
func streamTarget(state runtimeapi.ContainerState, cfg *runtimeapi.ContainerConfig) Container {
	b, err := proto.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return Container{State: state, Config: b}
}

// Exec echoes its stdin to stdout after the command, and records the
// terminal sizes it is sent until its stdin ends.
func (f *streamFakes) Exec(_ context.Context, id string, opts ExecOptions) (int32, error) {
	f.mu.Lock()
	f.execs = append(f.execs, opts)
	code, err := f.code, f.err
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(opts.Stdout, "%s in %s:", strings.Join(opts.Cmd, " "), id)
	if opts.Stdin != nil {
		io.Copy(opts.Stdout, opts.Stdin)
	}
	if opts.Resize != nil {
		for s := range opts.Resize {
			f.mu.Lock()
			f.sizes = append(f.sizes, s)
			f.mu.Unlock()
		}
	}
	return code, nil
}

func (f *streamFakes) Attach(_ context.Context, id string, opts AttachOptions) error {
	f.mu.Lock()
	f.attaches = append(f.attaches, opts)
	f.mu.Unlock()
	if opts.Stdout != nil {
		fmt.Fprintf(opts.Stdout, "attached to %s tty=%v", id, opts.Tty)
	}
	if opts.Stderr != nil {
		fmt.Fprint(opts.Stderr, "err")
	}
	return f.err
}

// streamConfig serves a stream server on a loopback port for the test.
func streamConfig(t *testing.T, cfg Config, ctrs StreamContainers, dial func(context.Context, string, string, string) (net.Conn, error)) Config {
	t.Helper()
	if dial == nil {
		dial = func(context.Context, string, string, string) (net.Conn, error) {
			return nil, errors.New("no dial in this test")
		}
	}
	srv, err := ListenStreams(StreamConfig{Addr: "127.0.0.1:0", Containers: ctrs, Sandboxes: cfg.Sandboxes, Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	cfg.Streams = srv
	return cfg
}

func streamTestConfig(t *testing.T) (Config, *fakeSandboxes, *streamFakes) {
	cfg, _, _ := testConfig()
	sbs := &fakeSandboxes{sbs: []Sandbox{
		{ID: "sb-ready", Ready: true, NetnsPath: "/run/podd/netns/sb-ready"},
		{ID: "sb-stopped", Ready: false},
	}}
	cfg.Sandboxes = sbs
	running, exited, created := runtimeapi.ContainerState_CONTAINER_RUNNING, runtimeapi.ContainerState_CONTAINER_EXITED, runtimeapi.ContainerState_CONTAINER_CREATED
	ctrs := &streamFakes{targets: map[string]Container{
		"running":  streamTarget(running, &runtimeapi.ContainerConfig{}),
		"stdin":    streamTarget(running, &runtimeapi.ContainerConfig{Stdin: true}),
		"exited":   streamTarget(exited, &runtimeapi.ContainerConfig{Stdin: true}),
		"creating": streamTarget(created, &runtimeapi.ContainerConfig{}),
	}}
	return streamConfig(t, cfg, ctrs, nil), sbs, ctrs
}

// The kubelet's checks of Exec, Attach and PortForward requests, and the
// container's or sandbox's state, each refused with the field or the
// object named.
func TestStreamingRequestsAreChecked(t *testing.T) {
	cfg, _, _ := streamTestConfig(t)
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	exec := func(r *runtimeapi.ExecRequest) error { _, err := rc.Exec(ctx, r); return err }
	attach := func(r *runtimeapi.AttachRequest) error { _, err := rc.Attach(ctx, r); return err }
	pf := func(r *runtimeapi.PortForwardRequest) error { _, err := rc.PortForward(ctx, r); return err }
	for _, tt := range []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"exec without container", exec(&runtimeapi.ExecRequest{Cmd: []string{"sh"}, Stdout: true}), codes.InvalidArgument, "container_id is required"},
		{"exec without cmd", exec(&runtimeapi.ExecRequest{ContainerId: "running", Stdout: true}), codes.InvalidArgument, "cmd: must not be empty"},
		{"exec tty with stderr", exec(&runtimeapi.ExecRequest{ContainerId: "running", Cmd: []string{"sh"}, Tty: true, Stdout: true, Stderr: true}), codes.InvalidArgument, "stderr: must be false with tty"},
		{"exec without streams", exec(&runtimeapi.ExecRequest{ContainerId: "running", Cmd: []string{"sh"}}), codes.InvalidArgument, "stdin, stdout, stderr: at least one must be true"},
		{"exec in unknown container", exec(&runtimeapi.ExecRequest{ContainerId: "nope", Cmd: []string{"sh"}, Stdout: true}), codes.NotFound, `container "nope" not found`},
		{"exec in exited container", exec(&runtimeapi.ExecRequest{ContainerId: "exited", Cmd: []string{"sh"}, Stdout: true}), codes.FailedPrecondition, `exec in container "exited": it is CONTAINER_EXITED, not running`},
		{"exec in created container", exec(&runtimeapi.ExecRequest{ContainerId: "creating", Cmd: []string{"sh"}, Stdout: true}), codes.FailedPrecondition, `it is CONTAINER_CREATED, not running`},
		{"attach without container", attach(&runtimeapi.AttachRequest{Stdout: true}), codes.InvalidArgument, "container_id is required"},
		{"attach tty with stderr", attach(&runtimeapi.AttachRequest{ContainerId: "stdin", Tty: true, Stdout: true, Stderr: true}), codes.InvalidArgument, "stderr: must be false with tty"},
		{"attach without streams", attach(&runtimeapi.AttachRequest{ContainerId: "stdin"}), codes.InvalidArgument, "at least one must be true"},
		{"attach to exited container", attach(&runtimeapi.AttachRequest{ContainerId: "exited", Stdout: true}), codes.FailedPrecondition, `attach to container "exited": it is CONTAINER_EXITED`},
		{"attach stdin without stdin", attach(&runtimeapi.AttachRequest{ContainerId: "running", Stdin: true}), codes.FailedPrecondition, `stdin: container "running" was not created with stdin`},
		{"port forward without sandbox", pf(&runtimeapi.PortForwardRequest{Port: []int32{80}}), codes.InvalidArgument, "pod_sandbox_id is required"},
		{"port forward to port 0", pf(&runtimeapi.PortForwardRequest{PodSandboxId: "sb-ready", Port: []int32{80, 0}}), codes.InvalidArgument, "port[1]: 0 is not a port number"},
		{"port forward to port 65536", pf(&runtimeapi.PortForwardRequest{PodSandboxId: "sb-ready", Port: []int32{65536}}), codes.InvalidArgument, "port[0]: 65536 is not a port number"},
		{"port forward to unknown sandbox", pf(&runtimeapi.PortForwardRequest{PodSandboxId: "nope", Port: []int32{80}}), codes.NotFound, `sandbox "nope" not found`},
		{"port forward to stopped sandbox", pf(&runtimeapi.PortForwardRequest{PodSandboxId: "sb-stopped", Port: []int32{80}}), codes.FailedPrecondition, `pod sandbox "sb-stopped": it is not ready`},
	} {
		if status.Code(tt.err) != tt.code || !strings.Contains(status.Convert(tt.err).Message(), tt.msg) {
			t.Errorf("%s: %v, want %v %q", tt.name, tt.err, tt.code, tt.msg)
		}
	}
}

// A valid request gets a one-time URL on the stream server: the URL is
// served once, then it is gone.
func TestStreamingURLsPointAtTheStreamServer(t *testing.T) {
	cfg, _, _ := streamTestConfig(t)
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	var urls []string
	e, err := rc.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: "running", Cmd: []string{"sh"}, Tty: true, Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := rc.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: "stdin", Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := rc.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: "sb-ready", Port: []int32{8080}})
	if err != nil {
		t.Fatal(err)
	}
	urls = append(urls, e.GetUrl(), a.GetUrl(), p.GetUrl())
	for i, kind := range []string{"exec", "attach", "portforward"} {
		re := regexp.MustCompile(`^http://` + regexp.QuoteMeta(cfg.Streams.Addr()) + `/` + kind + `/[A-Za-z0-9_-]{8}$`)
		if !re.MatchString(urls[i]) {
			t.Fatalf("%s URL %q, want %s", kind, urls[i], re)
		}
		// Without an upgrade the session is refused, but the token is
		// consumed: a second use is not found.
		resp, err := http.Get(urls[i])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Fatalf("%s URL not served: %s", kind, resp.Status)
		}
		resp, err = http.Get(urls[i])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s URL used twice: %s", kind, resp.Status)
		}
	}
}

// Without CRI containers, Exec and Attach say they are not implemented
// yet, while PortForward works.
func TestStreamingWithoutContainers(t *testing.T) {
	cfg, _, _ := testConfig()
	cfg.Sandboxes = &fakeSandboxes{sbs: []Sandbox{{ID: "sb", Ready: true}}}
	cfg = streamConfig(t, cfg, nil, nil)
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	_, err := rc.Exec(ctx, &runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"sh"}, Stdout: true})
	if status.Code(err) != codes.Unimplemented || status.Convert(err).Message() != "Exec: not yet implemented in podd" {
		t.Errorf("Exec: %v", err)
	}
	_, err = rc.Attach(ctx, &runtimeapi.AttachRequest{ContainerId: "c", Stdout: true})
	if status.Code(err) != codes.Unimplemented || status.Convert(err).Message() != "Attach: not yet implemented in podd" {
		t.Errorf("Attach: %v", err)
	}
	if _, err := rc.PortForward(ctx, &runtimeapi.PortForwardRequest{PodSandboxId: "sb"}); err != nil {
		t.Errorf("PortForward: %v", err)
	}
}

// The streaming.Runtime adaptor: an exec's exit code reaches the server as
// an ExitError, resizes reach the container, errors name the container.
func TestStreamRuntimeExec(t *testing.T) {
	ctrs := &streamFakes{code: 3}
	r := &streamRuntime{containers: ctrs}
	var out bytes.Buffer
	resize := make(chan remotecommand.TerminalSize, 2)
	resize <- remotecommand.TerminalSize{Width: 80, Height: 24}
	resize <- remotecommand.TerminalSize{Width: 100, Height: 40}
	close(resize)
	err := r.Exec(context.Background(), "c1", []string{"sh", "-c", "x"}, strings.NewReader("input"), nopCloser{&out}, nil, true, resize)
	var exitErr utilexec.ExitError
	if !errors.As(err, &exitErr) || !exitErr.Exited() || exitErr.ExitStatus() != 3 {
		t.Fatalf("exit 3: %v", err)
	}
	if out.String() != "sh -c x in c1:input" {
		t.Errorf("stdout %q", out.String())
	}
	got := ctrs.execs[0]
	if !got.Tty || got.Stderr != nil || got.Timeout != 0 {
		t.Errorf("exec options %+v", got)
	}
	if want := []Size{{80, 24}, {100, 40}}; fmt.Sprint(ctrs.sizes) != fmt.Sprint(want) {
		t.Errorf("sizes %v, want %v", ctrs.sizes, want)
	}

	ctrs.code = 0
	if err := r.Exec(context.Background(), "c1", []string{"true"}, nil, nopCloser{io.Discard}, nil, false, nil); err != nil {
		t.Fatalf("exit 0: %v", err)
	}
	if o := ctrs.execs[1]; o.Stdin != nil || o.Resize != nil {
		t.Errorf("no stdin, no tty: %+v", o)
	}
	ctrs.err = errdefs.Classed(errdefs.ErrFailedPrecondition, "container exited")
	err = r.Exec(context.Background(), "c1", []string{"true"}, nil, nopCloser{io.Discard}, nil, false, nil)
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), `exec in container "c1"`) || errors.As(err, &exitErr) {
		t.Fatalf("failed exec: %v", err)
	}
	if err := (&streamRuntime{}).Exec(context.Background(), "c1", []string{"true"}, nil, nil, nil, false, nil); !errors.Is(err, errNoContainers) {
		t.Fatalf("exec without containers: %v", err)
	}
}

// Attach passes the container's stdin_once and the client's streams.
func TestStreamRuntimeAttach(t *testing.T) {
	ctrs := &streamFakes{targets: map[string]Container{
		"c1": streamTarget(runtimeapi.ContainerState_CONTAINER_RUNNING, &runtimeapi.ContainerConfig{Stdin: true, StdinOnce: true, Tty: true}),
	}}
	r := &streamRuntime{containers: ctrs}
	var out bytes.Buffer
	if err := r.Attach(context.Background(), "c1", strings.NewReader("x"), nopCloser{&out}, nil, true, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "attached to c1 tty=true" {
		t.Errorf("stdout %q (stderr must be nil, not a nil writer in an interface)", out.String())
	}
	if o := ctrs.attaches[0]; !o.StdinOnce || o.Stdin == nil || o.Stderr != nil || !o.Tty {
		t.Errorf("attach options %+v", o)
	}
	ctrs.err = errors.New("shim gone")
	if err := r.Attach(context.Background(), "c1", nil, nopCloser{&out}, nil, false, nil); err == nil || !strings.Contains(err.Error(), `attach to container "c1": shim gone`) {
		t.Fatalf("attach error: %v", err)
	}
	if err := r.Attach(context.Background(), "gone", nil, nopCloser{&out}, nil, false, nil); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("attach to an unknown container: %v", err)
	}
}

// PortForward dials the port on the loopback of the sandbox's namespace,
// half-closes it when the client's data ends and returns the answer.
func TestStreamRuntimePortForward(t *testing.T) {
	lis, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			req, _ := io.ReadAll(c) // to the client's end of data
			fmt.Fprintf(c, "pong:%s", req)
			c.Close()
		}
	}()
	port := int32(lis.Addr().(*net.TCPAddr).Port)
	var dialed []string
	dial := func(ctx context.Context, netns, network, addr string) (net.Conn, error) {
		dialed = append(dialed, netns+" "+network+" "+addr)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	sbs := &fakeSandboxes{sbs: []Sandbox{{ID: "sb", Ready: true, NetnsPath: "/run/podd/netns/sb"}, {ID: "down"}}}
	r := &streamRuntime{sandboxes: sbs, dial: dial}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := &clientStream{in: strings.NewReader("ping")}
	if err := r.PortForward(ctx, "sb", port, stream); err != nil {
		t.Fatal(err)
	}
	if stream.out.String() != "pong:ping" {
		t.Errorf("client got %q", stream.out.String())
	}
	if want := fmt.Sprintf("/run/podd/netns/sb tcp4 127.0.0.1:%d", port); len(dialed) != 1 || dialed[0] != want {
		t.Errorf("dialed %q, want %q", dialed, want)
	}

	refused := func(context.Context, string, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	}
	err = (&streamRuntime{sandboxes: sbs, dial: refused}).PortForward(ctx, "sb", 81, &clientStream{in: strings.NewReader("")})
	if err == nil || !strings.Contains(err.Error(), `pod sandbox "sb": nothing listens on port 81 of its loopback`) {
		t.Errorf("refused: %v", err)
	}
	if err := r.PortForward(ctx, "down", port, &clientStream{in: strings.NewReader("")}); err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Errorf("stopped sandbox: %v", err)
	}
	if err := r.PortForward(ctx, "gone", port, &clientStream{in: strings.NewReader("")}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("unknown sandbox: %v", err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// clientStream is a port-forward client: its data, then the answer.
type clientStream struct {
	in  io.Reader
	mu  sync.Mutex
	out bytes.Buffer
}

func (c *clientStream) Read(b []byte) (int, error) { return c.in.Read(b) }
func (c *clientStream) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(b)
}
func (c *clientStream) Close() error { return nil }
