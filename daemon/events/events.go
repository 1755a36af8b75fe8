// Package events keeps each pod's bounded event log (R80–R82): a repeat of
// the same (type, reason, object, message) bumps count and last time, the
// oldest events are dropped past the bound, and watchers get every change.
package events

import (
	"sort"
	"sync"
	"time"
)

// MaxPerPod bounds the events kept for one pod (R82).
const MaxPerPod = 100

// Event is one entry of a pod's event log.
type Event struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	UID       string    `json:"uid"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	Object    string    `json:"object,omitempty"`
	Message   string    `json:"message"`
	Count     int32     `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
}

// Normal and Warning are the event types.
const (
	Normal  = "Normal"
	Warning = "Warning"
)

// Log holds the events of every pod.
type Log struct {
	mu       sync.Mutex
	byPod    map[string][]Event // by pod UID, oldest first
	watchers map[chan Event]struct{}
	now      func() time.Time
}

// New returns an empty log. now is the clock (time.Now in production).
func New(now func() time.Time) *Log {
	return &Log{byPod: map[string][]Event{}, watchers: map[chan Event]struct{}{}, now: now}
}

// Record adds an event, or bumps its repeat, and returns the stored entry.
func (l *Log) Record(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	list := l.byPod[e.UID]
	stored := -1
	for i := range list {
		x := &list[i]
		if x.Type == e.Type && x.Reason == e.Reason && x.Object == e.Object && x.Message == e.Message {
			x.Count++
			x.Last = now
			stored = i
			break
		}
	}
	if stored < 0 {
		e.Count, e.First, e.Last = 1, now, now
		list = append(list, e)
		if len(list) > MaxPerPod {
			list = append([]Event(nil), list[len(list)-MaxPerPod:]...)
		}
		stored = len(list) - 1
	}
	l.byPod[e.UID] = list
	out := list[stored]
	for w := range l.watchers {
		select {
		case w <- out:
		default: // a slow watcher misses an update rather than blocking pods
		}
	}
	return out
}

// Restore replaces a pod's events (after a daemon restart).
func (l *Log) Restore(uid string, evs []Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byPod[uid] = append([]Event(nil), evs...)
}

// Pod returns a copy of one pod's events, oldest first.
func (l *Log) Pod(uid string) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.byPod[uid]...)
}

// All returns every event, ordered by last timestamp.
func (l *Log) All() []Event {
	l.mu.Lock()
	var all []Event
	for _, list := range l.byPod {
		all = append(all, list...)
	}
	l.mu.Unlock()
	sort.SliceStable(all, func(i, j int) bool { return all[i].Last.Before(all[j].Last) })
	return all
}

// Forget drops a deleted pod's events.
func (l *Log) Forget(uid string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.byPod, uid)
}

// Watch returns a channel of every recorded event and a function that stops
// the watch.
func (l *Log) Watch() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	l.mu.Lock()
	l.watchers[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(l.watchers, ch)
		l.mu.Unlock()
	}
}
