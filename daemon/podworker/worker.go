package podworker

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/daemon/events"
	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/daemon/userns"
	"github.com/podd-dev/podd/internal/limiter"
	"github.com/podd-dev/podd/network/podfiles"
	"github.com/podd-dev/podd/probes"
	"github.com/podd-dev/podd/runtime/crilog"
	"github.com/podd-dev/podd/runtime/spec"
)

// resync bounds how long the worker waits without any wake-up, plus a
// random part of up to resyncJitter of it (the kubelet's pod workers: one
// minute, jitter 0.5), so that pods started together do not look together.
// It is a safety net only: every change the worker acts on wakes it (the
// shim's events and the end of their stream, probe results that change,
// API calls, its own kills and hooks ending) and so does the planner's
// NextWake (back-offs, sandbox retries, deadlines).
const (
	resync       = time.Minute
	resyncJitter = 0.5
)

// minWait is the least the loop sleeps for a NextWake: one already due is
// not busy-looped on.
const minWait = 10 * time.Millisecond

// stallRetry is the pause before retrying an action that failed without the
// planner seeing it (a teardown step). (A variable for tests.)
var stallRetry = time.Second

// Deps are the daemon-wide services a worker uses.
type Deps struct {
	Layout  store.Layout
	Store   StateStore
	Images  Images
	Network Network
	// Shims, Volumes and Rootfs are the host's when nil.
	Shims   Shims
	Volumes Volumes
	Rootfs  Rootfs
	Probes  *probes.Manager
	Events  *events.Log
	// OnChange is called with the published snapshot whenever the pod's
	// status changes; it must not modify the pod.
	OnChange func(*Published)
	// RuntimeTimeout bounds one sandbox creation and one container create
	// call to the shim (defaultRuntimeTimeout when zero), as the kubelet's
	// runtime request timeout does; a step that hangs past it fails.
	RuntimeTimeout time.Duration
	// Planner holds the back-off settings.
	Planner planner.Config
	// ShimBinary and PauseBinary are the helper executables.
	ShimBinary   string
	PauseBinary  string
	ShimLogLevel string
	// ResolvConf is the host resolver file for dnsPolicy Default.
	ResolvConf string
	// ClusterDNS is the cluster DNS pods with dnsPolicy ClusterFirst use;
	// without nameservers they fall back to Default.
	ClusterDNS podfiles.ClusterDNS
	// NodeIP is the host's address (status.hostIP).
	NodeIP string
	// LogRotation bounds each container's log (containerLogMaxSize,
	// containerLogMaxFiles).
	LogRotation crilog.Rotation
	// PodPidsLimit is the pids limit of each pod's cgroup (podPidsLimit);
	// -1 is no limit.
	PodPidsLimit int64
	// Security holds the host's capability bounding set and the seccomp
	// settings every container is built with.
	Security spec.HostSecurity
	// Work bounds sandbox creations, container starts and teardowns across
	// pods (teardowns first); Observes bounds calls that read a shim's
	// state. Nil admits everything.
	Work, Observes *limiter.Limiter
	// Recorder takes the start timings and restarts; nil records nothing.
	Recorder Recorder
	// Objects returns the ConfigMaps and Secrets of a namespace, for env
	// and envFrom; nil: none exist.
	Objects func(namespace string) spec.Objects
	// UserNS gives pods with hostUsers: false their user namespace's IDs;
	// nil gives none.
	UserNS *userns.Allocator
	// StartAhead makes a sandbox's creation also make the containers the
	// planner starts first, held before their program until it does
	// (prestart.go).
	StartAhead bool
	// WarmMigrations is called when a sandbox is about to be created,
	// before the work budget admits it (shimdir.WarmMigrations: the kernel's
	// wait before the first cgroup migration runs beside the queue and the
	// intent's write); nil does nothing.
	WarmMigrations func()
}

