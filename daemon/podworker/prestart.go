package podworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/internal/undo"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec"
)

// Containers made ahead: while CNI ADD runs, the sandbox's creation also
// makes the containers the planner will start first once the sandbox is
// ready, up to the exec of their program (held: CreateContainerRequest.
// hold), so that the costly part of a start (libcontainer's init: the
// namespaces, cgroup and mounts) overlaps the network's (and, when the
// shim pinned the pod's UTS and IPC namespaces, the pause's start). Only the
// planner's start action of the next round releases one (startHeld), so
// no program runs before the pod network is up, and the planner's order
// (init containers one by one, then apps; R30) holds. An instance the
// planner does not ask for is discarded at the end of the next round;
// one that fails to be made or released is made anew by the normal
// start, which reports what fails. A held instance is invisible to the
// planner (observe skips those the shim marks held); one an earlier
// daemon left is removed by the next round (removeOrphansHeld). Only a
// shim whose Info says it can hold is asked to.

// heldInstance is one container instance made ahead.
type heldInstance struct {
	id string
	// cl is the shim holding it.
	cl ShimClient
	// t times its start from its making to its release.
	t *startTiming
}

// prestartActions returns the container starts the planner will ask for
// once sandbox attempt is ready, as it plans for the pod now with that
// sandbox and no instance: the first init container, or the app
// containers. A container whose environment needs the pod's address
// (status.podIP) waits for it. None for a pod that gains nothing or that
// cannot be made safely before its network is up (aheadUnsafe), and none
// while other work waits for the work budget: a container made ahead is a
// start beyond this sandbox's slot, which only pays when the host has
// room; on a busy host (a burst of pods) it only crowds the other pods'
// starts and the API.
func (w *Worker) prestartActions(attempt uint32) []planner.Action {
	if w.deps.Work.Stats().Waiting > 0 {
		return nil
	}
	w.mu.Lock()
	if w.state.Deletion != nil || w.eviction != nil || aheadUnsafe(w.pod) {
		w.mu.Unlock()
		return nil
	}
	pod := w.pod.DeepCopy()
	pod.Status = *w.state.Status.DeepCopy()
	in := planner.Input{
		Pod: pod, Now: time.Now(), Config: w.deps.Planner, History: w.state.History,
		Sandbox:    planner.Sandbox{State: planner.SandboxReady, Attempt: attempt},
		Containers: map[string]planner.Observed{},
	}
	for _, c := range allContainers(w.pod) {
		in.Containers[c.Name] = planner.Observed{StartFailure: w.state.StartFailures[c.Name]}
	}
	w.mu.Unlock()
	var out []planner.Action
	for _, a := range planner.Plan(in).Actions {
		switch {
		case a.Kind == planner.ActionStartInitContainer && len(out) == 0:
			if needsPodIP(w.containerSpec(a)) {
				return nil
			}
			return []planner.Action{a}
		case a.Kind == planner.ActionStartContainer:
			if !needsPodIP(w.containerSpec(a)) {
				out = append(out, a)
			}
		}
	}
	return out
}

// aheadUnsafe reports whether no container of pod is to be made before
// its network is up: with the host's network there is no CNI ADD to
// overlap; a sysctl naming an interface (net.ipv4.conf.eth0.…), which
// libcontainer sets as it makes each container, needs the interface CNI
// ADD makes. (A pod in its own user namespace is left out by the caller.)
func aheadUnsafe(pod *corev1.Pod) bool {
	if pod.Spec.HostNetwork {
		return true
	}
	if sc := pod.Spec.SecurityContext; sc != nil {
		for _, s := range sc.Sysctls {
			if namesInterface(spec.SysctlName(s.Name)) {
				return true
			}
		}
	}
	return false
}

