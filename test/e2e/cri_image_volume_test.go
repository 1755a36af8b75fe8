package e2e

import (
	"archive/tar"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// mountsUnder lists the host's mount points under dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

// Issue 9, critest "Image Volume": a CRI mount of an image (by the ID
// PullImage answers) shows the image read-only and executable at the
// container path, or only its image_sub_path; ContainerStatus reports the
// image's ID in the mount; a writable image volume, a sub path the image
// lacks and an image not stored are refused; the image cannot be removed
// while mounted; a kill -9 of podd changes nothing, and removing the
// container unmounts the image.
func TestCRIImageVolume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.podctl("image", "import", layeredArchive(t, "volimg:v1", []*tar.Header{
		{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "data/hello", Typeflag: tar.TypeReg, Mode: 0o644},
	}, map[string]string{"data/hello": "hello from the image\n"}))
	_, ic := e.criClients()
	imgID := criImage(t, ic, "volimg:v1").GetId()
	p := e.criRunPod(t, "imgvol")
	volume := func(path, sub string, readonly bool) *runtimeapi.Mount {
		return &runtimeapi.Mount{ContainerPath: path, Readonly: readonly, ImageSubPath: sub,
			Image: &runtimeapi.ImageSpec{Image: imgID, UserSpecifiedImage: "volimg:v1"}}
	}
	id := p.run("app", func(c *runtimeapi.ContainerConfig) {
		c.Mounts = []*runtimeapi.Mount{volume("/img", "", true), volume("/sub", "data", true)}
	})
	check := func(when string) {
		t.Helper()
		for _, tc := range []struct {
			cmd            []string
			stdout, stderr string
			code           int32
		}{
			{[]string{"cat", "/img/data/hello", "/sub/hello"}, "hello from the image\nhello from the image\n", "", 0},
			{[]string{"/img/bin/ls", "/sub"}, "hello\n", "", 0},
			{[]string{"touch", "/img/x"}, "", "touch: /img/x: Read-only file system\n", 1},
			{[]string{"touch", "/sub/x"}, "", "touch: /sub/x: Read-only file system\n", 1},
		} {
			if out, errOut, code := p.exec(id, tc.cmd...); out != tc.stdout || errOut != tc.stderr || code != tc.code {
				t.Errorf("%s: %v = %q %q %d, want %q %q %d", when, tc.cmd, out, errOut, code, tc.stdout, tc.stderr, tc.code)
			}
		}
		st, err := p.rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			t.Fatal(err)
		}
		var refs []string
		for _, m := range st.GetStatus().GetMounts() {
			refs = append(refs, m.GetContainerPath()+" "+m.GetImage().GetImageRef())
		}
		if want := []string{"/img " + imgID, "/sub " + imgID}; strings.Join(refs, ",") != strings.Join(want, ",") {
			t.Errorf("%s: ContainerStatus mounts %v, want %v", when, refs, want)
		}
	}
	check("running")
	if n := len(mountsUnder(t, e.root+"/cri/containers/"+id+"/image-volumes")); n != 2 {
		t.Errorf("%d image volumes mounted for the container, want 2", n)
	}
	for _, tc := range []struct {
		name string
		m    *runtimeapi.Mount
		code codes.Code
		want string
	}{
		{"writable", volume("/img", "", false), codes.InvalidArgument, "read-only"},
		{"missing-sub-path", volume("/img", "not-existing", true), codes.InvalidArgument, `sub path "not-existing" does not exist`},
		{"unknown-image", &runtimeapi.Mount{ContainerPath: "/img", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "nothere:v1"}},
			codes.NotFound, "nothere"},
	} {
		_, err := p.create(tc.name, func(c *runtimeapi.ContainerConfig) { c.Mounts = []*runtimeapi.Mount{tc.m} })
		if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CreateContainer %s: %v, want %s saying %q", tc.name, err, tc.code, tc.want)
		}
	}
	if _, err := ic.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: imgID}}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("RemoveImage of a mounted image volume: %v", err)
	}

	e.killDaemon()
	e.restartDaemon()
	p.rc, ic = e.criClients()
	testutil.WaitFor(t, 30*time.Second, "the CRI socket after the restart", func() (bool, error) {
		_, err := p.rc.Version(ctx, &runtimeapi.VersionRequest{})
		return err == nil, nil
	})
	check("after kill -9")
	if _, err := p.rc.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, e.root+"/cri/containers"); len(m) != 0 {
		t.Errorf("mounts left after RemoveContainer: %v", m)
	}
	if _, err := ic.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: imgID}}); err != nil {
		t.Errorf("RemoveImage once unused: %v", err)
	}
}
