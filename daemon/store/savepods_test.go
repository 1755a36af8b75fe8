package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

func openTestStore(t testing.TB) *Store {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func manyPods(n int) []*corev1.Pod {
	pods := make([]*corev1.Pod, n)
	for i := range pods {
		pods[i] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("web-%d", i), Namespace: "default", UID: types.UID(fmt.Sprintf("u%d", i)),
		}}
	}
	return pods
}

func TestSavePodsKeepsEveryPod(t *testing.T) {
	s := openTestStore(t)
	if err := s.SavePods(manyPods(40)); err != nil {
		t.Fatal(err)
	}
	pods, bad, err := s.LoadPods()
	if err != nil || len(pods) != 40 || len(bad) != 0 {
		t.Fatalf("LoadPods = %d pods, %v, %v; want 40", len(pods), bad, err)
	}
}

// A manifest is accepted whole or not at all: when one pod's file cannot
// be written, the pods already written are removed again, so a restarted
// daemon does not start pods whose apply failed.
func TestSavePodsKeepsNoneWhenOneFails(t *testing.T) {
	s := openTestStore(t)
	boom := errors.New("disk full")
	writeFile = func(path string, data []byte, perm os.FileMode) error {
		if strings.Contains(path, "/u7/") {
			return boom
		}
		return atomicfile.WriteFile(path, data, perm)
	}
	t.Cleanup(func() { writeFile = atomicfile.WriteFile })
	if err := s.SavePods(manyPods(20)); !errors.Is(err, boom) || !strings.Contains(err.Error(), "default/web-7") {
		t.Fatalf("SavePods = %v; want the failure naming pod default/web-7", err)
	}
	pods, bad, err := s.LoadPods()
	if err != nil || len(pods) != 0 || len(bad) != 0 {
		t.Fatalf("after a failed SavePods, LoadPods = %d pods, %v, %v; want none", len(pods), bad, err)
	}
	ents, err := os.ReadDir(s.Layout.PodsDir())
	if err != nil || len(ents) != 0 {
		t.Fatalf("pods dir holds %v (%v); want nothing", ents, err)
	}
}

// BenchmarkSavePods persists 200 pods as one apply does, against the same
// pods written one by one in the same run (the peer): batch/serial is the
// ratio to read.
func BenchmarkSavePods(b *testing.B) {
	var batch, serial float64
	for range b.N {
		s := openTestStore(b)
		pods := manyPods(200)
		t0 := nowNanos()
		if err := s.SavePods(pods); err != nil {
			b.Fatal(err)
		}
		batch += float64(nowNanos() - t0)
		s2 := openTestStore(b)
		t0 = nowNanos()
		for _, p := range pods {
			if err := s2.savePod(p); err != nil {
				b.Fatal(err)
			}
		}
		serial += float64(nowNanos() - t0)
	}
	b.ReportMetric(batch/float64(b.N)/1e6, "batch-ms/200pods")
	b.ReportMetric(serial/float64(b.N)/1e6, "serial-ms/200pods")
	b.ReportMetric(batch/serial, "batch/serial")
}

func nowNanos() int64 { return time.Now().UnixNano() }
