package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	pods, bad, err := s.LoadPods()
	if err != nil || len(pods) != 1 || pods[0].Name != "web" || len(bad) != 0 {
		t.Fatalf("LoadPods = %v, %v, %v; want the one pod", pods, bad, err)
	}
	var st state
	if q, err := s.LoadState("u1", &st); err != nil || q != nil || st.N != 7 {
		t.Fatalf("LoadState = %+v, %v, %v", st, q, err)
	}
	if err := s.RemovePod("u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Layout.PodDir("u1")); !os.IsNotExist(err) {
		t.Fatalf("pod dir still there: %v", err)
	}
}

func TestLayoutPaths(t *testing.T) {
	l := Layout{Root: "/var/lib/podd", RunRoot: "/run/podd", CgroupParent: "/podd"}
	for _, tc := range []struct{ got, want string }{
		{l.LogPath("u", "web", 2), "/var/lib/podd/pods/u/logs/web/2.log"},
		{l.ShimDir("u"), "/run/podd/pods/u"},
		{l.ShimsDir(), "/run/podd/pods"},
		{l.PauseLog("u"), "/run/podd/pods/u/pause.log"},
		{l.PodCgroup("u"), "/podd/podu"},
		{l.ShimsCgroup(), "/podd/shims"},
		{l.ShimCgroup("u"), "/podd/shims/podu"},
		{l.NetnsDir(), "/run/podd/netns"},
		{l.CNICacheDir(), "/var/lib/podd/cni/cache"},
		{l.IPAMDir(), "/var/lib/podd/cni/ipam"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	for name, want := range map[string]string{"podu": "u", "shims": "", "pod": ""} {
		if uid, ok := CgroupUID(name); uid != want || ok != (want != "") {
			t.Errorf("CgroupUID(%q) = %q, %t", name, uid, ok)
		}
	}
}

func testStore(t *testing.T) *Store {
	dir := t.TempDir()
	s, err := Open(Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Issue 7 item 2: one pod.json that does not read back (truncated, empty,
// garbage, another pod's, a directory) is moved aside into the quarantine
// dir with the reason; the other pods load and nothing else is touched.
func TestLoadPodsQuarantinesUnreadablePodFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(path string) error
	}{
		{"truncated", func(p string) error {
			data, _ := os.ReadFile(p)
			return os.WriteFile(p, data[:len(data)/2], 0o600)
		}},
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }},
		{"garbage", func(p string) error { return os.WriteFile(p, []byte("\x00\x01not json"), 0o600) }},
		{"another pod's", func(p string) error {
			return os.WriteFile(p, []byte(`{"metadata":{"name":"x","uid":"other"}}`), 0o600)
		}},
		{"a directory", func(p string) error {
			if err := os.Remove(p); err != nil {
				return err
			}
			return os.Mkdir(p, 0o700)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testStore(t)
			for _, uid := range []string{"good", "bad"} {
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uid, Namespace: "default", UID: types.UID(uid)}}
				if err := s.SavePod(pod); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SaveState("bad", map[string]int{"n": 1}); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(s.Layout.PodFile("bad")); err != nil {
				t.Fatal(err)
			}
			pods, bad, err := s.LoadPods()
			if err != nil {
				t.Fatalf("LoadPods failed for everyone: %v", err)
			}
			if len(pods) != 1 || pods[0].Name != "good" {
				t.Errorf("loaded %v, want the good pod only", pods)
			}
			if len(bad) != 1 || bad[0].UID != "bad" || bad[0].Err == nil {
				t.Fatalf("quarantined %+v, want pod bad with a reason", bad)
			}
			if filepath.Dir(bad[0].File) != s.Layout.QuarantineDir("bad") || !strings.HasPrefix(filepath.Base(bad[0].File), "pod.json.corrupt-") {
				t.Errorf("moved to %s", bad[0].File)
			}
			if _, err := os.Lstat(bad[0].File); err != nil {
				t.Errorf("quarantined file: %v", err)
			}
			if _, err := os.Lstat(s.Layout.PodFile("bad")); !os.IsNotExist(err) {
				t.Errorf("pod.json still in place: %v", err)
			}
			// A second start finds nothing more to quarantine.
			if pods, bad, err := s.LoadPods(); err != nil || len(pods) != 1 || len(bad) != 0 {
				t.Errorf("second LoadPods = %v, %v, %v", pods, bad, err)
			}
		})
	}
}

// A state file that does not decode is moved aside and reported; a missing
// one is no state at all.
func TestLoadStateQuarantinesCorruptFile(t *testing.T) {
	s := testStore(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
	if err := s.SavePod(pod); err != nil {
		t.Fatal(err)
	}
	var st struct{ N int }
	if q, err := s.LoadState("u1", &st); q != nil || err != nil {
		t.Fatalf("missing state: %v, %v", q, err)
	}
	if err := os.WriteFile(s.Layout.StateFile("u1"), []byte(`{"N": 4`), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := s.LoadState("u1", &st)
	if err != nil || q == nil || q.UID != "u1" || !strings.Contains(q.Err.Error(), "state.json") {
		t.Fatalf("LoadState = %+v, %v; want a quarantine", q, err)
	}
	if !strings.HasPrefix(filepath.Base(q.File), "state.json.corrupt-") {
		t.Errorf("moved to %s", q.File)
	}
	if _, err := os.Lstat(s.Layout.StateFile("u1")); !os.IsNotExist(err) {
		t.Errorf("state.json still in place: %v", err)
	}
	if pods, _, err := s.LoadPods(); err != nil || len(pods) != 1 {
		t.Errorf("the pod itself is gone: %v, %v", pods, err)
	}
}

// A daemon killed while RemovePod deletes a pod's directory must not bring
// the pod back as a new one: os.RemoveAll deletes in directory order, so a
// kill could leave pod.json without state.json (and its Deletion), and the
// restarted daemon recreated the sandbox of a pod being deleted. The crash
// is simulated by a removal that deletes one file and stops, at every file.
func TestRemovePodKilledHalfwayNeverResurrectsThePod(t *testing.T) {
	for _, victim := range []string{"state.json", "pod.json", "logs"} {
		t.Run(victim, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Layout{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
			if err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"}}
			if err := s.SavePod(pod); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveState("u1", map[string]int{"n": 1}); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(s.Layout.PodDir("u1"), "logs"), 0o700); err != nil {
				t.Fatal(err)
			}
			crash := errors.New("killed")
			removeAll = func(path string) error {
				if _, err := os.Stat(path); err != nil {
					return os.RemoveAll(path)
				}
				// What a kill after the first unlink leaves.
				if err := os.RemoveAll(filepath.Join(path, victim)); err != nil {
					t.Fatal(err)
				}
				return crash
			}
			t.Cleanup(func() { removeAll = os.RemoveAll })
			if err := s.RemovePod("u1"); !errors.Is(err, crash) {
				t.Fatalf("RemovePod = %v, want the simulated crash", err)
			}
			removeAll = os.RemoveAll

			// The restarted daemon.
			s2, err := Open(s.Layout)
			if err != nil {
				t.Fatal(err)
			}
			pods, bad, err := s2.LoadPods()
			if err != nil || len(pods) != 0 || len(bad) != 0 {
				t.Fatalf("after a kill during RemovePod, LoadPods found %d pods, %v, %v; want none", len(pods), bad, err)
			}
			ents, err := os.ReadDir(s2.Layout.PodsDir())
			if err != nil || len(ents) != 0 {
				t.Fatalf("pods dir after restart holds %v (%v); want the half-removed pod finished off", ents, err)
			}
		})
	}
}
