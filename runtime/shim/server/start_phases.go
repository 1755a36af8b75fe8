package server

import (
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// phaseClock times the steps of one container start for the daemon's
// start timing: each mark closes the step since the previous one.
type phaseClock struct {
	last   time.Time
	phases []*shimv1.StartPhase
}

func newPhaseClock(now time.Time) *phaseClock { return &phaseClock{last: now} }

func (p *phaseClock) mark(name string, now time.Time) {
	p.phases = append(p.phases, &shimv1.StartPhase{Name: name, Nanos: int64(now.Sub(p.last))})
	p.last = now
}
