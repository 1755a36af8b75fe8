package volume

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podd-dev/podd/internal/undo"
)

func hostPathType(t corev1.HostPathType) *corev1.HostPathType { return &t }

// TestCheckHostPath_R92_Types runs every hostPath type against every kind
// of file: a directory, a regular file, a unix socket, /dev/null, a block
// device and a missing path.
func TestCheckHostPath_R92_Types(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "dir")
	file := filepath.Join(tmp, "file")
	sock := filepath.Join(tmp, "sock")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	block := firstBlockDevice(t)
	paths := map[string]string{"dir": dir, "file": file, "socket": sock, "char": "/dev/null", "block": block,
		"missing": filepath.Join(tmp, "missing")}
	// ok lists the kinds each type accepts without creating anything.
	ok := map[corev1.HostPathType][]string{
		corev1.HostPathUnset:             {"dir", "file", "socket", "char", "block", "missing"},
		corev1.HostPathDirectory:         {"dir"},
		corev1.HostPathDirectoryOrCreate: {"dir"},
		corev1.HostPathFile:              {"file", "socket", "char", "block"},
		corev1.HostPathFileOrCreate:      {"file", "socket", "char", "block"},
		corev1.HostPathSocket:            {"socket"},
		corev1.HostPathCharDev:           {"char"},
		corev1.HostPathBlockDev:          {"block"},
	}
	for typ, accepted := range ok {
		for kind, p := range paths {
			if kind == "block" && p == "" {
				continue
			}
			if kind == "missing" && (typ == corev1.HostPathDirectoryOrCreate || typ == corev1.HostPathFileOrCreate) {
				continue // creation is tested below
			}
			want := contains(accepted, kind)
			var rollback undo.Stack
			err := checkHostPath(p, typ, &rollback)
			if (err == nil) != want {
				t.Errorf("type %q on %s: err = %v, want ok=%v", typ, kind, err, want)
			}
			if err != nil && !strings.Contains(err.Error(), p) {
				t.Errorf("type %q on %s: error %q does not name the path", typ, kind, err)
			}
		}
	}
}

func firstBlockDevice(t *testing.T) string {
	for _, p := range []string{"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
			return p
		}
	}
	t.Log("no block device found; BlockDevice is checked only against other kinds")
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func testPod(volumes ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u-1",
			Labels: map[string]string{"app": "web", "tier": "front"}, Annotations: map[string]string{"note": "hi"}},
		Spec: corev1.PodSpec{Volumes: volumes, Containers: []corev1.Container{{Name: "app"}}},
	}
}

func TestPrepare_R92_EmptyDirHostPathDownward(t *testing.T) {
	podDir := t.TempDir()
	host := filepath.Join(t.TempDir(), "a", "b")
	sock := filepath.Join(t.TempDir(), "f")
	mode := int32(0o600)
	pod := testPod(
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: host + "/", Type: hostPathType(corev1.HostPathDirectoryOrCreate)}}},
		corev1.Volume{Name: "file", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: sock, Type: hostPathType(corev1.HostPathFileOrCreate)}}},
		corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "meta/ns", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}, Mode: &mode},
			{Path: "uid", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}},
			{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
			{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}},
		}}}},
	)
	paths, err := Prepare(context.Background(), pod, podDir)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(podDir, "volumes", "data")
	if paths["data"] != data || paths["host"] != host || paths["file"] != sock || paths["info"] != filepath.Join(podDir, "volumes", "info") {
		t.Errorf("paths %v", paths)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir %s: %v, mode %v; want 0777", data, err, fi.Mode())
	}
	if fi, err := os.Stat(host); err != nil || !fi.IsDir() {
		t.Errorf("DirectoryOrCreate did not create %s: %v", host, err)
	}
	if fi, err := os.Stat(sock); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("FileOrCreate did not create %s: %v", sock, err)
	}
	files := map[string]string{"labels": "app=\"web\"\ntier=\"front\"", "name": "web", "meta/ns": "shop", "uid": "u-1",
		"annotations": "note=\"hi\""}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(paths["info"], name))
		if err != nil || string(got) != want {
			t.Errorf("downwardAPI %s = %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, _ := os.Stat(filepath.Join(paths["info"], "meta/ns")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("item mode not applied")
	}
	if fi, _ := os.Stat(filepath.Join(paths["info"], "name")); fi == nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("default mode not applied")
	}
	if b, _ := os.ReadFile(filepath.Join(paths["info"], "cpu")); string(b) == "" || string(b) == "0" {
		t.Errorf("cpu limit (node allocatable) = %q", b)
	}

	// R40: emptyDir content survives a second Prepare (container restart).
	if err := os.WriteFile(filepath.Join(data, "keep"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(context.Background(), pod, podDir); err != nil {
		t.Fatalf("second Prepare: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "keep")); err != nil {
		t.Errorf("emptyDir content lost on the second Prepare: %v", err)
	}

	// Cleanup removes the pod's volumes and leaves hostPaths alone, even
	// when a link inside an emptyDir points at one.
	if err := os.WriteFile(filepath.Join(host, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := Cleanup(context.Background(), podDir); err != nil {
			t.Fatalf("Cleanup #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(filepath.Join(podDir, "volumes")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volumes dir still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(host, "precious")); err != nil {
		t.Errorf("Cleanup touched the hostPath: %v", err)
	}
}

func TestPrepare_R92_FailureNamesTheVolumeAndUndoes(t *testing.T) {
	podDir := t.TempDir()
	created := filepath.Join(t.TempDir(), "new", "dir")
	missing := filepath.Join(t.TempDir(), "nope")
	pod := testPod(
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		corev1.Volume{Name: "made", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: created, Type: hostPathType(corev1.HostPathDirectoryOrCreate)}}},
		corev1.Volume{Name: "bad", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: missing, Type: hostPathType(corev1.HostPathDirectory)}}},
	)
	_, err := Prepare(context.Background(), pod, podDir)
	if err == nil {
		t.Fatal("Prepare accepted a missing Directory")
	}
	want := `spec.volumes[2].hostPath of pod "web": path "` + missing + `" does not exist (type Directory)`
	if err.Error() != want {
		t.Errorf("error\n  %s\nwant\n  %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(podDir, "volumes", "data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("emptyDir not undone: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(created)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created hostPath directories not undone: %v", err)
	}
}

func TestPrepare_UndoKeepsWhatExistedBefore(t *testing.T) {
	podDir := t.TempDir()
	pod := testPod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	if _, err := Prepare(context.Background(), pod, podDir); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(podDir, "volumes", "data", "keep")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: "bad", VolumeSource: corev1.VolumeSource{
		HostPath: &corev1.HostPathVolumeSource{Path: "/dev/null", Type: hostPathType(corev1.HostPathSocket)}}})
	if _, err := Prepare(context.Background(), pod, podDir); err == nil || !strings.Contains(err.Error(), "spec.volumes[1].hostPath") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a failed re-Prepare removed an existing emptyDir: %v", err)
	}
}

func TestPrepare_StopsOnCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pod := testPod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	if _, err := Prepare(ctx, pod, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
