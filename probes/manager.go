package probes

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Config configures a Manager. The zero value uses the real clock and
// slog.Default().
type Config struct {
	Clock  Clock
	Logger *slog.Logger
	// Recorder takes each probe run; nil records nothing.
	Recorder Recorder
}

// Manager owns the probe workers of all pods and publishes their updates.
type Manager struct {
	clock     Clock
	log       *slog.Logger
	recorder  Recorder
	newProber func(*corev1.Probe, Target) (prober, error)
	q         *queue

	ctx      context.Context
	stop     context.CancelFunc
	pumpDone chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	workers map[workerID]*worker
	gates   map[ContainerKey]*gate
	closed  bool
}

type workerID struct {
	key  ContainerKey
	kind Kind
}

// gate is open once the startup probe of a container instance succeeded.
type gate struct {
	ch   chan struct{}
	open bool
}

// NewManager returns a running Manager; Close stops it.
func NewManager(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = RealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Manager{
		clock:     cfg.Clock,
		log:       cfg.Logger,
		recorder:  cfg.Recorder,
		newProber: newProber,
		q:         newQueue(),
		ctx:       ctx,
		stop:      stop,
		pumpDone:  make(chan struct{}),
		workers:   map[workerID]*worker{},
		gates:     map[ContainerKey]*gate{},
	}
	go func() {
		defer close(m.pumpDone)
		m.q.pump(ctx)
	}()
	return m
}

// Updates delivers every change of a thresholded probe state, in order per
// probe, plus:
//   - each time a startup or liveness probe reaches its failure threshold
//     (the worker then stops until the caller adds the next instance);
//   - each run that succeeded with a warning (Update.Warning set; Result is
//     then the current, possibly unchanged, state).
//
// Initial states are not sent (see Get). Workers never block on a slow
// reader. The channel is closed by Close.
func (m *Manager) Updates() <-chan Update { return m.q.out }

// Add starts probing one container instance with probe p of kind k. Add the
// Startup probe of an instance before its Liveness and Readiness probes: those
// added while the instance has an unfinished startup probe wait until it
// succeeds (R43). Add fails when the handler is unusable (no handler, a port
// name not among t.ContainerPorts, no host), when (key, k) was already added,
// or when a Startup probe comes after the others.
func (m *Manager) Add(key ContainerKey, k Kind, p *corev1.Probe, t Target) error {
	return m.add(key, k, p, t, false)
}

// Resume adds a probe of an instance that ran before a daemon restart and
// that, by the pod's recorded status, had passed it: its startup probe had
// succeeded (R43; it is not run again, as the kubelet stops probing startup
// once a container has started) or it was ready (R47; the readiness worker
// starts from Success with no initial delay, so the pod stays ready, and in
// its Services' endpoints, until readiness fails its threshold again).
// Liveness has nothing to resume: Resume adds it as Add does.
func (m *Manager) Resume(key ContainerKey, k Kind, p *corev1.Probe, t Target) error {
	return m.add(key, k, p, t, true)
}

func (m *Manager) add(key ContainerKey, k Kind, p *corev1.Probe, t Target, passed bool) error {
	if p == nil {
		return fmt.Errorf("add %s probe of container %q: no probe", k, key.Container)
	}
	pr, err := m.newProber(p, t)
	if err != nil {
		return fmt.Errorf("add %s probe of container %q: %w", k, key.Container, err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("add %s probe of container %q: manager closed", k, key.Container)
	}
	id := workerID{key, k}
	if _, ok := m.workers[id]; ok {
		return fmt.Errorf("add %s probe of container %q instance %q: already added", k, key.Container, key.InstanceID)
	}
	w := &worker{m: m, key: key, kind: k, timing: timingOf(p), prober: pr, done: make(chan struct{})}
	switch k {
	case Startup:
		if m.hasWorker(key, Liveness) || m.hasWorker(key, Readiness) {
			return fmt.Errorf("add startup probe of container %q: add it before the liveness and readiness probes", key.Container)
		}
		if passed {
			// Started already: the gate is open and nothing runs.
			open := make(chan struct{})
			close(open)
			m.gates[key] = &gate{ch: open, open: true}
			return nil
		}
		m.gates[key] = &gate{ch: make(chan struct{})}
		w.state = Unknown
	case Liveness:
		w.state = Success
	case Readiness:
		w.state = Failure
		if passed {
			w.state = Success
			w.timing.initialDelay = 0
		}
	default:
		return fmt.Errorf("add probe of container %q: unknown kind %d", key.Container, k)
	}
	if g, ok := m.gates[key]; ok && !g.open && k != Startup {
		w.gate = g.ch
	}
	ctx, cancel := context.WithCancel(m.ctx)
	w.cancel = cancel
	m.workers[id] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run(ctx)
	}()
	return nil
}

func (m *Manager) hasWorker(key ContainerKey, k Kind) bool {
	_, ok := m.workers[workerID{key, k}]
	return ok
}

// Get returns the current thresholded state of a probe, and false when no
// such probe was added (or it was removed).
func (m *Manager) Get(key ContainerKey, k Kind) (Result, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[workerID{key, k}]
	if !ok {
		return Unknown, false
	}
	return w.state, true
}

// RemoveContainer stops and forgets every probe of one container instance. No
// update for it is queued after RemoveContainer returns (one queued before may
// still be delivered).
func (m *Manager) RemoveContainer(key ContainerKey) {
	m.removeWhere(func(k ContainerKey) bool { return k == key })
}

// Remove stops and forgets every probe of a pod.
func (m *Manager) Remove(podUID string) {
	m.removeWhere(func(k ContainerKey) bool { return k.PodUID == podUID })
}

func (m *Manager) removeWhere(match func(ContainerKey) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, w := range m.workers {
		if match(id.key) {
			w.cancel()
			delete(m.workers, id)
		}
	}
	for key := range m.gates {
		if match(key) {
			delete(m.gates, key)
		}
	}
}

// Close stops every worker, waits for them, and closes the Updates channel.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for id, w := range m.workers {
		w.cancel()
		delete(m.workers, id)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.stop()
	<-m.pumpDone
}

// report applies one probe run of w: when reached, res becomes w's state.
// It queues an update when the state changed, when a startup or liveness
// probe reached its failure threshold, when the run failed (the caller
// records Unhealthy for each failed run, R46) or when the run carried a
// warning; nothing is queued for a removed worker.
func (m *Manager) report(w *worker, res Result, reached bool, out, warning string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers[workerID{w.key, w.kind}] != w {
		return
	}
	send := warning != "" || res == Failure
	if reached {
		send = send || res != w.state || (res == Failure && w.kind != Readiness)
		w.state = res
	}
	if send {
		m.q.push(Update{Key: w.key, Kind: w.kind, Result: w.state, RunFailed: res == Failure, Output: out, Warning: warning, At: m.clock.Now()})
	}
}

func (m *Manager) openGate(key ContainerKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.gates[key]; ok && !g.open {
		g.open = true
		close(g.ch)
	}
}
