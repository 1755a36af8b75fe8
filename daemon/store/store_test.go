package store

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSaveLoadRemovePod(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	if err := s.SavePod(pod); err != nil {
		t.Fatal(err)
	}
	type state struct{ N int }
	if err := s.SaveState("u1", state{N: 7}); err != nil {
		t.Fatal(err)
	}
	// A directory left by a crash before pod.json was written is ignored.
	if err := os.MkdirAll(s.Layout.PodDir("half"), 0o700); err != nil {
		t.Fatal(err)
	}
	pods, err := s.LoadPods()
	if err != nil || len(pods) != 1 || pods[0].Name != "web" {
		t.Fatalf("LoadPods = %v, %v; want the one pod", pods, err)
	}
	var st state
	if err := s.LoadState("u1", &st); err != nil || st.N != 7 {
		t.Fatalf("LoadState = %+v, %v", st, err)
	}
	if err := s.RemovePod("u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Layout.PodDir("u1")); !os.IsNotExist(err) {
		t.Fatalf("pod dir still there: %v", err)
	}
}

func TestLayoutPaths(t *testing.T) {
	l := Layout{Root: "/var/lib/podd", RunRoot: "/run/podd"}
	if got := l.LogPath("u", "web", 2); got != "/var/lib/podd/pods/u/logs/web/2.log" {
		t.Fatal(got)
	}
	if got := l.ShimDir("u"); got != "/run/podd/pods/u" {
		t.Fatal(got)
	}
	if got := ContainerID("web", 3); got != "web-3" {
		t.Fatal(got)
	}
}
