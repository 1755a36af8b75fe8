package idmap

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// A file root owns on the host shows as owned by the namespace's root's
// host ID through an idmapped mount, and one given host uid 101000 through
// it is owned by uid 1000 on the host (the mapping's inverse).
func TestBindIDMapped(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	for _, d := range []string{src, dst} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Supported(src); err != nil {
		t.Fatalf("idmapped mounts of %s: %v", src, err)
	}
	m := Mappings{UIDs: one(0, 100000, 65536), GIDs: one(0, 200000, 65536)}
	userns, err := Userns(m)
	if err != nil {
		t.Fatal(err)
	}
	defer userns.Close()
	if err := Bind(src, dst, userns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dst, unix.MNT_DETACH) })
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dst, "f"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 100000 || st.Gid != 200000 {
		t.Errorf("through the idmapped mount f is %d:%d, want 100000:200000", st.Uid, st.Gid)
	}
	if err := os.Chown(filepath.Join(dst, "f"), 101000, 201000); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(filepath.Join(src, "f"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("on the host f is %d:%d, want 1000:1000", st.Uid, st.Gid)
	}
}
