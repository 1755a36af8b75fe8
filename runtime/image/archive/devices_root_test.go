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

// Device nodes in a layer are never created, even as root: an image could
// otherwise ship a world-writable node for the host's disk. Whiteouts (OCI
// ".wh." files, and a 0/0 character device, overlayfs's own whiteout form)
// still become 0/0 character devices; fifos are kept.
func TestApplySkipsDeviceNodesKeepsWhiteouts(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := sandbox(t)
	var hostRoot unix.Stat_t
	if err := unix.Stat("/", &hostRoot); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666},
		{Name: "dev/hostdisk", Typeflag: tar.TypeBlock, Mode: 0o666,
			Devmajor: int64(unix.Major(hostRoot.Dev)), Devminor: int64(unix.Minor(hostRoot.Dev))},
		{Name: "dev/mem", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 1, Mode: 0o666},
		{Name: "dev/disk-alias", Typeflag: tar.TypeLink, Linkname: "dev/hostdisk"},
		{Name: "dev/fifo", Typeflag: tar.TypeFifo, Mode: 0o600},
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/.wh.motd", Typeflag: tar.TypeReg},
		{Name: "etc/gone", Typeflag: tar.TypeChar, Mode: 0o600},
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
	for _, p := range []string{"dev/null", "dev/hostdisk", "dev/mem", "dev/disk-alias"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("device node %s created from the layer: %v", p, err)
		}
	}
	for _, p := range []string{"etc/motd", "etc/gone"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatalf("whiteout %s: %v", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("whiteout %s: mode %o rdev %d, want a 0/0 char device", p, st.Mode, st.Rdev)
		}
	}
	mustMode(t, filepath.Join(root, "dev/fifo"), os.ModeNamedPipe|0o600)
}
