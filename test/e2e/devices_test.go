package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A container cannot open a host block device, even through a node it is
// allowed to create and make world-writable: the cgroup's device rules (v1
// devices.deny/allow, the v2 eBPF filter) refuse the open with EPERM. The
// node is made with mknod inside the container rather than shipped in the
// image, since image unpacking drops device nodes (that would make the
// test pass without any filter). The nodes go in /dev, the runtime's tmpfs
// (the rootfs is nodev). A clone of /dev/null made the same way in the same
// directory opens, so the refusal is the filter's and not the filesystem's
// (nodev) or the permission bits'. A block device that does
// not exist answers ENXIO when the filter lets the open through, so the
// check holds on a host without disks too (the v2 VM). Nothing is ever
// written to the node: with a broken filter it is the host's disk.
func TestDeviceFilterRefusesHostBlockDevice(t *testing.T) {
	t.Parallel()
	maj, min := hostBlockDevice()
	e := newEnv(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: devices}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    command:
    - sh
    - -c
    - |
      mknod /dev/pnull c 1 3 && chmod 666 /dev/pnull && echo x > /dev/pnull && echo null-opened
      mknod /dev/pdisk b %d %d && chmod 666 /dev/pdisk && echo disk-made
      if dd if=/dev/pdisk of=/dev/null bs=512 count=1 2>/tmp/err; then echo disk-read; else echo "disk-read-refused: $(cat /tmp/err)"; fi
      if (exec 3<>/dev/pdisk) 2>/tmp/err; then echo disk-opened-rw; else echo "disk-rw-open-refused: $(cat /tmp/err)"; fi
`, maj, min))
	e.waitForPhase("devices", corev1.PodSucceeded, 120*time.Second)
	out := e.podctl("logs", "devices", "-c", "c")
	for _, want := range []string{"null-opened", "disk-made", "disk-read-refused: ", "disk-rw-open-refused: "} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Operation not permitted") != 2 {
		t.Errorf("block device %d:%d: want two opens refused with EPERM by the device filter:\n%s", maj, min, out)
	}
}

// hostBlockDevice returns the major:minor of a block device of the host
// that the host's root can open (this machine's sandbox refuses its own
// disk even to root, so that one would prove nothing): a disk if it can,
// else a virtual one (zram, loop); loop0 when there is none at all.
func hostBlockDevice() (int, int) {
	ents, _ := os.ReadDir("/sys/dev/block")
	var virtual [][2]int
	for _, en := range ents {
		var maj, min int
		if _, err := fmt.Sscanf(en.Name(), "%d:%d", &maj, &min); err != nil || !hostCanOpen(en.Name()) {
			continue
		}
		target, _ := os.Readlink(filepath.Join("/sys/dev/block", en.Name()))
		if !strings.Contains(target, "/virtual/") {
			return maj, min
		}
		virtual = append(virtual, [2]int{maj, min})
	}
	if len(virtual) > 0 {
		return virtual[0][0], virtual[0][1]
	}
	return 7, 0
}

// hostCanOpen opens the block device /sys/dev/block/<majmin> names for
// reading, as the host's root.
func hostCanOpen(majmin string) bool {
	uevent, err := os.ReadFile(filepath.Join("/sys/dev/block", majmin, "uevent"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(uevent), "\n") {
		if name, ok := strings.CutPrefix(line, "DEVNAME="); ok {
			f, err := os.Open(filepath.Join("/dev", name))
			if err == nil {
				f.Close()
			}
			return err == nil || errors.Is(err, syscall.ENXIO)
		}
	}
	return false
}
