package daemon

import (
	"context"
	"testing"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// Every watcher of the pods sends the JSON the pod's published snapshot
// encoded once, for the listed pods and for each change: in a burst of
// starts each change was encoded again for every watcher.
func TestWatchPodsSendsThePublishedJSON(t *testing.T) {
	d := startTestDaemon(t)
	d.addIdlePod("default", "web", nil)
	web, _ := d.pods.get("default", "web")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var streams []*watchStream
	for range 2 {
		s := &watchStream{ctx: ctx, sent: make(chan *poddv1.PodEvent, 16)}
		streams = append(streams, s)
		go (&api{d: d.Daemon}).WatchPods(&poddv1.ListPodsRequest{}, s)
	}
	eventually(t, "the watches registered", 10*time.Second, func() bool {
		d.pods.mu.Lock()
		defer d.pods.mu.Unlock()
		return len(d.pods.watchers) == len(streams)
	})
	sameJSON := func(what string, s *watchStream) {
		t.Helper()
		select {
		case e := <-s.sent:
			want, err := web.worker.Published().JSON()
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Pod.Json) == 0 || &e.Pod.Json[0] != &want[0] {
				t.Errorf("%s: the watch sent an encoding of its own, not the published one", what)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no watch event", what)
		}
	}
	for _, s := range streams {
		sameJSON("listed pod", s)
	}
	d.pods.notify("MODIFIED", web.worker.Published())
	for _, s := range streams {
		sameJSON("changed pod", s)
	}
}
