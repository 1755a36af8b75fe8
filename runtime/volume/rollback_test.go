package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/undo"
)

// rollbackFixture is a pod whose volumes each make something new: an
// emptyDir, hostPath directories and a file created for their type, and a
// downwardAPI dir. made lists, per volume, the paths it creates.
type rollbackFixture struct {
	podDir  string
	volumes []corev1.Volume
	made    [][]string
}

func newRollbackFixture(t *testing.T) *rollbackFixture {
	podDir := t.TempDir()
	host := t.TempDir()
	f := &rollbackFixture{podDir: podDir}
	add := func(v corev1.Volume, made ...string) {
		f.volumes = append(f.volumes, v)
		f.made = append(f.made, made)
	}
	add(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		filepath.Join(podDir, "volumes", "data"))
	add(corev1.Volume{Name: "dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: filepath.Join(host, "new", "dir"), Type: hostPathType(corev1.HostPathDirectoryOrCreate)}}},
		filepath.Join(host, "new"), filepath.Join(host, "new", "dir"))
	add(corev1.Volume{Name: "file", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: filepath.Join(host, "file"), Type: hostPathType(corev1.HostPathFileOrCreate)}}},
		filepath.Join(host, "file"))
	add(corev1.Volume{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}}},
		filepath.Join(podDir, "volumes", "info"))
	return f
}

// failing are volumes that fail in Prepare, before or after making
// something of their own.
var failing = map[string]corev1.Volume{
	"hostPath Directory missing": {Name: "bad", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: "/nonexistent/podd-test", Type: hostPathType(corev1.HostPathDirectory)}}},
	"FileOrCreate without parent": {Name: "bad", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: "/nonexistent/podd-test/f", Type: hostPathType(corev1.HostPathFileOrCreate)}}},
	"downwardAPI item after its dir is made": {Name: "bad", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
			{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nope"}}}}}},
	"unsupported source": {Name: "bad"},
}

// A failure at any step undoes everything the steps before it made, and
// what the failing step made itself, and names the failing volume.
func TestPrepare_RollbackAtEachStep(t *testing.T) {
	for k := 0; k <= 4; k++ {
		for name, bad := range failing {
			t.Run(fmt.Sprintf("after %d volumes, %s", k, name), func(t *testing.T) {
				f := newRollbackFixture(t)
				pod := testPod(append(slices.Clone(f.volumes[:k]), bad)...)
				_, err := Prepare(context.Background(), pod, f.podDir)
				if err == nil {
					t.Fatal("Prepare succeeded")
				}
				if want := fmt.Sprintf("spec.volumes[%d]", k); !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
				if errors.Is(err, undo.ErrIncomplete) {
					t.Errorf("rollback reported a failure: %v", err)
				}
				for _, made := range f.made[:k] {
					for _, p := range made {
						if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
							t.Errorf("%s left after the rollback: %v", p, err)
						}
					}
				}
				if _, err := os.Lstat(filepath.Join(f.podDir, "volumes", "bad")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the failing volume's own dir is left: %v", err)
				}
			})
		}
	}
}

// The undo steps are described: read newest first, they are the teardown.
func TestPrepare_UndoStepsDescribeTheTeardown(t *testing.T) {
	f := newRollbackFixture(t)
	var rollback undo.Stack
	if _, err := prepare(context.Background(), testPod(f.volumes...), f.podDir, Sources{}, &rollback); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"remove directory " + f.made[3][0],
		"remove created hostPath file " + f.made[2][0],
		fmt.Sprintf("remove created hostPath directories %q", []string{f.made[1][1], f.made[1][0]}),
		"remove directory " + f.made[0][0],
	}
	if got := rollback.Steps(); !slices.Equal(got, want) {
		t.Errorf("steps\n  %q\nwant\n  %q", got, want)
	}
	if err := rollback.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, made := range f.made {
		for _, p := range made {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left after the rollback: %v", p, err)
			}
		}
	}
}

// A rollback step that fails does not stop the others, and every failure
// is reported under its step's description.
func TestPrepare_RollbackReportsEveryFailure(t *testing.T) {
	f := newRollbackFixture(t)
	var rollback undo.Stack
	if _, err := prepare(context.Background(), testPod(f.volumes...), f.podDir, Sources{}, &rollback); err != nil {
		t.Fatal(err)
	}
	// Someone put files into the created hostPath directory, and replaced
	// the created file by a non-empty directory: neither may be removed.
	if err := os.WriteFile(filepath.Join(f.made[1][1], "theirs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.made[2][0]); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.made[2][0], "theirs"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := rollback.Run(context.Background())
	if !errors.Is(err, undo.ErrIncomplete) {
		t.Fatalf("err = %v, want a rollback failure", err)
	}
	for _, want := range []string{"undo: remove created hostPath file " + f.made[2][0], "undo: remove created hostPath directories"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %q", err, want)
		}
	}
	for _, p := range []string{f.made[0][0], f.made[3][0]} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: the rollback stopped at the first failure (%v)", p, err)
		}
	}
}
