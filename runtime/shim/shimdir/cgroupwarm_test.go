package shimdir

import (
	"os"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

func TestOwnCgroupProcs(t *testing.T) {
	hybrid := []string{"/sys/fs/cgroup/blkio", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}
	for _, tc := range []struct {
		name, procCgroup string
		roots            []string
		want             string
	}{
		{"v2", "0::/system.slice/podd.service\n", []string{"/sys/fs/cgroup"}, "/sys/fs/cgroup/system.slice/podd.service/cgroup.procs"},
		{"v2 root", "0::/\n", []string{"/sys/fs/cgroup"}, "/sys/fs/cgroup/cgroup.procs"},
		{"hybrid: the unified hierarchy", "12:blkio:/a\n4:cpu,cpuacct:/a\n1:name=systemd:/a\n0::/u\n", hybrid, "/sys/fs/cgroup/unified/u/cgroup.procs"},
		{"v1 only: the first listed mounted", "12:blkio:/a\n4:cpu,cpuacct:/b\n1:name=systemd:/c\n", hybrid[:4], "/sys/fs/cgroup/blkio/a/cgroup.procs"},
		{"v1: a named hierarchy", "1:name=systemd:/c\n", hybrid[:4], "/sys/fs/cgroup/systemd/c/cgroup.procs"},
		{"v1: a joined controller list", "4:cpu,cpuacct:/b\n", hybrid[:4], "/sys/fs/cgroup/cpu,cpuacct/b/cgroup.procs"},
		{"nothing mounted", "0::/\n", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ownCgroupProcs([]byte(tc.procCgroup), tc.roots)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Fatalf("ownCgroupProcs = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// As root, the warm-up migration succeeds and leaves the process where it
// was.
func TestMigrateSelfStaysPut(t *testing.T) {
	testutil.RequireRoot(t)
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if err := MigrateSelf(); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile("/proc/self/cgroup"); string(after) != string(before) {
		t.Fatalf("cgroups after the warm-up:\n%s\nwant unchanged:\n%s", after, before)
	}
}
