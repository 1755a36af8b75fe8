package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/internal/errdefs"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	podspec "github.com/podd-dev/podd/runtime/spec"
)

// withImageVolume is containerSpec with busybox mounted read-only at /img
// (its sub path sub) and a host path at /srv.
func withImageVolume(sb, name, sub string) sandbox.ContainerSpec {
	cs := containerSpec(sb, name)
	cs.Process.Mounts = []podspec.CRIMount{
		{Image: "busybox", ImageSubPath: sub, ContainerPath: "/img", ReadOnly: true, Propagation: "private"},
		{HostPath: "/srv", ContainerPath: "/srv"},
	}
	return cs
}

// Create mounts a read-only view of a volume's image in the container's
// image-volumes dir and binds it read-only; the record keeps the image's
// ID (an image in use); Remove unmounts it.
func TestContainersImageVolumes(t *testing.T) {
	h, layout, r, c, sb := webSandbox(t)
	ctx := context.Background()
	cs := withImageVolume(sb.ID, "app", "")
	id, err := c.Create(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Process.Mounts[0].HostPath != "" {
		t.Errorf("Create changed the caller's mounts: %+v", cs.Process.Mounts)
	}
	st := state(t, c, id)
	if want := []sandbox.ImageVolume{{ContainerPath: "/img", Image: "busybox", ImageID: "sha256:fake"}}; !reflect.DeepEqual(st.ImageVolumes, want) {
		t.Errorf("image volumes %+v, want %+v", st.ImageVolumes, want)
	}
	cfg := &shimv1.ContainerConfig{}
	if err := proto.Unmarshal(st.Config, cfg); err != nil {
		t.Fatal(err)
	}
	view := filepath.Join(layout.CRIContainerImageVolumesDir(id), "0", "merged")
	i := slices.IndexFunc(cfg.Mounts, func(m *shimv1.Mount) bool { return m.Destination == "/img" })
	if i < 0 || cfg.Mounts[i].Source != view || !slices.Contains(cfg.Mounts[i].Options, "ro") {
		t.Errorf("mounts %v, want %s bound read-only at /img", cfg.Mounts, view)
	}
	if !c.Images()["sha256:fake"] {
		t.Errorf("Images() = %v", c.Images())
	}
	if err := c.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if _, err := os.Stat(layout.CRIContainerDir(id)); !os.IsNotExist(err) {
		t.Errorf("container dir left: %v", err)
	}
}

// A creation that fails at an image volume leaves no mount: the view
// cannot be mounted, or the sub path is not in the image
// (errdefs.ErrInvalidArgument).
func TestContainersImageVolumeRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name, step, sub string
		want            error
	}{
		{name: "view fails", step: "rootfs.view"},
		{name: "sub path missing", sub: "missing", want: errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, layout := podworkertest.NewHost(), testLayout(t)
			r := newRegistry(t, h, layout)
			c := openContainers(t, h, r, layout)
			ctx := context.Background()
			sb, err := r.Run(ctx, spec("web"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.step != "" {
				h.Script(tc.step, podworkertest.FaultError, 1)
			}
			_, err = c.Create(ctx, withImageVolume(sb.ID, "app", tc.sub))
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || (tc.sub != "" && !strings.Contains(err.Error(), `sub path "missing" does not exist in the image`)) {
				t.Fatalf("Create: %v", err)
			}
			if ents, _ := os.ReadDir(layout.CRIContainersDir()); len(ents) != 0 {
				t.Errorf("left in %s: %v", layout.CRIContainersDir(), ents)
			}
			if err := r.Remove(ctx, sb.ID); err != nil {
				t.Fatal(err)
			}
			if l := h.Leaks(); len(l) > 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
}

// A creation cut short by a crash after its image volume was mounted is
// undone at the next start, the volume unmounted.
func TestContainersRestoreUndoesImageVolumes(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	openContainers(t, h, r, layout)
	ctx := context.Background()
	sb, _ := r.Run(ctx, spec("web"))
	cut := "c0ffee" + sb.ID[6:]
	if err := os.MkdirAll(layout.CRIContainerDir(cut), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layout.CRIContainerFile(cut), []byte(`{"ID":"`+cut+`","SandboxID":"`+sb.ID+`","Name":"cut","Phase":"Creating"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Mount(nil, layout.CRIContainerRootfsDir(cut), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.MountView(nil, filepath.Join(layout.CRIContainerImageVolumesDir(cut), "0"), nil); err != nil {
		t.Fatal(err)
	}
	r2 := newRegistry(t, h, layout)
	openContainers(t, h, r2, layout)
	if _, err := os.Stat(layout.CRIContainerDir(cut)); !os.IsNotExist(err) {
		t.Errorf("a creation cut short was not undone: %v", err)
	}
	if err := r2.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if l := h.Leaks(); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}