// namesInterface reports whether sysctl name (dot form) is one of a
// network interface: net.ipv4.conf.<if>.…, net.ipv6.neigh.<if>.… with
// <if> neither all nor default.
func namesInterface(name string) bool {
	for _, prefix := range []string{"net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.", "net.ipv6.neigh."} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			iface, _, _ := strings.Cut(rest, ".")
			return iface != "all" && iface != "default"
		}
	}
	return false
}

// needsPodIP reports whether c's environment takes the pod's address.
func needsPodIP(c *corev1.Container) bool {
	for _, e := range c.Env {
		if f := e.ValueFrom; f != nil && f.FieldRef != nil {
			switch f.FieldRef.FieldPath {
			case "status.podIP", "status.podIPs":
				return true
			}
		}
	}
	return false
}

// aheadBatch is the instances being made ahead for one sandbox.
type aheadBatch struct {
	// done is closed once preps is set; files once the pod files are
	// written without the address (or were not).
	done  chan struct{}
	files chan struct{}
	mu    sync.Mutex
	// preps are what is ready of each instance until the hold takes them
	// (take).
	preps []*aheadPrep
}

// aheadPrep is what is made of one instance before its sandbox's pause
// runs: its image found, its rootfs mounted.
type aheadPrep struct {
	a    planner.Action
	img  image.Image
	root string
	t    *startTiming
	// undo unmounts what was made, until the hold takes it over.
	undo undo.Stack
}

// filesWritten waits until the pod files without the address are written
// (or were not): the sandbox's own write, with the address, comes after.
func (b *aheadBatch) filesWritten() { <-b.files }

// take returns the preps not taken yet, once they are ready.
func (b *aheadBatch) take() []*aheadPrep {
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.preps
	b.preps = nil
	return out
}

// startAhead starts making what the instances of acts need before their
// sandbox's pause runs (the pod files without the address, the rootfs),
// while the shim starts.
func (w *Worker) startAhead(ctx context.Context, acts []planner.Action) *aheadBatch {
	b := &aheadBatch{done: make(chan struct{}), files: make(chan struct{})}
	go func() {
		var preps []*aheadPrep
		filesOnce := sync.OnceFunc(func() { close(b.files) })
		defer func() {
			filesOnce()
			b.mu.Lock()
			b.preps = preps
			b.mu.Unlock()
			close(b.done)
		}()
		w.guard("prepare containers ahead", func() { preps = w.prepareAhead(ctx, acts, filesOnce) })
	}()
	return b
}

// prepareAhead writes the pod files without the pod's address (the
// containers bind-mount them; they are completed in place once it is
// known) and mounts the rootfs of each instance of acts.
func (w *Worker) prepareAhead(ctx context.Context, acts []planner.Action, filesWritten func()) []*aheadPrep {
	err := w.writePodFiles("")
	filesWritten()
	if err != nil {
		slog.Debug("Containers not made ahead", "pod", w.key, "uid", w.uid, "err", err)
		return nil
	}
	preps := make([]*aheadPrep, len(acts))
	var wg sync.WaitGroup
	for i, a := range acts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.guard("prepare container "+a.Container+" ahead", func() { preps[i] = w.prepareOne(ctx, a) })
		}()
	}
	wg.Wait()
	return slices.DeleteFunc(preps, func(p *aheadPrep) bool { return p == nil })
}

// prepareOne finds the image of instance a and mounts its rootfs; nil when
// it cannot (nothing is left: the planner's start makes it and reports
// what fails).
func (w *Worker) prepareOne(ctx context.Context, a planner.Action) *aheadPrep {
	c := w.containerSpec(a)
	p := &aheadPrep{a: a, t: newStartTiming(kindContainer, time.Now())}
	// Only an image at hand: a pull is the planner's start's, with its
	// events and back-off.
	img, err := w.deps.Images.Get(ctx, c.Image)
	if err != nil {
		return nil
	}
	p.t.mark("image", time.Now())
	root, err := w.mountInstance(ctx, a, c, img, p.t, &p.undo)
	if err != nil {
		w.undoAhead(ctx, &p.undo, store.InstanceKey(c.Name, a.Restart), err)
		return nil
	}
	p.img, p.root = img, root
	return p
}

