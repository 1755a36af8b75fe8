package volume

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// stageFixture is a pod with an emptyDir-like volume "vol" at vol and the
// staging dir of one container instance.
type stageFixture struct {
	vol, staging, outside string
	pod                   *corev1.Pod
}

func newStageFixture(t *testing.T) *stageFixture {
	t.Helper()
	testutil.RequireRoot(t)
	base := t.TempDir()
	f := &stageFixture{vol: filepath.Join(base, "vol"), staging: filepath.Join(base, "staging"),
		outside: filepath.Join(base, "outside")}
	for _, d := range []string{f.vol, f.outside} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.outside, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.pod = testPod(corev1.Volume{Name: "vol", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	cleanupMounts(t, base)
	t.Cleanup(func() {
		if err := Unstage(f.staging); err != nil {
			t.Errorf("unstage: %v", err)
		}
	})
	return f
}

// stage stages one volumeMount of volume name with subPath sub.
func (f *stageFixture) stage(m corev1.VolumeMount, sub string, vols map[string]string) (string, error) {
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{m}}
	if vols == nil {
		vols = map[string]string{"vol": f.vol}
	}
	out, err := StageMounts(context.Background(), f.pod, c, []string{sub}, vols, f.staging)
	if err != nil {
		return "", err
	}
	return out[0], nil
}

func (f *stageFixture) mkdirs(t *testing.T, rel ...string) {
	t.Helper()
	for _, r := range rel {
		if err := os.MkdirAll(filepath.Join(f.vol, r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *stageFixture) symlink(t *testing.T, target, rel string) {
	t.Helper()
	if err := os.Symlink(target, filepath.Join(f.vol, rel)); err != nil {
		t.Fatal(err)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func assertNoMountsBelow(t *testing.T, dir string) {
	t.Helper()
	mps, err := mountPoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(mps) != 0 {
		t.Errorf("mounts left below %s: %v", dir, mps)
	}
}

var volMount = corev1.VolumeMount{Name: "vol", MountPath: "/m"}

// Every way a subPath can lead out of its volume is refused, and nothing
// is mounted or created outside.
func TestStageMounts_SubPathEscapesAreRefused(t *testing.T) {
	f := newStageFixture(t)
	f.mkdirs(t, "real/dir", "deep/er")
	f.symlink(t, "/", "root")
	f.symlink(t, f.outside, "abs")
	f.symlink(t, "../outside", "rel")
	f.symlink(t, "../../../..", "deep/er/up")
	f.symlink(t, "/proc/self/root", "magic")
	for _, sub := range []string{
		"root", "abs", "rel", "root/etc", "abs/secret", "rel/new/dir", "deep/er/up/etc", "magic",
		"../outside", "real/../../outside", "/etc",
	} {
		got, err := f.stage(volMount, sub, nil)
		if err == nil {
			t.Errorf("subPath %q staged as %s", sub, got)
			continue
		}
		assertNoMountsBelow(t, f.staging)
		if _, err := os.Stat(f.staging); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("subPath %q: staging dir left after the failure: %v", sub, err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.outside, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused subPath created a directory outside the volume: %v", err)
	}
	_, err := f.stage(volMount, "root", nil)
	if err == nil || !strings.Contains(err.Error(), "leads out of the volume") {
		t.Errorf("escape error %v does not say the subPath leads out of the volume", err)
	}
}

// Links that stay inside the volume are followed, and what is staged is the
// very directory or file they lead to.
func TestStageMounts_SubPathInsideTheVolume(t *testing.T) {
	f := newStageFixture(t)
	f.mkdirs(t, "real/dir")
	f.symlink(t, "real", "inside")
	f.symlink(t, "../../real", "real/dir/back")
	if err := os.WriteFile(filepath.Join(f.vol, "real/file"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	for sub, want := range map[string]string{
		"real/dir": "real/dir", "inside/dir": "real/dir", "real/dir/back": "real", "./real//dir/": "real/dir",
		"real/file": "real/file", "inside/file": "real/file",
	} {
		got, err := f.stage(volMount, sub, nil)
		if err != nil {
			t.Errorf("subPath %q: %v", sub, err)
			continue
		}
		if !sameFile(t, got, filepath.Join(f.vol, want)) {
			t.Errorf("subPath %q: staged %s is not %s", sub, got, want)
		}
	}
	// A file subPath is staged on a file; writes reach the volume.
	got, err := f.stage(volMount, "real/file", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(got); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("file subPath staged as %v, %v", fi, err)
	}
	if err := os.WriteFile(got, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(f.vol, "real/file")); string(data) != "new" {
		t.Errorf("write through the staged file not in the volume: %q", data)
	}
}

// A missing subPath is created inside the volume with the volume root's
// mode, as the kubelet does; a missing part behind an escaping link is not.
func TestStageMounts_MissingSubPathIsCreatedInside(t *testing.T) {
	f := newStageFixture(t)
	f.mkdirs(t, "a")
	f.symlink(t, "a", "link")
	got, err := f.stage(volMount, "link/b/c", nil)
	if err != nil {
		t.Fatal(err)
	}
	made := filepath.Join(f.vol, "a/b/c")
	fi, err := os.Stat(made)
	if err != nil || !fi.IsDir() {
		t.Fatalf("subPath not created at %s: %v", made, err)
	}
	if fi.Mode().Perm() != 0o777 {
		t.Errorf("created subPath mode %v, want the volume's 0777", fi.Mode().Perm())
	}
	if !sameFile(t, got, made) {
		t.Errorf("staged %s is not the created %s", got, made)
	}
	f.symlink(t, f.outside, "out")
	if _, err := f.stage(volMount, "out/x/y", nil); err == nil {
		t.Errorf("subPath behind an escaping link created and staged")
	}
	if _, err := os.Stat(filepath.Join(f.outside, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created outside the volume: %v", err)
	}
}

// A readOnly volumeMount stays read-only on the staged bind itself, and the
// source's nosuid/nodev stay.
func TestStageMounts_ReadOnlyStagingIsReadOnly(t *testing.T) {
	f := newStageFixture(t)
	if err := unix.Mount("tmpfs", f.vol, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0777,size=1m"); err != nil {
		t.Fatal(err)
	}
	f.mkdirs(t, "sub")
	ro := volMount
	ro.ReadOnly = true
	got, err := f.stage(ro, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(got, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write into a read-only staged subPath: %v, want EROFS", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(got, &st); err != nil {
		t.Fatal(err)
	}
	for _, fl := range []int64{unix.ST_RDONLY, unix.ST_NOSUID, unix.ST_NODEV} {
		if st.Flags&fl == 0 {
			t.Errorf("staged mount flags %#x lack %#x", st.Flags, fl)
		}
	}
	// The volume itself stays writable.
	if err := os.WriteFile(filepath.Join(f.vol, "sub", "y"), nil, 0o644); err != nil {
		t.Errorf("the volume became read-only: %v", err)
	}
}

// A hostPath's type is checked on the fd that gets mounted; a typed
// hostPath is staged even without a subPath.
func TestStageMounts_TypedHostPathIsCheckedOnTheFd(t *testing.T) {
	f := newStageFixture(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		path string
		typ  corev1.HostPathType
		ok   bool
	}{
		{dir, corev1.HostPathDirectory, true},
		{file, corev1.HostPathDirectory, false},
		{file, corev1.HostPathFile, true},
		{dir, corev1.HostPathFile, false},
		{sock, corev1.HostPathSocket, true},
		{file, corev1.HostPathSocket, false},
		{"/dev/null", corev1.HostPathCharDev, true},
		{dir, corev1.HostPathCharDev, false},
		{dir, corev1.HostPathDirectoryOrCreate, true},
		{file, corev1.HostPathFileOrCreate, true},
	} {
		typ := tc.typ
		f.pod = testPod(corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: tc.path, Type: &typ}}})
		got, err := f.stage(corev1.VolumeMount{Name: "h", MountPath: "/h"}, "", map[string]string{"h": tc.path})
		if (err == nil) != tc.ok {
			t.Errorf("%s as %s: err = %v, want ok %v", tc.path, typ, err, tc.ok)
			continue
		}
		if err == nil && !sameFile(t, got, tc.path) {
			t.Errorf("%s as %s: staged %s is another file", tc.path, typ, got)
		}
	}
	// An untyped hostPath without subPath is not staged.
	f.pod = testPod(corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}})
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "h", MountPath: "/h"}}}
	out, err := StageMounts(context.Background(), f.pod, c, []string{""}, map[string]string{"h": dir}, f.staging)
	if err != nil || len(out) != 0 {
		t.Errorf("untyped hostPath staged: %v, %v", out, err)
	}
}

// The staging dir is a private mount, its binds never propagate, and
// staging again for the same instance replaces what was there; Unstage
// leaves nothing.
func TestStageMounts_PrivateIdempotentAndUndone(t *testing.T) {
	f := newStageFixture(t)
	// Make the volume's parent a shared mount, as / is on systemd hosts.
	parent := filepath.Dir(f.vol)
	if err := unix.Mount(parent, parent, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", parent, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	f.mkdirs(t, "a", "b")
	c := &corev1.Container{Name: "app", VolumeMounts: []corev1.VolumeMount{
		{Name: "vol", MountPath: "/a"}, {Name: "vol", MountPath: "/b"}}}
	vols := map[string]string{"vol": f.vol}
	for range 2 {
		out, err := StageMounts(context.Background(), f.pod, c, []string{"a", "b"}, vols, f.staging)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 || !sameFile(t, out[0], filepath.Join(f.vol, "a")) || !sameFile(t, out[1], filepath.Join(f.vol, "b")) {
			t.Fatalf("staged %v", out)
		}
	}
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(f.staging))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Errorf("%d mounts below the staging dir, want 3 (itself and two binds): %v", len(ms), ms)
	}
	for _, m := range ms {
		if strings.Contains(m.Optional, "shared:") {
			t.Errorf("%s propagates (%s)", m.Mountpoint, m.Optional)
		}
	}
	if err := Unstage(f.staging); err != nil {
		t.Fatal(err)
	}
	assertNoMountsBelow(t, f.staging)
	if _, err := os.Stat(f.staging); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging dir left: %v", err)
	}
}

// The attack of CVE-2021-25741: while vol/sub is swapped with a link to "/"
// as fast as the kernel allows, a staged subPath (sub itself, or below it)
// is the directory or an error, never the host's.
func TestStageMounts_SwapRaceNeverStagesTheHost(t *testing.T) {
	for _, subPath := range []string{"sub", "sub/inner"} {
		t.Run(subPath, func(t *testing.T) { swapRace(t, subPath) })
	}
}

func swapRace(t *testing.T, subPath string) {
	f := newStageFixture(t)
	f.mkdirs(t, "sub/inner")
	sub := filepath.Join(f.vol, "sub")
	var want unix.Stat_t
	if err := unix.Stat(filepath.Join(f.vol, subPath), &want); err != nil {
		t.Fatal(err)
	}
	f.symlink(t, "/", "link")
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := unix.Renameat2(unix.AT_FDCWD, sub, unix.AT_FDCWD, filepath.Join(f.vol, "link"), unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("renameat2: %v", err)
				return
			}
		}
	}()
	defer wg.Wait()
	defer stop.Store(true)
	var staged, refused int
	for range 150 {
		got, err := f.stage(volMount, subPath, nil)
		if err != nil {
			if !errors.Is(err, errEscape) {
				t.Fatalf("stage during the swap: %v", err)
			}
			refused++
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(got, &st); err != nil {
			t.Fatal(err)
		}
		if st.Dev != want.Dev || st.Ino != want.Ino {
			t.Fatalf("staged %s is not vol/%s (dev %d ino %d): the host leaked in", got, subPath, st.Dev, st.Ino)
		}
		staged++
	}
	t.Logf("%d staged the directory, %d refused the link", staged, refused)
}