// Worker drives one pod until it is removed or the daemon stops.
type Worker struct {
	deps *Deps
	uid  string
	key  string
	// pod is the accepted pod; its spec never changes.
	pod *corev1.Pod

	// persistMu orders state writes: the newest snapshot lands last.
	persistMu sync.Mutex
	mu        sync.Mutex
	state     State
	// published is the pod as clients see it (readers never take mu).
	published atomic.Pointer[Published]
	shim      ShimClient
	// shimEvent is closed, and replaced, at each event from the shim and
	// when its event stream ends: what a stop waits on (waitExit).
	shimEvent chan struct{}
	// silence tracks a shim that does not answer (the loop's only).
	silence shimSilence
	// starts cancels the sandbox creation and container starts in flight
	// when a delete is requested (untilDeleted).
	starts   map[uint64]context.CancelFunc
	startSeq uint64
	// killing holds the instance ids being stopped.
	killing map[string]bool
	// postStart holds the instance ids whose postStart hook is running ("")
	// or failed (the error text).
	postStart map[string]*string
	// probeResults holds each instance's probe conclusions; probed, the
	// instances whose probes are registered.
	probeResults map[string]planner.ProbeResults
	probed       map[string]bool
	// held holds the instances made ahead with the sandbox (prestart.go);
	// orphansHeld are the held instances an earlier daemon left.
	held        map[string]*heldInstance
	orphansHeld []string

	// eviction is set once a storage check found the pod over a limit.
	eviction *planner.Eviction
	// volumes maps volume names to host paths once prepared.
	volumes map[string]string
	// refresh asks the loop to prepare the volumes again (ObjectChanged).
	refresh bool
	wake    chan struct{}
	done    chan struct{}
	// panicked is a panic recovered since the loop last looked.
	panicked *caughtPanic
	// reconciled is closed after the first observe-plan-commit round.
	reconciled    chan struct{}
	reconcileOnce sync.Once
	// accepted is when a new pod was accepted (zero for a pod restored
	// after a daemon restart); startRecorded is set once the time from
	// there to Running was recorded (the loop's only).
	accepted      time.Time
	startRecorded bool
	// committed is the encoding of the history and status commit took
	// last (nil before the first commit), to tell a change without
	// encoding the state again each round. Guarded by mu.
	committed []byte
	// unsaved: the state has a change no write took yet, which the next
	// commit writes even when the round changed nothing else (a created
	// sandbox: see makeTimedSandbox). Guarded by mu.
	unsaved bool
	// unnotified: a commit changed what clients see, and watchers hear of
	// it once a write took it (persist). Guarded by mu.
	unnotified bool
}

// New returns a worker for an accepted pod. st is its persisted state after a
// daemon restart, nil for a new pod.
func New(deps *Deps, pod *corev1.Pod, st *State) *Worker {
	w := &Worker{
		deps: deps, uid: string(pod.UID), key: pod.Namespace + "/" + pod.Name, pod: pod,
		killing: map[string]bool{}, postStart: map[string]*string{}, starts: map[uint64]context.CancelFunc{},
		probeResults: map[string]planner.ProbeResults{}, probed: map[string]bool{}, held: map[string]*heldInstance{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), reconciled: make(chan struct{}),
		shimEvent: make(chan struct{}),
	}
	if st != nil {
		w.state = *st
		adoptLegacyContainerIDs(w.uid, &w.state)
		deps.Events.Restore(w.uid, st.Events)
	} else {
		w.accepted = time.Now()
		w.event(corev1.EventTypeNormal, "Scheduled", "", "Successfully assigned "+w.key+" to "+pod.Spec.NodeName)
	}
	// Objects may have changed while the daemon was down.
	w.refresh = st != nil && projects(pod)
	if w.state.StartFailures == nil {
		w.state.StartFailures = map[string]*planner.StartFailure{}
	}
	// The QoS class is the spec's, set once (the planner carries it over);
	// a pod restored from an older daemon's state gets it here too.
	if w.state.Status.QOSClass == "" {
		w.state.Status.QOSClass = spec.QOSClass(pod)
	}
	w.publish(w.buildSnapshot())
	return w
}

// UID is the pod's UID.
func (w *Worker) UID() string { return w.uid }

// Done is closed once the pod has been removed (deleted and torn down).
func (w *Worker) Done() <-chan struct{} { return w.done }

// Reconciled is closed once the worker has compared the pod's recorded
// state with what runs (after a daemon restart) and committed the result.
func (w *Worker) Reconciled() <-chan struct{} { return w.reconciled }

// Deleting reports whether a delete was requested.
func (w *Worker) Deleting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state.Deletion != nil
}

