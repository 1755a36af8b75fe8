package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/errdefs"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	podspec "github.com/podd-dev/podd/runtime/spec"
)

func openContainers(t *testing.T, h *podworkertest.Host, r *sandbox.Registry, layout store.Layout) *sandbox.Containers {
	t.Helper()
	c, err := sandbox.OpenContainers(context.Background(), r, layout, h, h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// webSandbox is a fake host, a layout, and the registry and containers
// over them, with sandbox "web" made.
func webSandbox(t *testing.T) (*podworkertest.Host, store.Layout, *sandbox.Registry, *sandbox.Containers, sandbox.Record) {
	t.Helper()
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	c := openContainers(t, h, r, layout)
	sb, err := r.Run(context.Background(), spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	return h, layout, r, c, sb
}

func containerSpec(sb, name string) sandbox.ContainerSpec {
	return sandbox.ContainerSpec{SandboxID: sb, Name: name, Image: "busybox", Labels: map[string]string{"c": name},
		Process: podspec.CRIInput{Command: []string{"sleep", "3600"}}}
}

func state(t *testing.T, c *sandbox.Containers, id string) sandbox.ContainerStatus {
	t.Helper()
	st, err := c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Create mounts a rootfs and records the container CREATED; Start runs it
// in the sandbox's shim; Stop sends the stop signal, then SIGKILL after
// the timeout; Remove unmounts and forgets it; both succeed for unknown
// IDs; removing the sandbox's containers and the sandbox leaves nothing.
func TestContainersLifecycle(t *testing.T) {
	h, layout, r, c, sb := webSandbox(t)
	ctx := context.Background()
	id, err := c.Create(ctx, containerSpec(sb.ID, "app"))
	if err != nil {
		t.Fatal(err)
	}
	if st := state(t, c, id); st.State != sandbox.StateCreated || st.ImageID != "sha256:fake" || st.Labels["c"] != "app" {
		t.Errorf("after Create: %+v", st)
	}
	if _, err := os.Stat(layout.CRIContainerFile(id)); err != nil {
		t.Errorf("no record: %v", err)
	}
	if _, err := c.Create(ctx, containerSpec(sb.ID, "app")); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second Create of the same name and attempt: %v", err)
	}
	if _, err := c.Create(ctx, containerSpec("nope", "app")); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Create in an unknown sandbox: %v", err)
	}
	if err := c.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, id); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("second Start: %v", err)
	}
	if st := state(t, c, id); st.State != sandbox.StateRunning || st.Pid == 0 || st.StartedAt.IsZero() {
		t.Errorf("after Start: %+v", st)
	}
	if err := c.Update(ctx, id, &shimv1.Resources{CpuShares: 256}, []byte("client v2")); err != nil {
		t.Fatalf("Update of a running container: %v", err)
	}
	if st := state(t, c, id); string(st.Client) != "client v2" {
		t.Errorf("client config after Update: %q", st.Client)
	}
	h.IgnoreTerm = true
	start := time.Now()
	if err := c.Stop(ctx, id, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("SIGKILL came %s after the stop signal, before the timeout", took)
	}
	sigs := h.SignalsTo(id)
	if len(sigs) != 2 || sigs[0].Sig != 15 || sigs[1].Sig != 9 {
		t.Errorf("signals %+v, want TERM then KILL", sigs)
	}
	if st := state(t, c, id); st.State != sandbox.StateExited || st.Reason != "Completed" || st.FinishedAt.IsZero() {
		t.Errorf("after Stop: %+v", st)
	}
	if err := c.Update(ctx, id, &shimv1.Resources{CpuShares: 256}, nil); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("Update of a stopped container: %v", err)
	}
	if _, err := c.Exec(ctx, id, sandbox.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("Exec in a stopped container: %v", err)
	}
	if _, err := c.Exec(ctx, "nope", sandbox.ExecRequest{Cmd: []string{"true"}}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Exec in an unknown container: %v", err)
	}
	for _, x := range []string{id, id, "unknown"} {
		if err := c.Remove(ctx, x); err != nil {
			t.Errorf("Remove %s: %v", x, err)
		}
		if err := c.Stop(ctx, x, 0); err != nil {
			t.Errorf("Stop %s: %v", x, err)
		}
	}
	if _, err := os.Stat(layout.CRIContainerDir(id)); !os.IsNotExist(err) {
		t.Errorf("container dir left: %v", err)
	}
	if got := c.List(ctx); len(got) != 0 {
		t.Errorf("List after Remove: %+v", got)
	}

	// Removing a sandbox's containers removes running ones too.
	a, _ := c.Create(ctx, containerSpec(sb.ID, "a"))
	b, _ := c.Create(ctx, containerSpec(sb.ID, "b"))
	if err := c.Start(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := c.List(ctx); len(got) != 2 || got[0].ID != a || got[0].State != sandbox.StateRunning || got[1].ID != b || got[1].State != sandbox.StateCreated {
		t.Errorf("List = %+v", got)
	}
	if err := c.StopSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	// The sandbox's shim is gone: the end seen at the stop is kept.
	if st := state(t, c, a); st.State != sandbox.StateExited || st.ExitCode != 0 || st.Reason != "Completed" {
		t.Errorf("after the sandbox stopped: %+v", st)
	}
	if err := c.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A failed creation leaves nothing: no mount, no record, no entry.
func TestContainersCreateRollsBack(t *testing.T) {
	for _, tc := range []struct {
		step string
		mut  func(*sandbox.ContainerSpec)
		want error
	}{
		{step: "image.get"},
		{step: "image.layers"},
		{step: "rootfs.mount"},
		{mut: func(cs *sandbox.ContainerSpec) {
			cs.Process.Seccomp = "Localhost"
			cs.Process.SeccompProfile = "/nonexistent.json"
		},
			want: errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.step, func(t *testing.T) {
			h, layout := podworkertest.NewHost(), testLayout(t)
			r := newRegistry(t, h, layout)
			c := openContainers(t, h, r, layout)
			ctx := context.Background()
			sb, err := r.Run(ctx, spec("web"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.step != "" {
				h.Script(tc.step, podworkertest.FaultError, 1)
			}
			cs := containerSpec(sb.ID, "app")
			if tc.mut != nil {
				tc.mut(&cs)
			}
			_, err = c.Create(ctx, cs)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Create: %v", err)
			}
			if got := c.List(ctx); len(got) != 0 {
				t.Errorf("listed after a failed Create: %+v", got)
			}
			if ents, _ := os.ReadDir(layout.CRIContainersDir()); len(ents) != 0 {
				t.Errorf("left in %s: %v", layout.CRIContainersDir(), ents)
			}
			if _, err := c.Create(ctx, containerSpec(sb.ID, "app")); err != nil {
				t.Errorf("Create again: %v", err)
			}
		})
	}
}

// A start the shim refuses is EXITED with reason StartError.
func TestContainersStartFailure(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	c := openContainers(t, h, r, layout)
	ctx := context.Background()
	sb, _ := r.Run(ctx, spec("web"))
	id, err := c.Create(ctx, containerSpec(sb.ID, "app"))
	if err != nil {
		t.Fatal(err)
	}
	h.Script("container.create", podworkertest.FaultError, 1)
	if err := c.Start(ctx, id); err == nil {
		t.Fatal("Start succeeded")
	}
	if st := state(t, c, id); st.State != sandbox.StateExited || st.ExitCode != 128 || st.Reason != "StartError" || st.Message == "" {
		t.Errorf("after a failed Start: %+v", st)
	}
}

// After a daemon restart the containers are as they were; a creation cut
// short is undone; after a reboot (shims gone) a started container whose
// end nobody saw is EXITED, Unknown (255), as containerd reports it.
func TestContainersRestore(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	c := openContainers(t, h, r, layout)
	ctx := context.Background()
	sb, _ := r.Run(ctx, spec("web"))
	run, _ := c.Create(ctx, containerSpec(sb.ID, "run"))
	created, _ := c.Create(ctx, containerSpec(sb.ID, "created"))
	if err := c.Start(ctx, run); err != nil {
		t.Fatal(err)
	}
	// A creation cut short by a crash: a record still Creating, a mount.
	cut := "c0ffee" + run[6:]
	if err := os.MkdirAll(layout.CRIContainerDir(cut), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout.CRIContainerFile(cut), []byte(`{"ID":"`+cut+`","SandboxID":"`+sb.ID+`","Name":"cut","Phase":"Creating"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Mount(nil, layout.CRIContainerRootfsDir(cut), nil); err != nil {
		t.Fatal(err)
	}

	r2 := newRegistry(t, h, layout)
	c2 := openContainers(t, h, r2, layout)
	if got := c2.List(ctx); len(got) != 2 || got[0].ID != run || got[0].State != sandbox.StateRunning || got[1].ID != created || got[1].State != sandbox.StateCreated {
		t.Errorf("after a restart: %+v", got)
	}
	if _, err := os.Stat(layout.CRIContainerDir(cut)); !os.IsNotExist(err) {
		t.Errorf("a creation cut short was not undone: %v", err)
	}

	h.KillShim(layout.CRIShimDir(sb.ID))
	r3 := newRegistry(t, h, layout)
	c3 := openContainers(t, h, r3, layout)
	if st := state(t, c3, run); st.State != sandbox.StateExited || st.ExitCode != 255 || st.Reason != "Unknown" {
		t.Errorf("after a reboot: %+v", st)
	}
	if st := state(t, c3, created); st.State != sandbox.StateCreated {
		t.Errorf("after a reboot, never started: %+v", st)
	}
	if err := c3.Start(ctx, created); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("Start in a sandbox without a shim: %v", err)
	}
	if err := c3.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r3.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A stop waiting out its timeout does not hold up the container's status
// or an exec in it: the kubelet asks for both while it stops a container
// (PLEG relists, readiness probes run through the grace period), and a
// status or probe answered only once the container is dead stalls it and
// blows the probe's timeout (found with kubelet v1.37: an exec readiness
// probe of 1 s answered after 1.65 s, when the stop's SIGKILL came).
func TestStatusAndExecAnswerWhileAStopWaits(t *testing.T) {
	h, _, _, c, sb := webSandbox(t)
	ctx := context.Background()
	id, err := c.Create(ctx, containerSpec(sb.ID, "app"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	h.IgnoreTerm = true
	const grace = 3 * time.Second
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop(ctx, id, grace) }()
	deadline := time.Now().Add(grace / 2)
	for len(h.SignalsTo(id)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no stop signal sent")
		}
		time.Sleep(5 * time.Millisecond)
	}

	start := time.Now()
	st := state(t, c, id)
	if took := time.Since(start); took > grace/3 || st.State != sandbox.StateRunning {
		t.Errorf("status during the stop's grace period: %s after %s, want RUNNING at once", st.State, took)
	}
	start = time.Now()
	// The fake shim runs no exec: an error from it shows the exec got there.
	_, err = c.Exec(ctx, id, sandbox.ExecRequest{Cmd: []string{"true"}})
	if took := time.Since(start); took > grace/3 || errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("exec during the stop's grace period: %v after %s, want it run at once", err, took)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if st := state(t, c, id); st.State != sandbox.StateExited {
		t.Errorf("after the stop: %+v", st)
	}
	if sigs := h.SignalsTo(id); len(sigs) != 2 || sigs[1].Sig != 9 {
		t.Errorf("signals %+v, want TERM then KILL", sigs)
	}
}

// A start the shim takes its time over does not hold up the container's
// status either: the kubelet's PLEG relist inspects a container it sees
// created while the kubelet's pod worker is starting it.
func TestStatusAnswersWhileAStartWaits(t *testing.T) {
	h, _, _, c, sb := webSandbox(t)
	ctx := context.Background()
	id, err := c.Create(ctx, containerSpec(sb.ID, "app"))
	if err != nil {
		t.Fatal(err)
	}
	h.Script("container.create", podworkertest.FaultHang, 1)
	const wait = 2 * time.Second
	started := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		started <- c.Start(sctx, id)
	}()
	deadline := time.Now().Add(wait / 2)
	for h.Count("container.create") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the start did not reach the shim")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if st := state(t, c, id); time.Since(start) > wait/4 || st.State != sandbox.StateCreated {
		t.Errorf("status during the start: %s after %s, want CREATED at once", st.State, time.Since(start))
	}
	if err := <-started; err == nil {
		t.Fatal("a start the shim never answered succeeded")
	}
	if st := state(t, c, id); st.State != sandbox.StateExited || st.Reason != "StartError" {
		t.Errorf("after the failed start: %+v", st)
	}
}

// A sandbox's pod files live in its run directory, not its persistent one
// (they go with it); a container created in a sandbox that has none there
// (made by a podd that kept them in the persistent directory) writes them
// anew, with the sandbox's address, before its config names them.
func TestContainersCreateWritesMissingPodFiles(t *testing.T) {
	_, layout, _, c, sb := webSandbox(t)
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(layout.CRISandboxDir(sb.ID), "etc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pod files in the sandbox's persistent directory (%v)", err)
	}
	hosts := layout.CRIHostsFile(sb.ID)
	if rel, err := filepath.Rel(layout.RunRoot, hosts); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("hosts file %s is not under the run root %s", hosts, layout.RunRoot)
	}
	if err := os.RemoveAll(layout.CRIPodFilesDir(sb.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, containerSpec(sb.ID, "app")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(hosts)
	if err != nil || !strings.Contains(string(b), sb.IP+"\tweb") {
		t.Fatalf("hosts after the create: %q (%v), want the sandbox's address %s", b, err, sb.IP)
	}
	for _, f := range []string{layout.CRIResolvConfFile(sb.ID), layout.CRIHostnameFile(sb.ID)} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after the create: %v", err)
		}
	}
}
