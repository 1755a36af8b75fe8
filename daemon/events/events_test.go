package events

import (
	"fmt"
	"testing"
	"time"
)

func TestR80_RepeatBumpsCountAndLast(t *testing.T) {
	now := time.Unix(100, 0)
	l := New(func() time.Time { return now })
	e := Event{UID: "u", Type: Warning, Reason: "BackOff", Object: "spec.containers{a}", Message: "m"}
	l.Record(e)
	now = now.Add(5 * time.Second)
	got := l.Record(e)
	if got.Count != 2 || !got.First.Equal(time.Unix(100, 0)) || !got.Last.Equal(time.Unix(105, 0)) {
		t.Fatalf("got %+v", got)
	}
	if n := len(l.Pod("u")); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
}

func TestR82_BoundedOldestDropped(t *testing.T) {
	l := New(time.Now)
	for i := 0; i < MaxPerPod+5; i++ {
		l.Record(Event{UID: "u", Reason: "R", Message: fmt.Sprint(i)})
	}
	evs := l.Pod("u")
	if len(evs) != MaxPerPod || evs[0].Message != "5" {
		t.Fatalf("len %d first %q", len(evs), evs[0].Message)
	}
}

func TestWatchSeesRecords(t *testing.T) {
	l := New(time.Now)
	ch, stop := l.Watch()
	defer stop()
	l.Record(Event{UID: "u", Reason: "Started"})
	select {
	case e := <-ch:
		if e.Reason != "Started" {
			t.Fatal(e)
		}
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
}
