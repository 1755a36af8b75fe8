package server

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/internal/pidsignal"
	"github.com/podd-dev/podd/internal/procstat"
)

// reaper keeps orphans from piling up as zombies without ever reaping a
// process that a libct Process.Wait is going to reap: a container's init,
// or an exec'd process (which the exec helper forks as the shim's child;
// the helper itself is waited for while the start holds startMu).
type reaper struct {
	// startMu is held shared while processes start and exclusively while
	// orphans are reaped, so a child is tracked before the sweeper sees it.
	startMu sync.RWMutex
	mu      sync.Mutex
	tracked map[int]bool
	log     *slog.Logger
}

func newReaper(log *slog.Logger) *reaper {
	return &reaper{tracked: map[int]bool{}, log: log}
}

// start runs fn, which starts one process and returns its pid, and tracks
// that pid.
func (r *reaper) start(fn func() (int, error)) error {
	r.startMu.RLock()
	defer r.startMu.RUnlock()
	pid, err := fn()
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.tracked[pid] = true
	r.mu.Unlock()
	return nil
}

// untrack forgets pid once its waiter has reaped it.
func (r *reaper) untrack(pid int) {
	r.mu.Lock()
	delete(r.tracked, pid)
	r.mu.Unlock()
}

// sweepDelay is how long after a SIGCHLD the reaper sweeps. Nearly every
// child that ends has a waiter that reaps it at once (a container's init,
// an exec'd process, the exec helper); a sweep right at the signal found
// that child not reaped yet and scanned every child of the shim for
// nothing, twice per exec. An orphan waits this long as a zombie.
const sweepDelay = time.Second

// run sweeps orphans sweepDelay after a SIGCHLD (the signals meanwhile
// are that one sweep's) until ctx ends.
func (r *reaper) run(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	defer signal.Stop(ch)
	r.loop(ctx, ch)
}

// loop is run's, sweeping after each signal on ch.
func (r *reaper) loop(ctx context.Context, ch <-chan os.Signal) {
	t := time.NewTimer(sweepDelay)
	t.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-ch:
			if !pending {
				pending = true
				t.Reset(sweepDelay)
			}
		case <-t.C:
			pending = false
			r.sweep()
		}
	}
}

func (r *reaper) sweep() {
	if !anyZombie() {
		// The usual case: the waiter of the child that ended has reaped it
		// already; scanning every thread's children would find nothing.
		return
	}
	r.startMu.Lock()
	defer r.startMu.Unlock()
	for _, pid := range childPids(os.Getpid()) {
		r.mu.Lock()
		tracked := r.tracked[pid]
		r.mu.Unlock()
		if tracked || !isZombie(pid) {
			continue
		}
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
			r.log.Debug("reaped orphan", "pid", pid, "status", int(ws))
		}
	}
}

// anyZombie reports whether a child of the shim has ended and is not yet
// reaped, without reaping it.
func anyZombie() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	// With WNOHANG and no zombie the kernel leaves si_signo zero; on an
	// error (no children at all) there is nothing to reap either.
	return err == nil && info.Signo != 0
}

// childPids lists the children of every thread of process pid.
func childPids(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func isZombie(pid int) bool {
	st, err := procstat.Read(pid)
	return err == nil && st.State == 'Z'
}

// afterTreeListed runs once killTree has first listed the tree (a test's
// hook).
var afterTreeListed = func() {}

// killTree SIGKILLs process pid, its process group and every descendant.
// pid must be an unreaped child (its pid and group are its own); a
// descendant is signalled as package pidsignal does, so one that ended
// since the listing left its pid to whatever took it, never killed.
func killTree(pid int) {
	listed := false
	_, _ = pidsignal.Listed(func() ([]int, error) {
		tree := descendants(pid)
		if !listed {
			listed = true
			afterTreeListed()
		}
		return tree, nil
	}, unix.SIGKILL)
	_ = unix.Kill(-pid, unix.SIGKILL)
}

// descendants lists pid and every process below it.
func descendants(pid int) []int {
	var all []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		all = append(all, p)
		queue = append(queue, childPids(p)...)
	}
	return all
}
