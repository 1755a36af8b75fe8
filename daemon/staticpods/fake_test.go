package staticpods

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// call is one recorded call into the fake daemon.
type call struct {
	op   string // apply, delete, report
	file string // base name
	keys []string
	data string
	err  error
	at   time.Time
}

// fakeApplier stands in for the daemon. A manifest is a list of "pod: NAME"
// lines (owning default/NAME-node1); a line "broken" makes it invalid.
type fakeApplier struct {
	mu          sync.Mutex
	calls       []call
	failApplies int // the next N applies fail as if the daemon were busy
	failDeletes int // the next N deletes fail
}

func (f *fakeApplier) ApplyStatic(_ context.Context, file string, data []byte) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := call{op: "apply", file: filepath.Base(file), data: string(data), at: time.Now()}
	var keys []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "broken":
			c.err = errors.New("invalid manifest: line \"broken\"")
		case strings.HasPrefix(line, "pod: "):
			keys = append(keys, "default/"+strings.TrimPrefix(line, "pod: ")+"-node1")
		}
	}
	if c.err == nil && f.failApplies > 0 {
		f.failApplies--
		c.err = errors.New("daemon busy")
	}
	if c.err == nil {
		c.keys = keys
	}
	f.calls = append(f.calls, c)
	if c.err != nil {
		return nil, c.err
	}
	return keys, nil
}

func (f *fakeApplier) DeleteStatic(_ context.Context, file string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := call{op: "delete", file: filepath.Base(file), keys: slices.Clone(keys), at: time.Now()}
	slices.Sort(c.keys)
	if f.failDeletes > 0 {
		f.failDeletes--
		c.err = errors.New("store unavailable")
	}
	f.calls = append(f.calls, c)
	return c.err
}

func (f *fakeApplier) ReportStatic(file string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{op: "report", file: filepath.Base(file), err: err, at: time.Now()})
}

// since returns the calls made from index i on.
func (f *fakeApplier) since(i int) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls[min(i, len(f.calls)):])
}

func (f *fakeApplier) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// waitCall waits for a call from index i on with op on file (and, when keys
// is not nil, exactly those keys) and returns it.
func (f *fakeApplier) waitCall(t *testing.T, i int, op, file string, keys []string) call {
	t.Helper()
	return f.waitFor(t, i, op+" of "+file, func(c call) bool {
		return c.op == op && c.file == file && (keys == nil || slices.Equal(c.keys, keys))
	})
}

// waitFor waits for a call from index i on that match accepts.
func (f *fakeApplier) waitFor(t *testing.T, i int, desc string, match func(call) bool) call {
	t.Helper()
	var found call
	testutil.WaitFor(t, 5*time.Second, desc, func() (bool, error) {
		for _, c := range f.since(i) {
			if match(c) {
				found = c
				return true, nil
			}
		}
		return false, nil
	})
	return found
}
