package podworker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/podd-dev/podd/daemon/store"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// ErrNoContainer is returned for a container name the pod does not have, or
// one with nothing to show yet.
var ErrNoContainer = fmt.Errorf("no such container")

func (w *Worker) hasContainer(name string) bool {
	for _, c := range allContainers(w.pod) {
		if c.Name == name {
			return true
		}
	}
	return false
}

// ContainerLog returns the log of the container's current instance, or of the
// one before it with previous, and a func that reports whether the current
// instance still runs (for follow).
func (w *Worker) ContainerLog(name string, previous bool) (string, func(context.Context) bool, error) {
	if !w.hasContainer(name) {
		return "", nil, fmt.Errorf("container %q is not valid for pod %q: %w", name, w.pod.Name, ErrNoContainer)
	}
	w.mu.Lock()
	cur := w.state.History.Containers[name].InstanceID
	w.mu.Unlock()
	dir := filepath.Dir(w.deps.Layout.LogPath(w.uid, name, 0))
	nums := logNumbers(dir)
	if len(nums) == 0 {
		return "", nil, fmt.Errorf("container %q in pod %q is waiting to start: %w", name, w.pod.Name, ErrNoContainer)
	}
	pick := nums[len(nums)-1]
	if _, n, ok := store.ParseInstanceKey(cur); ok {
		pick = int(n)
	}
	if previous {
		prev := -1
		for _, n := range nums {
			if n < pick {
				prev = n
			}
		}
		if prev < 0 {
			return "", nil, fmt.Errorf("previous terminated container %q in pod %q not found: %w", name, w.pod.Name, ErrNoContainer)
		}
		return w.deps.Layout.LogPath(w.uid, name, prev), func(context.Context) bool { return false }, nil
	}
	id := store.InstanceKey(name, int32(pick))
	running := func(ctx context.Context) bool {
		states, err := w.shimState(ctx, w.currentShim())
		if err != nil {
			return false
		}
		st := find(states, id)
		return st != nil && st.GetStatus() != shimv1.Status_STATUS_STOPPED
	}
	return w.deps.Layout.LogPath(w.uid, name, pick), running, nil
}

// logNumbers lists the restart numbers that have a log file, ascending:
// <n>.log, or only rotated ones (<n>.log.<m>) in the moment of a rotation,
// between the rename of the live file and the creation of the next.
func logNumbers(dir string) []int {
	ents, _ := os.ReadDir(dir)
	var nums []int
	for _, e := range ents {
		name := e.Name()
		if live, _, rotated := strings.Cut(name, ".log."); rotated {
			name = live + ".log"
		}
		num, ok := strings.CutSuffix(name, ".log")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || slices.Contains(nums, n) {
			continue
		}
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

// ExecTarget returns the shim and the running instance of a container, for
// podctl exec.
func (w *Worker) ExecTarget(ctx context.Context, name string) (ShimClient, string, error) {
	if !w.hasContainer(name) {
		return nil, "", fmt.Errorf("container %q is not valid for pod %q: %w", name, w.pod.Name, ErrNoContainer)
	}
	cl := w.currentShim()
	states, err := w.shimState(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	st := newestInstance(states, name)
	if st == nil || st.GetStatus() != shimv1.Status_STATUS_RUNNING {
		return nil, "", fmt.Errorf("container %q in pod %q is not running: %w", name, w.pod.Name, ErrNoContainer)
	}
	return cl, st.GetId(), nil
}