// Delete asks for a graceful delete; grace overrides the pod's grace period
// when set. A second call may only shorten the grace (as the kubelet does).
func (w *Worker) Delete(grace *int64) {
	w.mu.Lock()
	d := w.state.Deletion
	switch {
	case d == nil:
		w.state.Deletion = &planner.Deletion{RequestedAt: time.Now(), GracePeriodSeconds: grace}
	case grace != nil && (d.GracePeriodSeconds == nil || *grace < *d.GracePeriodSeconds):
		// A shorter grace counts from now, never later than the first deadline.
		d.GracePeriodSeconds = grace
		d.RequestedAt = time.Now()
	}
	for _, cancel := range w.starts {
		cancel()
	}
	w.mu.Unlock()
	w.persist()
	w.poke()
}

// poke wakes the loop.
func (w *Worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// event records a pod event from the worker.
func (w *Worker) event(typ, reason, fieldPath, msg string) {
	w.deps.Events.Record(events.Event{
		Namespace: w.pod.Namespace, Pod: w.pod.Name, UID: w.uid,
		Type: typ, Reason: reason, Object: fieldPath, Message: msg,
	})
}

// buildSnapshot renders the pod as clients see it. Callers hold mu.
func (w *Worker) buildSnapshot() *corev1.Pod {
	p := w.pod.DeepCopy()
	p.Status = *w.state.Status.DeepCopy()
	if p.Status.Phase == "" {
		p.Status.Phase = corev1.PodPending
	}
	if d := w.state.Deletion; d != nil {
		t := metav1.NewTime(d.RequestedAt)
		p.DeletionTimestamp = &t
		g := gracePeriod(w.pod, d)
		p.DeletionGracePeriodSeconds = &g
	}
	return p
}

func gracePeriod(pod *corev1.Pod, d *planner.Deletion) int64 {
	if d != nil && d.GracePeriodSeconds != nil {
		return *d.GracePeriodSeconds
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return *pod.Spec.TerminationGracePeriodSeconds
	}
	return 30
}

// persist writes the state file and publishes the pod as written.
func (w *Worker) persist() *Published {
	w.persistMu.Lock()
	defer w.persistMu.Unlock()
	w.mu.Lock()
	w.unsaved = false
	notify := w.unnotified
	w.unnotified = false
	w.state.Events = w.deps.Events.Pod(w.uid)
	data, err := json.Marshal(w.state)
	snap := w.buildSnapshot()
	w.mu.Unlock()
	if err != nil {
		slog.Error("Encode pod state", "pod", w.key, "uid", w.uid, "err", err)
	} else if err := w.deps.Store.SaveState(w.uid, json.RawMessage(data)); err != nil {
		slog.Error("Save pod state", "pod", w.key, "uid", w.uid, "err", err)
	}
	// Clients see the state only once it is written: a crash never takes
	// back what they read. (persistMu keeps the publications in order.)
	pub := w.publish(snap)
	if notify && w.deps.OnChange != nil {
		w.deps.OnChange(pub)
	}
	return pub
}

// flushUnsaved writes the state if a change waits for a write (a round's
// commit deferred to the step that writes next: commit).
func (w *Worker) flushUnsaved() {
	w.mu.Lock()
	unsaved := w.unsaved
	w.mu.Unlock()
	if unsaved {
		w.persist()
	}
}

// Run drives the pod until it is removed (Done is then closed) or ctx ends
// (daemon shutdown: containers keep running under their shim). A panic in
// the worker is the pod's failure (failAfterPanic), never the daemon's.
func (w *Worker) Run(ctx context.Context) {
	w.guard("restore", func() {
		if err := w.abandonCreation(ctx); err != nil {
			slog.Warn("Undo unfinished sandbox creation; retried before the next one", "pod", w.key, "uid", w.uid, "err", err)
		}
		w.reconnect(ctx)
	})
	timer := time.NewTimer(0)
	defer timer.Stop()
	panics := 0
	for {
		var r round
		w.guard("sync", func() { r = w.syncOnce(ctx) })
		if r.removed {
			w.deps.Probes.Remove(w.uid)
			close(w.done)
			return
		}
		wait := r.wait
		if p := w.takePanic(); p != nil {
			panics++
			w.failAfterPanic(ctx, p)
			w.markReconciled()
			wait = w.panicBackoff(panics)
		} else {
			panics = 0
			if wait == 0 {
				if ctx.Err() != nil {
					return // a round cut short by the shutdown asks to act again at once
				}
				continue // level-triggered: look again right after acting
			}
		}
		if !w.sleep(ctx, timer, wait) {
			return
		}
	}
}

// sleep waits for a wake-up or d on timer; it reports false when ctx ended.
func (w *Worker) sleep(ctx context.Context, timer *time.Timer, d time.Duration) bool {
	timer.Reset(d)
	defer func() {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}()
	select {
	case <-ctx.Done():
		return false
	case <-w.wake:
	case <-timer.C:
	}
	return true
}

// round is the outcome of one observe-plan-act round.
type round struct {
	removed bool
	// wait is how long to sleep before the next round (woken early by
	// shim events, probes and API calls); 0 means go again at once.
	wait time.Duration
}

// syncOnce observes, plans, commits and acts once. A shim that does not
// answer tells nothing: the round acts on nothing and looks again later.
func (w *Worker) syncOnce(ctx context.Context) round {
	w.refreshVolumes(ctx)
	in, known := w.observe(ctx)
	if !known {
		return round{wait: w.silence.retryAfter()}
	}
	out := planner.Plan(in)
	w.commit(out, len(out.Actions) > 0 && out.Actions[0].Kind == planner.ActionCreateSandbox)
	w.markReconciled()
	removed, stalled := w.execute(ctx, out.Actions)
	if removed {
		return round{removed: true}
	}
	return round{wait: nextWait(out, stalled, time.Now(), jittered(resync))}
}

// nextWait is how long the loop sleeps after a round whose plan was out
// and whose actions ran (stalled: one failed in a way the planner cannot
// see): 0 to plan again at once after acting (level-triggered), else
// until out.NextWake, never longer than safety (the resync) and never
// shorter than minWait.
func nextWait(out planner.Output, stalled bool, now time.Time, safety time.Duration) time.Duration {
	if len(out.Actions) > 0 && !onlyKills(out.Actions) && !stalled {
		return 0
	}
	wait := safety
	if stalled {
		wait = min(wait, stallRetry)
	}
	if !out.NextWake.IsZero() {
		wait = max(min(wait, out.NextWake.Sub(now)), minWait)
	}
	return wait
}

// jittered is d plus a random part of up to resyncJitter of it.
func jittered(d time.Duration) time.Duration {
	return d + rand.N(time.Duration(float64(d)*resyncJitter)+1)
}

// markReconciled closes reconciled once.
func (w *Worker) markReconciled() {
	w.reconcileOnce.Do(func() { close(w.reconciled) })
}

func onlyKills(actions []planner.Action) bool {
	for _, a := range actions {
		if a.Kind != planner.ActionKillContainer {
			return false
		}
	}
	return true
}

// commit takes the planner's output: history and status into the state,
// events into the log, the state onto disk, the change to watchers.
//
// With deferWrite (the round's first action creates a sandbox, whose
// first step writes the state with the sandbox's intent) the write, and
// with it the watchers' news, is left to that step: one durable write less
// before every sandbox. Nothing of the round runs before that write
// (createSandbox writes before it makes anything; a failure before it
// writes the failure), and a round that must wait for the work budget
// writes before it waits (admitted).
func (w *Worker) commit(out planner.Output, deferWrite bool) {
	for _, e := range out.Events {
		w.event(e.Type, e.Reason, e.FieldPath, e.Message)
	}
	// Compared as encoded, as clients and the disk see them (times in
	// seconds): a round that changes nothing visible publishes nothing.
	after, _ := encodeCommitted(out.History, out.Status)
	w.mu.Lock()
	if w.committed == nil {
		w.committed, _ = encodeCommitted(w.state.History, w.state.Status)
	}
	changed := string(w.committed) != string(after)
	w.state.History = out.History
	w.state.Status = out.Status
	w.committed = after
	unsaved := w.unsaved
	if changed {
		w.unnotified = true
	}
	if deferWrite && (changed || len(out.Events) > 0) {
		w.unsaved = true
	}
	w.mu.Unlock()
	if !changed && len(out.Events) == 0 && !unsaved {
		return
	}
	if changed {
		// Recorded before clients can see the pod running.
		w.recordPodStart(&out.Status)
	}
	if deferWrite {
		return
	}
	w.persist()
}

func encodeCommitted(h planner.History, s corev1.PodStatus) ([]byte, error) {
	return json.Marshal(struct {
		H planner.History
		S corev1.PodStatus
	}{h, s})
}