// A staged volumeMount carries the mounts below its source, as runc's rbind
// did; unstaging a Bidirectional one never unmounts the host's own.
func TestStageMounts_SubmountsKeptAndUnstagingNeverPropagates(t *testing.T) {
	f := newStageFixture(t)
	parent := filepath.Dir(f.vol)
	if err := unix.Mount(parent, parent, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("", parent, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(f.vol, "child")
	f.mkdirs(t, "child")
	if err := unix.Mount("tmpfs", child, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	typ := corev1.HostPathDirectory
	bidi := corev1.MountPropagationBidirectional
	for _, m := range []corev1.VolumeMount{
		{Name: "h", MountPath: "/h", MountPropagation: &bidi},
		{Name: "h", MountPath: "/h"},
	} {
		f.pod = testPod(corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: f.vol, Type: &typ}}})
		got, err := f.stage(m, "", map[string]string{"h": f.vol})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := isMountPoint(filepath.Join(got, "child")); err != nil || !ok {
			t.Errorf("the mount below the hostPath is not in its staging: %v", err)
		}
		if err := Unstage(f.staging); err != nil {
			t.Fatal(err)
		}
		if ok, err := isMountPoint(child); err != nil || !ok {
			t.Fatalf("unstaging %+v unmounted the host's %s: %v", m, child, err)
		}
	}
}

// mountPoints lists the mount points at or below dir.
func mountPoints(dir string) ([]string, error) {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(filepath.Clean(dir)))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out, nil
}

func isMountPoint(dir string) (bool, error) { return mountinfo.Mounted(dir) }
