package sandbox_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/network"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
)

func newService(h *podworkertest.Host) *sandbox.Service {
	return sandbox.New(sandbox.Deps{
		Network: h, Shims: podworkertest.Shims[sandbox.ShimClient]{Host: h},
		ShimBinary: "/bin/podd-shim", PauseBinary: "/bin/podd-pause", NodeIP: "192.0.2.1",
	})
}

func request(t *testing.T, hostNetwork bool) sandbox.Request {
	dir := t.TempDir()
	return sandbox.Request{
		ID: "sb1", Owner: "pod default/web",
		Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"},
			Spec: corev1.PodSpec{HostNetwork: hostNetwork}},
		Paths: sandbox.Paths{ShimDir: dir + "/shim", PodCgroup: "/podd/podu1", ShimCgroup: "/podd/shims/podu1",
			PauseLog: dir + "/pause.log"},
	}
}

// A failure at any step of a creation undoes everything made before it,
// and the error names the step.
func TestCreateRollsBackAtEveryStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*podworkertest.Host, *sandbox.Request)
		want  string
	}{
		{"network (CNI ADD)", func(h *podworkertest.Host, _ *sandbox.Request) {
			h.Script("network.setup", podworkertest.FaultError, 0)
		}, "set up pod network"},
		{"netns pin (the pause never starts)", func(h *podworkertest.Host, _ *sandbox.Request) {
			h.Script("network.pin", podworkertest.FaultError, 0)
		}, "set up pod network"},
		{"pause create and CNI ADD both fail", func(h *podworkertest.Host, _ *sandbox.Request) {
			h.Script("pause.create", podworkertest.FaultError, 0)
			h.Script("network.setup", podworkertest.FaultError, 0)
		}, "set up pod network"},
		{"pod files and pause create both fail", func(h *podworkertest.Host, r *sandbox.Request) {
			h.Script("pause.create", podworkertest.FaultError, 0)
			r.WriteFiles = func(*sandbox.Instance) error { return errors.New("write pod files: disk full") }
		}, "write pod files"},
		{"pod files panic while the pause starts", func(_ *podworkertest.Host, r *sandbox.Request) {
			r.WriteFiles = func(*sandbox.Instance) error { panic("pod files") }
		}, "panic"},
		{"pod files", func(_ *podworkertest.Host, r *sandbox.Request) {
			r.WriteFiles = func(*sandbox.Instance) error { return errors.New("write pod files: disk full") }
		}, "write pod files"},
		{"shim launch", func(h *podworkertest.Host, _ *sandbox.Request) { h.Script("shim.launch", podworkertest.FaultError, 0) }, "start shim"},
		{"network panics while the shim launches", func(h *podworkertest.Host, _ *sandbox.Request) {
			h.Script("network.setup", podworkertest.FaultPanic, 0)
		}, "panic"},
		{"shim launch panics", func(h *podworkertest.Host, _ *sandbox.Request) { h.Script("shim.launch", podworkertest.FaultPanic, 0) }, "panic"},
		{"network and shim launch both fail", func(h *podworkertest.Host, _ *sandbox.Request) {
			h.Script("network.setup", podworkertest.FaultError, 0)
			h.Script("shim.launch", podworkertest.FaultError, 0)
		}, "set up pod network"},
		{"pause create", func(h *podworkertest.Host, _ *sandbox.Request) { h.Script("pause.create", podworkertest.FaultError, 0) }, "start pause"},
		{"pause exits at once", func(h *podworkertest.Host, _ *sandbox.Request) { h.PauseExits = true }, "start pause"},
		{"pause create panics", func(h *podworkertest.Host, _ *sandbox.Request) { h.Script("pause.create", podworkertest.FaultPanic, 0) }, "panic"},
		{"prestart beside the pause panics", func(_ *podworkertest.Host, r *sandbox.Request) {
			r.Prestart = func(context.Context, sandbox.ShimClient, string) { panic("prestart") }
		}, "panic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := podworkertest.NewHost()
			req := request(t, false)
			tc.setup(h, &req)
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = errors.New("panic")
					}
				}()
				_, _, err = newService(h).Create(context.Background(), req)
			}()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create error %v, want one naming %q", err, tc.want)
			}
			if l := h.Leaks(); len(l) > 0 {
				t.Errorf("left behind after the rollback: %v", l)
			}
		})
	}
}

