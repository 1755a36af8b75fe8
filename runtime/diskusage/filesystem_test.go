package diskusage

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDeviceName(t *testing.T) {
	sys := t.TempDir()
	for num, uevent := range map[string]string{
		"8:1":   "MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\n",
		"253:0": "MAJOR=253\nMINOR=0\nDEVTYPE=disk\n",
	} {
		if err := os.MkdirAll(filepath.Join(sys, "dev/block", num), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, "dev/block", num, "uevent"), []byte(uevent), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		major, minor uint64
		want         string
	}{
		{8, 1, "/dev/sda1"},
		{253, 0, "253:0"}, // no DEVNAME
		{0, 42, "0:42"},   // an anonymous device (overlay, tmpfs)
	} {
		if got := DeviceName(sys, tc.major, tc.minor); got != tc.want {
			t.Errorf("DeviceName(%d, %d) = %q, want %q", tc.major, tc.minor, got, tc.want)
		}
	}
}

// A directory's filesystem has a size, free space and inodes, and its
// device is named.
func TestFilesystem(t *testing.T) {
	fs, err := Filesystem(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if fs.Capacity == 0 || fs.Available > fs.Capacity || fs.InodesFree > fs.Inodes || fs.Device == "" {
		t.Errorf("filesystem %+v", fs)
	}
	if _, err := Filesystem(filepath.Join(t.TempDir(), "gone"), ""); err == nil {
		t.Error("Filesystem of a missing dir succeeded")
	}
}