// undoAhead undoes what making an instance ahead made, after err.
func (w *Worker) undoAhead(ctx context.Context, u *undo.Stack, id string, err error) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.runtimeTimeout())
	defer cancel()
	if uerr := u.Run(uctx); uerr != nil {
		slog.Warn("Undo a container made ahead", "pod", w.key, "uid", w.uid, "container", id, "err", uerr)
	}
	slog.Debug("Container not made ahead; its start makes it", "pod", w.key, "uid", w.uid, "container", id, "err", err)
}

// prestart holds the prepared instances of b in shim cl of sandbox sb
// (its netns pinned; its pause running, or starting beside when the shim
// pinned the namespaces they join; no address yet), side by side.
func (w *Worker) prestart(ctx context.Context, cl ShimClient, sb Sandbox, b *aheadBatch) {
	// A shim from before hold would run the containers at once: the pod
	// files and rootfs prepared stay for the sandbox's caller to undo.
	if !cl.CanHold() {
		slog.Debug("Containers not made ahead: the shim cannot hold them", "pod", w.key, "uid", w.uid)
		return
	}
	preps := b.take()
	var wg sync.WaitGroup
	for _, p := range preps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.guard("make container "+p.a.Container+" ahead", func() { w.holdInstance(ctx, p, cl, sb) })
		}()
	}
	wg.Wait()
}

// holdInstance makes prepared instance p held in shim cl of sandbox sb,
// and records it; a failure leaves nothing behind.
func (w *Worker) holdInstance(ctx context.Context, p *aheadPrep, cl ShimClient, sb Sandbox) {
	c := w.containerSpec(p.a)
	id := store.InstanceKey(c.Name, p.a.Restart)
	t := p.t
	t.mark("pause_wait", time.Now())
	cfg, err := w.configInstance(ctx, p.a, c, p.img, p.root, cl, sb, &p.undo)
	if err == nil {
		t.mark("spec", time.Now())
		var resp *shimv1.CreateContainerResponse
		w.warmMigrations()
		resp, err = cl.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: cfg, Hold: true})
		t.markParts("shim_call", time.Now(), shimPhases(resp)...)
		if st := resp.GetState(); err == nil && !st.GetHeld() {
			// Info said it holds; should it not have, the instance is
			// the shim's (running, or stopped with a reason) and the
			// planner takes it from here, as after any start.
			p.undo.Release()
			slog.Warn("The shim did not hold a container made ahead", "pod", w.key, "uid", w.uid, "container", id, "status", st.GetStatus())
			return
		}
	}
	if err != nil && ctx.Err() == nil {
		w.undoAhead(ctx, &p.undo, id, err)
		return
	}
	// Held; or the sandbox's creation is failing (ctx ended) and the shim
	// may still be making the container: recorded, it is discarded with
	// the sandbox, after the shim's stop killed whatever it made.
	p.undo.Release()
	w.mu.Lock()
	w.held[id] = &heldInstance{id: id, cl: cl, t: t}
	w.mu.Unlock()
}

// dropAhead undoes what is prepared of b and not held.
func (w *Worker) dropAhead(ctx context.Context, b *aheadBatch) {
	for _, p := range b.take() {
		w.undoAhead(ctx, &p.undo, p.a.Container, errors.New("its sandbox was not made"))
	}
}

// takeHeld returns (and forgets) the held instance id, nil if none.
func (w *Worker) takeHeld(id string) *heldInstance {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.held[id]
	delete(w.held, id)
	return h
}

// heldIDs lists the held instances.
func (w *Worker) heldIDs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ids := make([]string, 0, len(w.held))
	for id := range w.held {
		ids = append(ids, id)
	}
	return ids
}