// Create makes network (with the shim and the pause), then files, and
// reports the address; Release undoes it all and may be repeated.
func TestCreateThenReleaseTwice(t *testing.T) {
	h := podworkertest.NewHost()
	svc := newService(h)
	req := request(t, false)
	var steps []string
	req.WriteFiles = func(inst *sandbox.Instance) error {
		if inst.IP == "" {
			t.Error("pod files written before the address is known")
		}
		return nil
	}
	req.Mark = func(step string, _ time.Time, _ []sandbox.Phase) { steps = append(steps, step) }
	inst, cl, err := svc.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if inst.IP == "" || inst.NetnsPath == "" || !h.HasNetwork("sb1") || !h.HasShim(req.Paths.ShimDir) {
		t.Fatalf("instance %+v; network %v shim %v", inst, h.HasNetwork("sb1"), h.HasShim(req.Paths.ShimDir))
	}
	if want := "network pod_files shim pause"; strings.Join(steps, " ") != want {
		t.Errorf("steps %v, want %s", steps, want)
	}
	td := sandbox.Teardown{ID: inst.ID, Paths: req.Paths, Shim: cl}
	for i := 0; i < 2; i++ {
		if err := svc.Release(context.Background(), td); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
		td.Shim = nil
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A hostNetwork sandbox has the node's address and no CNI attachment.
func TestCreateHostNetwork(t *testing.T) {
	h := podworkertest.NewHost()
	inst, _, err := newService(h).Create(context.Background(), request(t, true))
	if err != nil {
		t.Fatal(err)
	}
	if inst.IP != "192.0.2.1" || inst.NetnsPath != "" || h.Count("network.setup") != 0 {
		t.Errorf("instance %+v, %d CNI ADDs", inst, h.Count("network.setup"))
	}
}

// gatedNetwork is the fake host's network whose CNI ADD waits for a shim
// launch to begin (or gives up after a while).
type gatedNetwork struct {
	*podworkertest.Host
	launching <-chan struct{}
}

func (n gatedNetwork) Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error) {
	select {
	case <-n.launching:
		return n.Host.Setup(ctx, req)
	case <-time.After(5 * time.Second):
		return nil, errors.New("the shim was not launched while CNI ADD ran")
	}
}

// signallingShims tells launching when a launch begins.
type signallingShims struct {
	podworkertest.Shims[sandbox.ShimClient]
	once      *sync.Once
	launching chan struct{}
}

func (s signallingShims) Launch(ctx context.Context, cfg shim.LaunchConfig) (sandbox.ShimClient, error) {
	s.once.Do(func() { close(s.launching) })
	return s.Shims.Launch(ctx, cfg)
}

// The shim starts while CNI ADD runs (issue 13: the two waited on each
// other for ~300 ms each on every sandbox start).
func TestCreateLaunchesShimDuringCNIAdd(t *testing.T) {
	h := podworkertest.NewHost()
	launching := make(chan struct{})
	svc := sandbox.New(sandbox.Deps{
		Network:    gatedNetwork{Host: h, launching: launching},
		Shims:      signallingShims{Shims: podworkertest.Shims[sandbox.ShimClient]{Host: h}, once: &sync.Once{}, launching: launching},
		ShimBinary: "/bin/podd-shim", PauseBinary: "/bin/podd-pause", NodeIP: "192.0.2.1",
	})
	req := request(t, false)
	inst, cl, err := svc.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Release(context.Background(), sandbox.Teardown{ID: inst.ID, Paths: req.Paths, Shim: cl}); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// pauseGatedNetwork is the fake host's network whose CNI ADD, once the
// netns is pinned, waits for the pause to be created (or gives up after a
// while), then fails with err or succeeds.
type pauseGatedNetwork struct {
	*podworkertest.Host
	err error
}

func (n pauseGatedNetwork) Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error) {
	req.Pinned("/run/fake/netns/" + req.SandboxID)
	deadline := time.Now().Add(5 * time.Second)
	for n.Count("pause.create") == 0 {
		if time.Now().After(deadline) {
			return nil, errors.New("the pause was not started while CNI ADD ran")
		}
		time.Sleep(time.Millisecond)
	}
	if n.err != nil {
		return nil, n.err
	}
	req.Pinned = nil
	return n.Host.Setup(ctx, req)
}

// The pause starts in the pinned netns while CNI ADD runs (it needs the
// namespace, not the network's result); a CNI ADD that then fails undoes
// the shim with the pause.
func TestCreateStartsPauseDuringCNIAdd(t *testing.T) {
	for _, fail := range []bool{false, true} {
		h := podworkertest.NewHost()
		var cniErr error
		if fail {
			cniErr = errors.New("injected CNI ADD failure")
		}
		svc := sandbox.New(sandbox.Deps{
			Network: pauseGatedNetwork{Host: h, err: cniErr}, Shims: podworkertest.Shims[sandbox.ShimClient]{Host: h},
			ShimBinary: "/bin/podd-shim", PauseBinary: "/bin/podd-pause", NodeIP: "192.0.2.1",
		})
		req := request(t, false)
		inst, cl, err := svc.Create(context.Background(), req)
		if fail {
			if err == nil || !strings.Contains(err.Error(), "injected CNI ADD failure") {
				t.Errorf("Create error %v, want the CNI ADD's", err)
			}
		} else {
			if err != nil {
				t.Fatal(err)
			}
			if inst.NetnsPath != "/run/fake/netns/sb1" {
				t.Errorf("netns %q", inst.NetnsPath)
			}
			if err := svc.Release(context.Background(), sandbox.Teardown{ID: inst.ID, Paths: req.Paths, Shim: cl}); err != nil {
				t.Fatal(err)
			}
		}
		if l := h.Leaks(); len(l) > 0 {
			t.Errorf("CNI ADD failing %v: left behind: %v", fail, l)
		}
	}
}

// Prestart runs on the shim's side once the pause runs in the pinned netns,
// while CNI ADD still runs, and Create waits for it ("prestart" after
// "pause"); when CNI ADD fails its context ends and the shim's stop undoes
// what it made.
func TestCreateRunsPrestartBesideTheNetwork(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "network up", true: "network fails"}[fail], func(t *testing.T) {
			h := podworkertest.NewHost()
			h.AddGate = make(chan struct{})
			if fail {
				h.Script("network.setup", podworkertest.FaultError, 1)
			}
			svc := newService(h)
			req := request(t, false)
			var steps []string
			req.Mark = func(step string, _ time.Time, _ []sandbox.Phase) { steps = append(steps, step) }
			var side []string
			req.Side = func(parts []sandbox.Phase) {
				for _, p := range parts {
					side = append(side, p.Name)
				}
			}
			ran := make(chan string, 1)
			req.Prestart = func(ctx context.Context, cl sandbox.ShimClient, netnsPath string) {
				ran <- netnsPath
				if fail {
					<-ctx.Done() // ended by the failed network
				}
			}
			type result struct {
				inst *sandbox.Instance
				err  error
			}
			done := make(chan result, 1)
			go func() {
				inst, _, err := svc.Create(context.Background(), req)
				done <- result{inst, err}
			}()
			select {
			case path := <-ran:
				if path == "" {
					t.Errorf("prestart got no netns path")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("prestart did not run while CNI ADD was held")
			}
			close(h.AddGate)
			r := <-done
			if fail {
				if r.err == nil {
					t.Fatal("create succeeded with a failed network")
				}
				if l := h.Leaks(); len(l) > 0 {
					t.Errorf("left behind: %v", l)
				}
				return
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			if want := "network shim pause prestart"; strings.Join(steps, " ") != want {
				t.Errorf("steps %v, want %s", steps, want)
			}
			if want := "par_shim par_netns_wait par_pause par_prestart"; strings.Join(side, " ") != want {
				t.Errorf("side steps %v, want %s", side, want)
			}
		})
	}
}

