package cri

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStatus reports the identity the container's process starts
// with, as the container service knows it; without it, the requested
// run_as_user.
func TestContainerStatusUser(t *testing.T) {
	cfg, _, fc := containerTestConfig()
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	sb, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", nil)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId,
		Config: containerConfig("a", func(c *runtimeapi.ContainerConfig) { ctrSec(c).RunAsUser = &runtimeapi.Int64Value{Value: 1000} })})
	if err != nil {
		t.Fatal(err)
	}
	user := func() *runtimeapi.ContainerUser {
		t.Helper()
		st, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: r.ContainerId})
		if err != nil {
			t.Fatal(err)
		}
		return st.Status.User
	}
	if u := user(); !proto.Equal(u, &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: 1000}}) {
		t.Errorf("user without the service's = %v", u)
	}
	want := &runtimeapi.LinuxContainerUser{Uid: 1000, Gid: 1000, SupplementalGroups: []int64{1000, 1234, 50000}}
	fc.set(r.ContainerId, func(c *Container) { c.User = want })
	if u := user(); !proto.Equal(u, &runtimeapi.ContainerUser{Linux: want}) {
		t.Errorf("user = %v, want %v", u, want)
	}
}

// ContainerStatus reports an image volume's mount with the ID of the image
// mounted (image_ref); other mounts as asked.
func TestContainerStatusImageVolume(t *testing.T) {
	cfg, _, fc := containerTestConfig()
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	sb, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", nil)})
	if err != nil {
		t.Fatal(err)
	}
	mounts := []*runtimeapi.Mount{{ContainerPath: "/host", HostPath: "/srv", Readonly: true},
		{ContainerPath: "/img", Readonly: true, Image: &runtimeapi.ImageSpec{Image: "busybox", UserSpecifiedImage: "busybox:1"}}}
	r, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.PodSandboxId,
		Config: containerConfig("a", func(c *runtimeapi.ContainerConfig) { c.Mounts = mounts })})
	if err != nil {
		t.Fatal(err)
	}
	fc.set(r.ContainerId, func(c *Container) { c.ImageVolumes = map[string]string{"/img": idA} })
	st, err := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: r.ContainerId})
	if err != nil {
		t.Fatal(err)
	}
	want := []*runtimeapi.Mount{mounts[0], proto.Clone(mounts[1]).(*runtimeapi.Mount)}
	want[1].Image.ImageRef = idA
	if got := st.Status.Mounts; len(got) != 2 || !proto.Equal(got[0], want[0]) || !proto.Equal(got[1], want[1]) {
		t.Errorf("mounts = %v, want %v", got, want)
	}
}