// startHeld releases held instance h of c (the planner's start action).
// False when it could not: the instance is then gone and its rootfs
// unmounted, for the caller to make it anew.
func (w *Worker) startHeld(hookCtx, ctx context.Context, h *heldInstance, c *corev1.Container, fp string) bool {
	t := h.t
	t.mark("held", time.Now())
	w.mu.Lock()
	sb := *w.state.Sandbox
	current := w.shim == h.cl
	w.mu.Unlock()
	if !current {
		w.discard(ctx, h)
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, w.runtimeTimeout())
	resp, err := h.cl.StartContainer(cctx, &shimv1.StartContainerRequest{Id: h.id})
	cancel()
	var parts []phaseTime
	for _, p := range resp.GetPhases() {
		parts = append(parts, phaseTime{name: p.GetName(), took: time.Duration(p.GetNanos())})
	}
	t.markParts("start_call", time.Now(), parts...)
	if err != nil {
		slog.Warn("Start a container made ahead; making it anew", "pod", w.key, "uid", w.uid, "container", h.id, "err", err)
		w.discard(ctx, h)
		return false
	}
	w.warnInvalidEnv(c, fp)
	w.event(corev1.EventTypeNormal, "Pulled", fp, fmt.Sprintf("Container image %q already present on machine", c.Image))
	w.event(corev1.EventTypeNormal, "Created", fp, "Created container: "+c.Name)
	w.event(corev1.EventTypeNormal, "Started", fp, "Started container "+c.Name)
	w.afterStart(hookCtx, c, h.id, sb, fp)
	t.mark("post_start", time.Now())
	return true
}

// discardHeld discards the held instances of ids still held.
func (w *Worker) discardHeld(ctx context.Context, ids []string) {
	for _, id := range ids {
		if h := w.takeHeld(id); h != nil {
			w.discard(ctx, h)
		}
	}
}

// discard kills and forgets held instance h and unmounts its rootfs. A
// shim already gone took the instance with it.
func (w *Worker) discard(ctx context.Context, h *heldInstance) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.runtimeTimeout())
	defer cancel()
	err := sandbox.RemoveFromShim(uctx, h.cl, h.id)
	if err != nil && h.cl.Exited() {
		err = nil
	}
	if uerr := w.unmountInstance(h.id); uerr != nil {
		err = errors.Join(err, uerr)
	}
	if err != nil {
		slog.Warn("Discard a container made ahead", "pod", w.key, "uid", w.uid, "container", h.id, "err", err)
		return
	}
	slog.Debug("Discarded a container made ahead", "pod", w.key, "uid", w.uid, "container", h.id)
}

// withoutHeld drops held instances from a shim's states: the planner
// sees an instance once its program was started (one whose start is under
// way, CREATED but not held, it sees).
func withoutHeld(states []*shimv1.ContainerState) []*shimv1.ContainerState {
	out := states[:0:0]
	for _, s := range states {
		if !s.GetHeld() {
			out = append(out, s)
		}
	}
	return out
}

// noteOrphansHeld records the held instances among a shim's states that
// this worker did not make: an earlier daemon made them ahead and was
// stopped before it released them. The next execute removes them
// (removeOrphansHeld) before any start.
func (w *Worker) noteOrphansHeld(states []*shimv1.ContainerState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.orphansHeld = w.orphansHeld[:0]
	for _, s := range states {
		if _, ours := w.held[s.GetId()]; s.GetHeld() && !ours {
			w.orphansHeld = append(w.orphansHeld, s.GetId())
		}
	}
}

// removeOrphansHeld removes from the shim, and unmounts, the held
// instances an earlier daemon left (noteOrphansHeld); the planner's start
// makes an instance anew.
func (w *Worker) removeOrphansHeld(ctx context.Context) {
	w.mu.Lock()
	ids := w.orphansHeld
	w.orphansHeld = nil
	cl := w.shim
	w.mu.Unlock()
	for _, id := range ids {
		if cl == nil {
			return
		}
		w.discard(ctx, &heldInstance{id: id, cl: cl})
	}
}