// A pod's containers join the pause in its UTS and IPC namespaces, which
// the shim makes as it starts (pinned): Prestart then makes them beside
// the pause's start instead of after it. A shim that pinned nothing (one
// from before pins), or a pod whose containers also join the pause's PID
// namespace, waits for the pause.
func TestCreateRunsPrestartBesideThePauseWhenTheShimPinsItsNamespaces(t *testing.T) {
	shared := true
	for _, tc := range []struct {
		name       string
		withoutPin bool
		spec       func(*corev1.PodSpec)
		pinned     []string
		beside     bool
	}{
		{name: "pinned", pinned: []string{"uts", "ipc"}, beside: true},
		{name: "hostIPC", spec: func(s *corev1.PodSpec) { s.HostIPC = true }, pinned: []string{"uts", "ipc"}, beside: true},
		{name: "shim without pins", withoutPin: true, beside: false},
		{name: "shared pid namespace", spec: func(s *corev1.PodSpec) { s.ShareProcessNamespace = &shared },
			pinned: []string{"uts", "ipc"}, beside: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := podworkertest.NewHost()
			h.ShimWithoutPins = tc.withoutPin
			// Beside: the pause's start is held until prestart ran, which
			// never ends if prestart waits for it.
			pauseGate := make(chan struct{})
			if tc.beside {
				h.OnStep("pause.create", func() { <-pauseGate })
			} else {
				close(pauseGate)
			}
			svc := newService(h)
			req := request(t, false)
			if tc.spec != nil {
				tc.spec(&req.Pod.Spec)
			}
			ran := make(chan []string, 1)
			req.Prestart = func(ctx context.Context, cl sandbox.ShimClient, netnsPath string) {
				st, err := cl.State(ctx, &shimv1.StateRequest{})
				if err != nil {
					t.Errorf("shim state: %v", err)
				}
				if running := slices.ContainsFunc(st.GetContainers(), func(c *shimv1.ContainerState) bool {
					return c.GetId() == "pause" && c.GetStatus() == shimv1.Status_STATUS_RUNNING
				}); running == tc.beside {
					t.Errorf("prestart ran with the pause running %v, want %v", running, !tc.beside)
				}
				ran <- cl.PinnedNamespaces()
			}
			done := make(chan error, 1)
			go func() {
				_, cl, err := svc.Create(context.Background(), req)
				if cl != nil {
					defer cl.Stop(context.Background(), true)
				}
				done <- err
			}()
			var pinned []string
			select {
			case pinned = <-ran:
			case <-time.After(10 * time.Second):
				t.Fatal("prestart did not run while the pause was starting")
			}
			if tc.beside {
				close(pauseGate)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if strings.Join(pinned, ",") != strings.Join(tc.pinned, ",") {
				t.Errorf("shim pinned %v, want %v", pinned, tc.pinned)
			}
		})
	}
}

// A pause that fails to start while the containers are made beside it
// fails the creation, which undoes everything (the held containers go with
// the shim).
func TestCreateUndoesPrestartBesideAFailedPause(t *testing.T) {
	h := podworkertest.NewHost()
	h.Script("pause.create", podworkertest.FaultError, 0)
	svc := newService(h)
	req := request(t, false)
	made := make(chan struct{})
	req.Prestart = func(ctx context.Context, cl sandbox.ShimClient, netnsPath string) {
		defer close(made)
		if _, err := cl.CreateContainer(ctx, &shimv1.CreateContainerRequest{Hold: true, Config: &shimv1.ContainerConfig{
			Id: "app-0", Namespaces: []*shimv1.Namespace{{Type: "uts", Container: "pause"}, {Type: "ipc", Container: "pause"}},
		}}); err != nil {
			t.Errorf("hold a container beside the pause: %v", err)
		}
	}
	if _, _, err := svc.Create(context.Background(), req); err == nil || !strings.Contains(err.Error(), "start pause") {
		t.Fatalf("err = %v, want the pause's failure", err)
	}
	<-made
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}
