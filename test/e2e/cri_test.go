package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/image"
	"github.com/podd-dev/podd/test/testutil"
)

// criClients connects to the env's CRI socket (<run-root>/cri.sock).
func (e *env) criClients() (runtimeapi.RuntimeServiceClient, runtimeapi.ImageServiceClient) {
	e.t.Helper()
	conn, err := grpc.NewClient("unix://"+e.criSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
}

func (e *env) criSocket() string { return filepath.Join(e.runRoot, "cri.sock") }

// mirrorRegistry serves variant images on 127.0.0.1 under test/<repo>:v1
// and returns the registry's host:port.
func mirrorRegistry(t *testing.T, repos ...string) string {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	base, err := image.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range repos {
		img := withLabel(t, base, "repo", repo)
		ref, err := name.ParseReference(host+"/test/"+repo+":v1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

func withLabel(t *testing.T, img v1.Image, k, v string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config.DeepCopy()
	cfg.Labels = map[string]string{k: v}
	out, err := mutate.Config(img, *cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// criImage returns the CRI image a reference names, nil when none.
func criImage(t *testing.T, ic runtimeapi.ImageServiceClient, ref string) *runtimeapi.Image {
	t.Helper()
	resp, err := ic.ImageStatus(context.Background(), &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
	if err != nil {
		t.Fatalf("ImageStatus %s: %v", ref, err)
	}
	return resp.Image
}

// Issue 9, first slice: podd serves CRI's ImageService and the runtime-wide
// RuntimeService calls on <run-root>/cri.sock (root only), over the one
// image store the pod API uses; registryMirrors apply to pulls by CRI, by
// podctl and by pods.
func TestCRIImageServiceSharesTheStore(t *testing.T) {
	t.Parallel()
	host := mirrorRegistry(t, "cri", "api", "pod")
	conf := filepath.Join(t.TempDir(), "podd.yaml")
	// registry.invalid cannot resolve: only the mirror can serve it.
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("registryMirrors:\n  registry.invalid: [\"http://%s\"]\n", host)), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "--config", conf)
	ctx := context.Background()

	fi, err := os.Stat(e.criSocket())
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 || st.Uid != 0 {
		t.Errorf("CRI socket mode %v uid %d, want a 0600 socket of root", fi.Mode(), st.Uid)
	}
	rc, ic := e.criClients()
	v, err := rc.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeName != "podd" || v.RuntimeApiVersion != "v1" {
		t.Fatalf("Version = %v, %v", v, err)
	}
	st, err := rc.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Status.Conditions {
		if !c.Status {
			t.Errorf("condition %s is false: %s %s", c.Type, c.Reason, c.Message)
		}
	}
	if _, err := rc.CheckpointContainer(ctx, &runtimeapi.CheckpointContainerRequest{}); status.Code(err) != codes.Unimplemented ||
		!strings.Contains(err.Error(), "not yet implemented in podd") {
		t.Errorf("CheckpointContainer: %v", err)
	}

	// Imported through the pod API, listed by CRI with the same ID.
	apiImgs, err := e.client.ListImages(ctx, &poddv1.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	bb := criImage(t, ic, "busybox")
	if bb == nil || !slices.Contains(bb.RepoTags, "docker.io/library/busybox:latest") || bb.Id != apiImgs.Images[0].Id || bb.Size == 0 {
		t.Errorf("CRI sees busybox as %v; the pod API as %v", bb, apiImgs.Images)
	}

	// Pulled through CRI via the mirror, listed by podctl.
	pulled, err := ic.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "registry.invalid/test/cri:v1"}})
	if err != nil {
		t.Fatalf("CRI pull through the mirror: %v", err)
	}
	img := criImage(t, ic, "registry.invalid/test/cri:v1")
	if img == nil || img.Id != pulled.ImageRef || len(img.RepoDigests) != 1 || !strings.HasPrefix(img.RepoDigests[0], "registry.invalid/test/cri@sha256:") {
		t.Errorf("pulled image = %v (ImageRef %s)", img, pulled.ImageRef)
	}
	if out := e.podctl("images"); !strings.Contains(out, "registry.invalid/test/cri") {
		t.Errorf("podctl images does not list the CRI pull:\n%s", out)
	}
	// podctl and a pod pull through the mirror too.
	e.podctl("pull", "registry.invalid/test/api:v1")
	if criImage(t, ic, "registry.invalid/test/api:v1") == nil {
		t.Error("CRI does not see the image podctl pulled")
	}
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "registry.invalid/test/pod:v1", imagePullPolicy: IfNotPresent, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
`)
	e.waitRunning("user", 60*time.Second)

	// An image a pod uses is refused, as podctl image rm refuses it.
	rm := func(ref string) error {
		_, err := ic.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		return err
	}
	podImg := criImage(t, ic, "registry.invalid/test/pod:v1")
	if podImg == nil {
		t.Fatal("the image the pod pulled is not listed by CRI")
	}
	err = rm(podImg.Id)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "in use by pod default/user") {
		t.Errorf("CRI RemoveImage of an image in use: %v", err)
	}
	if _, err := e.podctlErr("image", "rm", "registry.invalid/test/pod:v1"); err == nil {
		t.Error("podctl image rm of an image in use succeeded")
	}
	if criImage(t, ic, podImg.Id) == nil {
		t.Error("the refused removal removed the image")
	}
	e.podctl("delete", "pod", "user")
	e.waitGone("user", 60*time.Second)
	if err := rm(podImg.Id); err != nil {
		t.Errorf("RemoveImage once the pod is gone: %v", err)
	}
	// Removed by CRI: gone for the pod API, and removing again succeeds.
	if out := e.podctl("images"); strings.Contains(out, "registry.invalid/test/pod") {
		t.Errorf("podctl images still lists the image CRI removed:\n%s", out)
	}
	if err := rm(podImg.Id); err != nil {
		t.Errorf("RemoveImage of a removed image: %v (CRI wants success)", err)
	}

	fs, err := ic.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil || len(fs.ImageFilesystems) != 1 || fs.ImageFilesystems[0].UsedBytes.GetValue() == 0 ||
		fs.ImageFilesystems[0].FsId.GetMountpoint() != filepath.Join(e.root, "images") {
		t.Errorf("ImageFsInfo = %v, %v", fs, err)
	}

	// A daemon killed with SIGKILL leaves its socket behind; the next one
	// serves CRI on it again, with the same images.
	e.killDaemon()
	e.restartDaemon()
	testutil.WaitFor(t, 15*time.Second, "CRI socket after a restart", func() (bool, error) {
		_, ic = e.criClients()
		_, err := ic.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
		return err == nil, err
	})
	if img := criImage(t, ic, "registry.invalid/test/cri:v1"); img == nil || img.Id != pulled.ImageRef {
		t.Errorf("after a kill -9 and restart CRI sees %v, want %s", img, pulled.ImageRef)
	}
}

// An empty --cri-socket serves no CRI.
func TestCRISocketDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--cri-socket", "")
	if _, err := os.Lstat(e.criSocket()); !os.IsNotExist(err) {
		t.Errorf("with --cri-socket \"\" there is %s: %v", e.criSocket(), err)
	}
}

// The CRI socket belongs to one root, like the pod API's: a second daemon
// naming the first one's refuses to start and names its owner; the first
// keeps serving. One socket for both APIs is refused too.
func TestCRISocketClaimedByOneRoot(t *testing.T) {
	a := newEnv(t)
	b := newSibling(t, a, false, false)
	serving, out := b.tryStart(append(b.defaultArgs(), "--cgroup-parent", b.cgroupParent, "--cri-socket", a.criSocket()))
	if serving {
		t.Fatalf("a second daemon started on the first one's CRI socket %s", a.criSocket())
	}
	if !strings.Contains(out, a.root) || !strings.Contains(out, a.criSocket()) {
		t.Errorf("the refusal does not name the owner %s and the socket:\n%s", a.root, tail(out, 5))
	}
	_, ic := a.criClients()
	if criImage(t, ic, "busybox") == nil {
		t.Error("the first daemon's CRI lost busybox")
	}
	c := newSibling(t, a, false, false)
	serving, out = c.tryStart(append(c.defaultArgs(), "--cgroup-parent", c.cgroupParent, "--cri-socket", c.socket))
	if serving || !strings.Contains(out, "is the pod API's socket") {
		t.Errorf("one socket for both APIs: serving %v\n%s", serving, tail(out, 5))
	}
}
