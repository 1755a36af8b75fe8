package daemon

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/daemon/podworker"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// addIdlePod puts a pod in d's table with a worker that never runs: what
// the API reads of it is its snapshot.
func (d *testDaemon) addIdlePod(ns, name string, annotations map[string]string) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), Annotations: annotations},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:latest"}}}}
	d.pods.mu.Lock()
	defer d.pods.mu.Unlock()
	d.pods.byKey[podKey(ns, name)] = newPodEntry(podworker.New(d.deps, pod, nil), "", annotations[podworker.AnnotationStaticSource])
}

// names lists "ns/name" of the pods of a response.
func names(t *testing.T, pods []*poddv1.Pod) []string {
	t.Helper()
	var out []string
	for _, m := range pods {
		var p corev1.Pod
		if err := json.Unmarshal(m.Json, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

// ListPods pages in key order; a page ends at the limit, and before it
// grows past listPageBytes; the continue token resumes after the last pod.
func TestListPodsPages(t *testing.T) {
	d := startTestDaemon(t)
	for _, k := range []string{"a/p1", "a/p2", "b/p1", "b/p3", "default/web", "kube-system/dns"} {
		ns, name, _ := strings.Cut(k, "/")
		d.addIdlePod(ns, name, nil)
	}
	a := &api{d: d.Daemon}
	for _, tc := range []struct {
		name  string
		req   *poddv1.ListPodsRequest
		pages [][]string
	}{
		{"all, one page", &poddv1.ListPodsRequest{}, [][]string{{"a/p1", "a/p2", "b/p1", "b/p3", "default/web", "kube-system/dns"}}},
		{"limit 4", &poddv1.ListPodsRequest{Limit: 4}, [][]string{{"a/p1", "a/p2", "b/p1", "b/p3"}, {"default/web", "kube-system/dns"}}},
		{"limit 2", &poddv1.ListPodsRequest{Limit: 2}, [][]string{{"a/p1", "a/p2"}, {"b/p1", "b/p3"}, {"default/web", "kube-system/dns"}}},
		{"namespace b, limit 1", &poddv1.ListPodsRequest{Namespace: "b", Limit: 1}, [][]string{{"b/p1"}, {"b/p3"}}},
		{"name p1 in any namespace", &poddv1.ListPodsRequest{Name: "p1"}, [][]string{{"a/p1", "b/p1"}}},
		{"no match", &poddv1.ListPodsRequest{Namespace: "none"}, [][]string{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			for i, want := range tc.pages {
				resp, err := a.ListPods(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if got := names(t, resp.Pods); strings.Join(got, " ") != strings.Join(want, " ") {
					t.Fatalf("page %d: %v, want %v", i, got, want)
				}
				last := i == len(tc.pages)-1
				if (resp.Continue == "") != last {
					t.Fatalf("page %d: continue %q, last page %v", i, resp.Continue, last)
				}
				req = &poddv1.ListPodsRequest{Namespace: req.Namespace, Name: req.Name, Limit: req.Limit, Continue: resp.Continue}
			}
		})
	}
}

// No set of pods breaks listing: a page stops before it would pass
// listPageBytes, and always holds at least one pod.
func TestListPodsPageBytes(t *testing.T) {
	d := startTestDaemon(t)
	big := map[string]string{"blob": strings.Repeat("x", listPageBytes/3)}
	for _, name := range []string{"p1", "p2", "p3", "p4"} {
		d.addIdlePod("default", name, big)
	}
	a := &api{d: d.Daemon}
	var pages [][]string
	req := &poddv1.ListPodsRequest{}
	for {
		resp, err := a.ListPods(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		size := 0
		for _, m := range resp.Pods {
			size += len(m.Json)
		}
		if size > listPageBytes {
			t.Errorf("a page of %d bytes, over %d", size, listPageBytes)
		}
		pages = append(pages, names(t, resp.Pods))
		if resp.Continue == "" {
			break
		}
		req = &poddv1.ListPodsRequest{Continue: resp.Continue}
	}
	if len(pages) != 2 || len(pages[0]) != 2 || len(pages[1]) != 2 {
		t.Errorf("pages %v, want two of two pods", pages)
	}
}

// watchStream is the server side of a WatchPods stream.
type watchStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent chan *poddv1.PodEvent
}

func (s *watchStream) Context() context.Context { return s.ctx }
func (s *watchStream) Send(e *poddv1.PodEvent) error {
	s.sent <- e
	return nil
}

func (s *watchStream) next(t *testing.T) (string, string) {
	t.Helper()
	select {
	case e := <-s.sent:
		var p corev1.Pod
		if err := json.Unmarshal(e.Pod.Json, &p); err != nil {
			t.Fatal(err)
		}
		return e.Type, p.Namespace + "/" + p.Name
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
		return "", ""
	}
}

// WatchPods sends the matching pods as ADDED, then their changes, and ends
// when the client goes.
func TestWatchPods(t *testing.T) {
	d := startTestDaemon(t)
	d.addIdlePod("default", "web", nil)
	d.addIdlePod("default", "db", nil)
	d.addIdlePod("other", "web", nil)
	ctx, cancel := context.WithCancel(context.Background())
	s := &watchStream{ctx: ctx, sent: make(chan *poddv1.PodEvent, 16)}
	done := make(chan error, 1)
	go func() { done <- (&api{d: d.Daemon}).WatchPods(&poddv1.ListPodsRequest{Namespace: "default"}, s) }()
	for _, want := range []string{"ADDED default/db", "ADDED default/web"} {
		if typ, key := s.next(t); typ+" "+key != want {
			t.Fatalf("got %s %s, want %s", typ, key, want)
		}
	}
	// The watch registers before it lists: wait until it does, so no
	// change below is missed.
	eventually(t, "the watch registered", 10*time.Second, func() bool {
		d.pods.mu.Lock()
		defer d.pods.mu.Unlock()
		return len(d.pods.watchers) == 1
	})
	other, _ := d.pods.get("other", "web")
	web, _ := d.pods.get("default", "web")
	d.pods.notify("MODIFIED", other.worker.Published())
	d.pods.notify("MODIFIED", web.worker.Published())
	d.pods.notify("DELETED", web.worker.Published())
	for _, want := range []string{"MODIFIED default/web", "DELETED default/web"} {
		if typ, key := s.next(t); typ+" "+key != want {
			t.Fatalf("got %s %s, want %s", typ, key, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("watch ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not end with its client")
	}
	d.pods.mu.Lock()
	n := len(d.pods.watchers)
	d.pods.mu.Unlock()
	if n != 0 {
		t.Errorf("%d watchers left after the watch ended", n)
	}
}

// The API edge maps the daemon's errors to codes, and a pod through Apply,
// GetPod and DeletePod keeps its UID.
func TestPodRPCs(t *testing.T) {
	d := startTestDaemon(t)
	a := &api{d: d.Daemon}
	ctx := context.Background()
	applied, err := a.Apply(ctx, &poddv1.ApplyRequest{Manifest: []byte(podYAML("web"))})
	if err != nil || len(applied.Results) != 1 || applied.Results[0].Action != "created" {
		t.Fatalf("apply: %v %v", applied, err)
	}
	got, err := a.GetPod(ctx, &poddv1.GetPodRequest{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var p corev1.Pod
	if err := json.Unmarshal(got.Json, &p); err != nil || string(p.UID) != applied.Results[0].Uid {
		t.Fatalf("get: uid %s %v, want %s", p.UID, err, applied.Results[0].Uid)
	}
	if p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("get: status.qosClass %q, want BestEffort", p.Status.QOSClass)
	}
	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"get missing", func() error { _, err := a.GetPod(ctx, &poddv1.GetPodRequest{Name: "nope"}); return err }, codes.NotFound},
		{"get in another namespace", func() error {
			_, err := a.GetPod(ctx, &poddv1.GetPodRequest{Namespace: "other", Name: "web"})
			return err
		}, codes.NotFound},
		{"apply invalid", func() error { _, err := a.Apply(ctx, &poddv1.ApplyRequest{Manifest: []byte("kind: Pod")}); return err }, codes.InvalidArgument},
		{"delete missing", func() error { _, err := a.DeletePod(ctx, &poddv1.DeletePodRequest{Name: "nope"}); return err }, codes.NotFound},
		{"version", func() error { _, err := a.Version(ctx, &poddv1.VersionRequest{}); return err }, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := status.Code(tc.call()); c != tc.code {
				t.Errorf("code %v, want %v", c, tc.code)
			}
		})
	}
	del, err := a.DeletePod(ctx, &poddv1.DeletePodRequest{Name: "web", Wait: true})
	if err != nil || del.Uid != applied.Results[0].Uid {
		t.Fatalf("delete: %v %v", del, err)
	}
	// A waited delete returns once the pod is gone from the API too.
	if _, err := a.GetPod(ctx, &poddv1.GetPodRequest{Name: "web"}); status.Code(err) != codes.NotFound {
		t.Errorf("get right after a waited delete: %v, want NotFound", err)
	}
}
