package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/runtime/idmap"
)

// recordingNetwork is the fake host's network remembering what Setup was
// asked.
type recordingNetwork struct {
	*podworkertest.Host
	got *network.SetupRequest
}

func (n recordingNetwork) Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error) {
	*n.got = req
	return n.Host.Setup(ctx, req)
}

func usernsRequest(t *testing.T) sandbox.Request {
	req := request(t, false)
	req.UserNS = &idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 100000, Size: 65536}},
		GIDs: []idmap.Range{{ContainerID: 0, HostID: 100000, Size: 65536}}}
	return req
}

// A sandbox with its own user namespace: its pause makes the netns, so
// the network comes after it and pins the pause's (the fake shim's pause
// is pid 100); Release undoes it all.
func TestCreateInUserNamespace(t *testing.T) {
	h := podworkertest.NewHost()
	var got network.SetupRequest
	svc := sandbox.New(sandbox.Deps{
		Network: recordingNetwork{Host: h, got: &got}, Shims: podworkertest.Shims[sandbox.ShimClient]{Host: h},
		ShimBinary: "/bin/podd-shim", PauseBinary: "/bin/podd-pause", NodeIP: "192.0.2.1",
	})
	req := usernsRequest(t)
	var steps []string
	req.Mark = func(step string, _ time.Time, _ []sandbox.Phase) { steps = append(steps, step) }
	req.WriteFiles = func(inst *sandbox.Instance) error {
		if inst.IP == "" {
			t.Error("pod files written before the address is known")
		}
		return nil
	}
	inst, cl, err := svc.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := "shim pause network pod_files"; strings.Join(steps, " ") != want {
		t.Errorf("steps %v, want %s", steps, want)
	}
	if got.NetnsFrom != "/proc/100/ns/net" || inst.IP == "" {
		t.Errorf("network set up from %q (IP %q), want the pause's netns /proc/100/ns/net", got.NetnsFrom, inst.IP)
	}
	if err := svc.Release(context.Background(), sandbox.Teardown{ID: inst.ID, Paths: req.Paths, Shim: cl}); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestCreateInUserNamespaceRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*podworkertest.Host, *sandbox.Request)
		want  string
	}{
		{"shim launch", func(h *podworkertest.Host, _ *sandbox.Request) { h.Script("shim.launch", podworkertest.FaultError, 0) }, "start shim"},
		{"pause create", func(h *podworkertest.Host, _ *sandbox.Request) { h.Script("pause.create", podworkertest.FaultError, 0) }, "start pause"},
		{"network", func(h *podworkertest.Host, _ *sandbox.Request) {
			h.Script("network.setup", podworkertest.FaultError, 0)
		}, "set up pod network"},
		{"pod files", func(_ *podworkertest.Host, r *sandbox.Request) {
			r.WriteFiles = func(*sandbox.Instance) error { return errors.New("write pod files: disk full") }
		}, "write pod files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := podworkertest.NewHost()
			req := usernsRequest(t)
			tc.setup(h, &req)
			_, _, err := newService(h).Create(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create error %v, want one naming %q", err, tc.want)
			}
			if l := h.Leaks(); len(l) > 0 {
				t.Errorf("left behind after the rollback: %v", l)
			}
		})
	}
}
