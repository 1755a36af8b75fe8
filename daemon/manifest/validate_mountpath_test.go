package manifest

import (
	"strings"
	"testing"
)

// Issue 7 item 10: volumeMounts onto /proc, /sys, /dev (or below, after
// cleaning) are refused, naming the field; neighbours are fine.
func TestValidate_MountPathNotOnKernelFilesystems(t *testing.T) {
	for _, tc := range []struct {
		mountPath string
		fs        string
	}{
		{"/proc", "/proc"}, {"/proc/sys", "/proc"}, {"/sys", "/sys"}, {"/sys/fs/cgroup/", "/sys"},
		{"/dev", "/dev"}, {"/dev/shm", "/dev"}, {"//dev/./pts", "/dev"}, {"/tmp/../proc", "/proc"},
		{"/data/../sys/kernel", "/sys"},
	} {
		m := podVol("a", "{name: d, mountPath: /d}, {name: v, mountPath: '"+tc.mountPath+"'}", "{name: v, emptyDir: {}}, {name: d, emptyDir: {}}")
		_, _, err := Parse([]byte(m), "k.yaml", Policy{})
		want := "spec.containers[0].volumeMounts[1].mountPath: Forbidden: must not be " + tc.fs + " or below it"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mountPath %q: err = %v, want %q", tc.mountPath, err, want)
		}
	}
	init := "{name: i, image: busybox, volumeMounts: [{name: v, mountPath: /sys}]}"
	m := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  volumes: [{name: v, emptyDir: {}}]\n  initContainers: [" + init + "]\n  containers: [{name: c, image: busybox}]\n"
	if _, _, err := Parse([]byte(m), "k.yaml", Policy{}); err == nil || !strings.Contains(err.Error(), "spec.initContainers[0].volumeMounts[0].mountPath: Forbidden") {
		t.Errorf("init container mount on /sys: err = %v", err)
	}
	for _, ok := range []string{"/proc2", "/system", "/devices", "/var/proc", "/srv/dev"} {
		if _, _, err := Parse([]byte(podVol("a", "{name: v, mountPath: "+ok+"}", "{name: v, emptyDir: {}}")), "k.yaml", Policy{}); err != nil {
			t.Errorf("mountPath %q refused: %v", ok, err)
		}
	}
}
