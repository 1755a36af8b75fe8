package e2e

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// importGroupsImage imports groups:v1, busybox whose user default-user
// (1000) is a member of group 50000 in /etc/group (critest's
// test-image-predefined-group).
func (e *env) importGroupsImage(t *testing.T) string {
	t.Helper()
	const ref = "groups:v1"
	archive := layeredArchive(t, ref, []*tar.Header{
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644},
	}, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\ndefault-user:x:1000:1000::/home/default-user:/bin/sh\n",
		"etc/group":  "root:x:0:\ndefault-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n",
	})
	e.podctl("image", "import", archive)
	return ref
}

// procGroups reads the supplementary groups of host process pid.
func procGroups(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if g, ok := strings.CutPrefix(line, "Groups:"); ok {
			return strings.Join(strings.Fields(g), " ")
		}
	}
	t.Fatalf("no Groups in /proc/%d/status", pid)
	return ""
}

// Issue 9, critest "SupplementalGroupsPolicy": podd advertises the
// feature; with Merge (the default) the user's groups of the image's
// /etc/group join the supplemental groups, with Strict they do not; the
// first process and an exec'd one have those groups, and ContainerStatus
// reports the identity (the primary group among the supplementary ones,
// as containerd has it).
func TestCRISupplementalGroupsPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rc, _ := e.criClients()
	st, err := rc.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.GetFeatures().GetSupplementalGroupsPolicy() {
		t.Errorf("Status features %v: SupplementalGroupsPolicy not advertised", st.GetFeatures())
	}
	img := e.importGroupsImage(t)
	p := e.criRunPod(t, "groups")
	for _, tc := range []struct {
		policy runtimeapi.SupplementalGroupsPolicy
		groups []int64
	}{
		{runtimeapi.SupplementalGroupsPolicy_Merge, []int64{1000, 1234, 50000}},
		{runtimeapi.SupplementalGroupsPolicy_Strict, []int64{1000, 1234}},
	} {
		name := strings.ToLower(tc.policy.String())
		id := p.run(name, func(c *runtimeapi.ContainerConfig) {
			c.Image.Image = img
			c.Command = []string{"sh", "-c", "id -G; exec sleep 3600"}
			c.Linux.SecurityContext = &runtimeapi.LinuxContainerSecurityContext{
				RunAsUser: &runtimeapi.Int64Value{Value: 1000}, SupplementalGroups: []int64{1234}, SupplementalGroupsPolicy: tc.policy,
			}
		})
		var ids []string
		for _, g := range tc.groups {
			ids = append(ids, strconv.FormatInt(g, 10))
		}
		want := strings.Join(ids, " ") + "\n"
		logPath := p.config.LogDirectory + "/" + name + ".log"
		testutil.WaitFor(t, 30*time.Second, name+" logs its groups", func() (bool, error) {
			data, _ := os.ReadFile(logPath)
			return strings.Contains(string(data), " "+want), nil
		})
		if out, _, _ := p.exec(id, "id", "-G"); out != want {
			t.Errorf("%s: id -G in an exec printed %q, want %q", name, out, want)
		}
		resp, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		var info struct{ Pid int }
		if err := json.Unmarshal([]byte(resp.GetInfo()["info"]), &info); err != nil || info.Pid == 0 {
			t.Fatalf("%s: verbose info %q: %v", name, resp.GetInfo()["info"], err)
		}
		if got := procGroups(t, info.Pid); got != strings.TrimSpace(want) {
			t.Errorf("%s: the first process has groups %q, want %q", name, got, strings.TrimSpace(want))
		}
		u := resp.GetStatus().GetUser()
		if u != nil {
			slices.Sort(u.GetLinux().GetSupplementalGroups())
		}
		if w := (&runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: 1000, Gid: 1000, SupplementalGroups: tc.groups}}); !proto.Equal(u, w) {
			t.Errorf("%s: ContainerStatus user %v, want %v", name, u, w)
		}
	}
}
