package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// ReadExitRecords returns every exit record in stateDir, sorted by id, for
// the tests (the shim reads none back). A missing directory means none.
func ReadExitRecords(stateDir string) ([]*shimdir.ExitRecord, error) {
	dir := shimdir.ExitsDir(stateDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read exit records: %w", err)
	}
	var out []*shimdir.ExitRecord
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || filepath.Ext(name) != ".json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read exit record: %w", err)
		}
		var r shimdir.ExitRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("decode exit record %s: %w", filepath.Join(dir, name), err)
		}
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// IdlePid is the pid of the idle spare once it waits, else 0.
func (s *Spares) IdlePid() int { return s.idlePid() }

// Off reports whether s gave spares up.
func (s *Spares) Off() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.off
}

// CloseIdleArgs closes the daemon's end of the idle spare's argument pipe,
// as the daemon's death does, and returns a channel closed once the spare
// is reaped and its exit error.
func (s *Spares) CloseIdleArgs() (<-chan struct{}, func() error) {
	s.mu.Lock()
	sp := s.idle
	s.idle = nil
	s.closed = true // no refill
	s.mu.Unlock()
	sp.args.Close()
	return sp.exited, func() error { return sp.waitErr }
}

// ShimCommand and ShimArgs are how a shim is started, and its arguments.
var (
	ShimCommand = shimCommand
	ShimArgs    = shimArgs
)

// BeforeMove makes s call f when a launch has taken its spare, before the
// spare is moved out of the spares' cgroup.
func (s *Spares) BeforeMove(f func()) { s.beforeMove = f }

// FillNow starts the next spare now, as the refill timer does.
func (s *Spares) FillNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fillLocked()
}

// Filling reports whether a spare is being started.
func (s *Spares) Filling() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filling
}
