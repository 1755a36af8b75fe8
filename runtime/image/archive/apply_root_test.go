package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

func TestApplyOverlayWhiteoutsAsRoot(t *testing.T) {
	testutil.RequireRoot(t)
	root, outside := sandbox(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/.wh.motd", Typeflag: tar.TypeReg, Uid: 7, Gid: 8},
		{Name: "var/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "var/.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "var/.wh..wh.plnk", Typeflag: tar.TypeDir, Mode: 0o700},
		{Name: "s", Typeflag: tar.TypeSymlink, Linkname: outside},
		{Name: "s/.wh.secret", Typeflag: tar.TypeReg},
		{Name: "owned", Typeflag: tar.TypeReg, Uid: 1234, Gid: 5678, Mode: 0o4755,
			PAXRecords: map[string]string{
				"SCHILY.xattr.user.podd":                  "kept",
				"SCHILY.xattr.trusted.overlay.redirect":   "/etc",
				"SCHILY.xattr.trusted.overlay.metacopy":   "",
				"SCHILY.xattr.security.capability.bogus?": "x",
			}},
	} {
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	if err := Apply(context.Background(), root, &buf, Options{}); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{"etc/motd", filepath.Join(outside, "secret")} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatalf("whiteout %s: %v", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("whiteout %s: mode %o rdev %d, want 0/0 char device", p, st.Mode, st.Rdev)
		}
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(root, "etc/motd"), &st)
	if st.Uid != 7 || st.Gid != 8 {
		t.Errorf("whiteout owner %d:%d, want 7:8", st.Uid, st.Gid)
	}
	if v := xattr(t, filepath.Join(root, "var"), "trusted.overlay.opaque"); v != "y" {
		t.Errorf("var opaque xattr = %q, want y", v)
	}
	if _, err := os.Lstat(filepath.Join(root, "var/.wh..wh.plnk")); !os.IsNotExist(err) {
		t.Errorf("aufs metadata dir unpacked: %v", err)
	}
	owned := filepath.Join(root, "owned")
	unix.Lstat(owned, &st)
	if st.Uid != 1234 || st.Gid != 5678 || st.Mode&0o7777 != 0o4755 {
		t.Errorf("owned: %d:%d mode %o, want 1234:5678 4755", st.Uid, st.Gid, st.Mode&0o7777)
	}
	if v := xattr(t, owned, "user.podd"); v != "kept" {
		t.Errorf("user.podd xattr = %q, want kept", v)
	}
	for _, k := range []string{"trusted.overlay.redirect", "trusted.overlay.metacopy"} {
		if _, err := unix.Lgetxattr(owned, k, make([]byte, 64)); err == nil {
			t.Errorf("overlay xattr %s taken from the tar", k)
		}
	}
}

func xattr(t testing.TB, p, key string) string {
	t.Helper()
	b := make([]byte, 64)
	n, err := unix.Lgetxattr(p, key, b)
	if err != nil {
		return ""
	}
	return string(b[:n])
}
