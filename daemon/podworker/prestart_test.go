package podworker

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/limiter"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// newAheadWorker is newTestWorker with StartAhead (the daemon's setting).
func newAheadWorker(t *testing.T, pod *corev1.Pod) (*Worker, *podworkertest.Host) {
	w, h := newTestWorker(t, pod)
	w.deps.StartAhead = true
	return w, h
}

// logIndex is the index of the first entry of the host's log with prefix,
// -1 if none.
func logIndex(h *podworkertest.Host, prefix string) int {
	return slices.IndexFunc(h.Log(), func(s string) bool { return strings.HasPrefix(s, prefix) })
}

// R30, issue 13: the app container is made (held before its program)
// while CNI ADD runs, and its program starts only once the network is up.
func TestStartAheadOverlapsTheNetworkAndStartsAfterIt(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead"))
	h.AddGate = make(chan struct{})
	runWorker(t, w)
	id := store.InstanceKey("app", 0)
	eventually(t, "app held while the network is set up", 10*time.Second, func() bool { return h.Count("container.hold") == 1 })
	if i := logIndex(h, "start "); i >= 0 || running(w, "app") {
		t.Fatalf("a program started before the network was up: %v", h.Log())
	}
	// R91: the held container bind-mounted /etc/hosts before the address
	// was known; the file is completed in place (same inode), not replaced.
	hosts := w.deps.Layout.HostsFile(w.uid)
	before, err := os.Stat(hosts)
	if err != nil {
		t.Fatalf("pod files not written before the hold: %v", err)
	}
	close(h.AddGate)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	after, err := os.Stat(hosts)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("/etc/hosts replaced after the hold (%v): the held container would not see the pod's address", err)
	}
	w.mu.Lock()
	ip := w.state.Sandbox.IP
	w.mu.Unlock()
	if b, _ := os.ReadFile(hosts); ip == "" || !strings.Contains(string(b), ip) {
		t.Errorf("/etc/hosts %q lacks the pod IP %q", b, ip)
	}
	if h.Count("container.create") != 0 || logIndex(h, "start "+id) < 0 {
		t.Errorf("app was not started from its held instance: %v", h.Log())
	}
	for _, reason := range []string{"Created", "Started"} {
		if !hasEvent(w, corev1.EventTypeNormal, reason) {
			t.Errorf("no %s event", reason)
		}
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A failed CNI ADD undoes the held container with the sandbox (the shim's
// stop kills it, its rootfs is unmounted); the program never ran, and the
// next sandbox starts the app.
func TestStartAheadNetworkFailureUndoesTheHeldContainer(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-cni"))
	h.AddGate = make(chan struct{})
	h.Script("network.setup", podworkertest.FaultError, 1)
	runWorker(t, w)
	eventually(t, "app held", 10*time.Second, func() bool { return h.Count("container.hold") == 1 })
	close(h.AddGate)
	eventually(t, "app running in a second sandbox", 10*time.Second, func() bool { return running(w, "app") })
	log := h.Log()
	stop, start := logIndex(h, "stop shim"), logIndex(h, "start ")
	if stop < 0 || start < stop {
		t.Errorf("a program started before the failed sandbox was undone: %v", log)
	}
	if h.Count("rootfs.unmount") < 1 {
		t.Errorf("the held container's rootfs was not unmounted")
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A held container that cannot be made (an error or a panic) leaves nothing;
// the planner's start makes the container as usual.
func TestStartAheadHoldFailureFallsBackToAStart(t *testing.T) {
	for _, kind := range []podworkertest.FaultKind{podworkertest.FaultError, podworkertest.FaultPanic} {
		t.Run(kind.String(), func(t *testing.T) {
			w, h := newAheadWorker(t, testPod("ahead-hold-"+kind.String()))
			h.Script("container.hold", kind, 1)
			runWorker(t, w)
			eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
			if kind == podworkertest.FaultError && (h.Count("container.create") != 1 || h.Count("rootfs.unmount") != 1) {
				t.Errorf("creates %d, unmounts %d; want the failed hold undone and one start: %v",
					h.Count("container.create"), h.Count("rootfs.unmount"), h.Log())
			}
			deleteAndWait(t, w, 0)
			checkNoLeaks(t, h)
		})
	}
}

// A held container whose release fails is removed and made anew.
func TestStartAheadReleaseFailureMakesItAnew(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-start"))
	h.Script("container.start", podworkertest.FaultError, 1)
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	if h.Count("container.remove") < 1 || h.Count("container.create") != 1 {
		t.Errorf("removes %d, creates %d; want the held instance removed and one start: %v",
			h.Count("container.remove"), h.Count("container.create"), h.Log())
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A delete while the container is held and the network is set up removes
// the pod with nothing left; nothing ever ran.
func TestStartAheadDeleteWhileHeld(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-del"))
	h.AddGate = make(chan struct{})
	runWorker(t, w)
	eventually(t, "app held", 10*time.Second, func() bool { return h.Count("container.hold") == 1 })
	deleteAndWait(t, w, 0)
	if i := logIndex(h, "start "); i >= 0 {
		t.Errorf("a held container was started: %v", h.Log())
	}
	checkNoLeaks(t, h)
}

// R30: only the first init container is made ahead; the app waits for it
// to complete and starts as usual.
func TestStartAheadInitContainerFirst(t *testing.T) {
	pod := testPod("ahead-init")
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	w, h := newAheadWorker(t, pod)
	runWorker(t, w)
	initID := store.InstanceKey("init", 0)
	eventually(t, "init running", 10*time.Second, func() bool { return logIndex(h, "start "+initID) >= 0 })
	if logIndex(h, "hold "+store.InstanceKey("app", 0)) >= 0 || logIndex(h, "run ") >= 0 {
		t.Fatalf("the app was made before its init container completed: %v", h.Log())
	}
	dir := w.deps.Layout.ShimDir(w.uid)
	h.ExitContainers(dir, func(st *shimv1.ContainerState) bool { return st.GetId() == initID }, 0)
	w.poke()
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A held instance an earlier daemon left is not a running container to
// the planner; the start removes it and makes the instance anew. One whose
// start is under way (CREATED, not held) the planner sees.
func TestObserveSkipsHeldInstances(t *testing.T) {
	states := []*shimv1.ContainerState{
		{Id: "pause", Status: shimv1.Status_STATUS_RUNNING},
		{Id: store.InstanceKey("app", 0), Status: shimv1.Status_STATUS_CREATED, Held: true},
		{Id: store.InstanceKey("side", 0), Status: shimv1.Status_STATUS_CREATED},
	}
	got := withoutHeld(states)
	if len(got) != 2 || got[0].GetId() != "pause" || got[1].GetId() != "side-0" || len(states) != 3 {
		t.Fatalf("withoutHeld = %v", got)
	}
}

// A container whose environment takes status.podIP waits for the address.
func TestPrestartActionsSkipPodIPEnv(t *testing.T) {
	pod := testPod("ahead-ip")
	w, _ := newAheadWorker(t, pod)
	if acts := w.prestartActions(0); len(acts) != 1 || acts[0].Container != "app" {
		t.Fatalf("prestartActions = %v, want the app", acts)
	}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
	if acts := w.prestartActions(0); len(acts) != 0 {
		t.Fatalf("prestartActions = %v, want none", acts)
	}
}

// Nothing is made ahead while other starts wait for the work budget (a
// burst of pods): the container made ahead would be a start beyond the
// budget.
func TestPrestartActionsWaitForRoomInTheWorkBudget(t *testing.T) {
	w, _ := newAheadWorker(t, testPod("ahead-busy"))
	w.deps.Work = limiter.New(1)
	release, err := w.deps.Work.Acquire(context.Background(), limiter.Start)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	go func() {
		defer close(waiting)
		if r, err := w.deps.Work.Acquire(context.Background(), limiter.Start); err == nil {
			r()
		}
	}()
	eventually(t, "a start waiting for the budget", 10*time.Second, func() bool { return w.deps.Work.Stats().Waiting == 1 })
	if acts := w.prestartActions(0); len(acts) != 0 {
		t.Fatalf("prestartActions = %v while a start waits, want none", acts)
	}
	release()
	<-waiting
	if acts := w.prestartActions(0); len(acts) != 1 {
		t.Fatalf("prestartActions = %v with room, want the app", acts)
	}
}

// Nothing is made ahead where it gains nothing or is not safe before the
// network: the host's network, a sysctl naming an interface, a first init
// container that takes the pod's address.
func TestPrestartActionsSkipUnsafePods(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*corev1.Pod)
		want   int
	}{
		{"plain", func(*corev1.Pod) {}, 1},
		{"hostNetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, 0},
		{"interface sysctl", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.conf.eth0.forwarding", Value: "1"}}}
		}, 0},
		{"interface sysctl, slash form", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net/ipv6/conf/eth0/disable_ipv6", Value: "1"}}}
		}, 0},
		{"sysctl of all interfaces", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.conf.all.forwarding", Value: "1"}, {Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}}
		}, 1},
		{"init container takes the address", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: p.Spec.Containers[0].Image,
				Env: []corev1.EnvVar{{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIPs"}}}}}}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("ahead-unsafe")
			tc.change(pod)
			w, _ := newAheadWorker(t, pod)
			if acts := w.prestartActions(0); len(acts) != tc.want {
				t.Fatalf("prestartActions = %v, want %d", acts, tc.want)
			}
		})
	}
}

// The new sandbox is on disk before a held container's program starts (a
// daemon restarted after that reconnects to it, never undoes it).
func TestSandboxRecordedBeforeAHeldContainerStarts(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-persist"))
	h.Script("container.start", podworkertest.FaultHang, 1)
	runWorker(t, w)
	eventually(t, "the release reached", 10*time.Second, func() bool { return h.Count("container.start") == 1 })
	st := &State{}
	if q, err := diskStore(w.deps).LoadState(w.uid, st); err != nil || q != nil {
		t.Fatalf("load state: %v %v", q, err)
	}
	if st.Sandbox == nil || st.SandboxCreating != "" {
		t.Fatalf("state on disk at the release: sandbox %+v, creating %q; want the sandbox recorded", st.Sandbox, st.SandboxCreating)
	}
	eventually(t, "app running after the hung release timed out", 20*time.Second, func() bool { return running(w, "app") })
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A daemon restarted while a container is held (made ahead, not released)
// does not take it for a running container: the start removes it and
// makes the instance anew.
func TestRestartWhileHeldMakesTheContainerAnew(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-restart"))
	h.Script("container.start", podworkertest.FaultHang, 1)
	stop := runWorker(t, w)
	eventually(t, "the release reached", 10*time.Second, func() bool { return h.Count("container.start") == 1 })
	w2 := restart(t, w, stop)
	runWorker(t, w2)
	eventually(t, "app running after the restart", 10*time.Second, func() bool { return running(w2, "app") })
	if h.Count("container.create") != 1 || h.Count("container.remove") < 1 {
		t.Errorf("creates %d, removes %d; want the stale held instance removed and one start: %v",
			h.Count("container.create"), h.Count("container.remove"), h.Log())
	}
	deleteAndWait(t, w2, 0)
	checkNoLeaks(t, h)
}

// CNI ADD fails while a container is being made ahead: what the making
// mounted is undone after the shim's stop, and the next sandbox starts the
// app.
func TestStartAheadNetworkFailureDuringAHold(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-cni-hold"))
	h.AddGate = make(chan struct{})
	h.Script("container.hold", podworkertest.FaultHang, 1)
	h.Script("network.setup", podworkertest.FaultError, 1)
	runWorker(t, w)
	eventually(t, "a hold in flight", 10*time.Second, func() bool { return h.Count("container.hold") == 1 })
	close(h.AddGate)
	eventually(t, "app running in a second sandbox", 10*time.Second, func() bool { return running(w, "app") })
	if stop, start := logIndex(h, "stop shim"), logIndex(h, "start "); stop < 0 || start < stop {
		t.Errorf("a program started before the failed sandbox was undone: %v", h.Log())
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// The holder side fails before any hold (the shim's launch, the pause):
// the rootfs prepared meanwhile is unmounted with the sandbox's undo, and
// the next sandbox starts the app.
func TestStartAheadHolderFailureUndoesThePreparedRootfs(t *testing.T) {
	for _, step := range []string{"shim.launch", "pause.create"} {
		for _, kind := range []podworkertest.FaultKind{podworkertest.FaultError, podworkertest.FaultPanic} {
			t.Run(step+"/"+kind.String(), func(t *testing.T) {
				w, h := newAheadWorker(t, testPod("ahead-holder"))
				h.Script(step, kind, 1)
				runWorker(t, w)
				eventually(t, "app running in a second sandbox", 10*time.Second, func() bool { return running(w, "app") })
				if h.Count("rootfs.unmount") < 1 {
					t.Errorf("the prepared rootfs was not unmounted: %v", h.Log())
				}
				deleteAndWait(t, w, 0)
				checkNoLeaks(t, h)
			})
		}
	}
}

// A shim from before hold (one of an older podd-shim binary) is asked
// nothing ahead: it would run the container before the network is up.
// The app is started as usual; what was prepared ahead is undone.
func TestStartAheadSkipsAShimWithoutHold(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-old-shim"))
	h.ShimWithoutHold = true
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	if h.Count("container.hold") != 0 || h.Count("container.create") != 1 {
		t.Errorf("holds %d, creates %d; want the app created once, never held: %v", h.Count("container.hold"), h.Count("container.create"), h.Log())
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// A held instance an earlier daemon left that the planner does not start
// (here one of no container of the pod) is removed all the same, by the
// restarted worker's first round.
func TestRestartRemovesHeldInstancesNobodyStarts(t *testing.T) {
	w, h := newAheadWorker(t, testPod("ahead-orphan"))
	stop := runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	dir := w.deps.Layout.ShimDir(w.uid)
	s, err := h.ConnectShim(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ghost := &shimv1.ContainerConfig{Id: "ghost-0", Labels: map[string]string{labelContainer: "ghost"}}
	if _, err := s.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: ghost, Hold: true}); err != nil {
		t.Fatal(err)
	}
	w2 := restart(t, w, stop)
	runWorker(t, w2)
	eventually(t, "the orphan held instance removed", 10*time.Second, func() bool {
		resp, err := s.State(context.Background(), &shimv1.StateRequest{})
		if err != nil {
			return false
		}
		return !slices.ContainsFunc(resp.GetContainers(), func(c *shimv1.ContainerState) bool { return c.GetId() == "ghost-0" })
	})
	if !running(w2, "app") {
		t.Errorf("app no longer running after the restart")
	}
	deleteAndWait(t, w2, 0)
	checkNoLeaks(t, h)
}

// The pod files live in the pod's run directory. A sandbox made by a podd
// that kept them in the pod's persistent directory has none there: the
// next container start of that sandbox writes them (with the sandbox's
// address) before it builds the container's config, instead of failing
// on a bind mount of a missing file.
func TestContainerStartWritesMissingPodFiles(t *testing.T) {
	w, h := newTestWorker(t, testPod("podfiles"))
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
	l := w.deps.Layout
	if !strings.HasPrefix(l.HostsFile(w.uid), l.ShimDir(w.uid)+"/") {
		t.Fatalf("hosts file %s is not in the pod's run directory %s", l.HostsFile(w.uid), l.ShimDir(w.uid))
	}
	if err := os.RemoveAll(l.PodFilesDir(w.uid)); err != nil {
		t.Fatal(err)
	}
	restarts := appStatus(w).RestartCount
	exitApp(t, w, h)
	eventually(t, "app restarted", 10*time.Second, func() bool { return appStatus(w).RestartCount > restarts && running(w, "app") })
	b, err := os.ReadFile(l.HostsFile(w.uid))
	if err != nil {
		t.Fatalf("hosts file after the restart: %v", err)
	}
	if ip := w.Snapshot().Status.PodIP; ip == "" || !strings.Contains(string(b), ip) {
		t.Errorf("hosts file %q lacks the pod IP %q", b, ip)
	}
	for _, f := range []string{l.ResolvConfFile(w.uid), l.HostnameFile(w.uid)} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	}
	fi, err := os.Stat(l.ShimDir(w.uid))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("pod run directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
}
