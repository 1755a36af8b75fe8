package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/internal/errdefs"
	"github.com/podd-dev/podd/runtime/image"
)

// fakeImages is a scriptable image store: images by manifest digest, and
// errors to return per call.
type fakeImages struct {
	mu      sync.Mutex
	images  []image.Image
	configs map[string]string // manifest digest -> config JSON
	pulled  image.Image
	pullErr error
	rmErr   error
	usage   image.Usage
	// calls records Pull and Remove calls with their arguments.
	calls []string
	auth  *image.Credentials
}

func (f *fakeImages) List(context.Context) ([]image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.images), nil
}

func (f *fakeImages) Get(_ context.Context, ref string) (image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, img := range f.images {
		if slices.Contains(img.Refs, ref) || slices.Contains(img.RepoDigests, ref) || img.ID == ref || img.Digest == ref {
			return img, nil
		}
	}
	return image.Image{}, fmt.Errorf("get image %q: %w", ref, image.ErrNotFound)
}

func (f *fakeImages) Pull(_ context.Context, ref string, auth *image.Credentials) (image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "pull "+ref)
	f.auth = auth
	return f.pulled, f.pullErr
}

func (f *fakeImages) Remove(ctx context.Context, ref string) error {
	f.mu.Lock()
	f.calls = append(f.calls, "remove "+ref)
	err := f.rmErr
	f.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = f.Get(ctx, ref)
	return err
}

func (f *fakeImages) RawConfig(_ context.Context, d string) ([]byte, error) {
	c, ok := f.configs[d]
	if !ok {
		return nil, image.ErrNotFound
	}
	return []byte(c), nil
}

func (f *fakeImages) Usage(context.Context) (image.Usage, error) { return f.usage, nil }

type fakeRuntime struct {
	mu      sync.Mutex
	netErr  error
	podCIDR string
}

func (f *fakeRuntime) NetworkReady(context.Context) error { return f.netErr }
func (f *fakeRuntime) SetPodCIDR(c string)                { f.mu.Lock(); f.podCIDR = c; f.mu.Unlock() }
func (f *fakeRuntime) PodCIDR() string                    { f.mu.Lock(); defer f.mu.Unlock(); return f.podCIDR }

// clients serves cfg on a unix socket in a temp dir, as the daemon does,
// and returns both CRI clients.
func clients(t *testing.T, cfg Config) (runtimeapi.RuntimeServiceClient, runtimeapi.ImageServiceClient) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cri.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(cfg)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn)
}

const (
	idA = "sha256:aaaa000000000000000000000000000000000000000000000000000000000000"
	idB = "sha256:bbbb000000000000000000000000000000000000000000000000000000000000"
)

// busybox and its copy under another manifest share one config (image ID).
var (
	busybox = image.Image{
		Refs: []string{"docker.io/library/busybox:latest"}, RepoDigests: []string{"docker.io/library/busybox@sha256:1111"},
		Digest: "sha256:1111", ID: idA, Size: 1234, Config: image.Config{User: "1000:1000"},
	}
	busyboxCopy = image.Image{Refs: []string{"registry.k8s.io/busybox:1"}, Digest: "sha256:2222", ID: idA, Size: 1240}
	nginx       = image.Image{Refs: []string{"docker.io/library/nginx:1"}, Digest: "sha256:3333", ID: idB, Size: 99, Config: image.Config{User: "nginx"}}
)

func testConfig() (Config, *fakeImages, *fakeRuntime) {
	imgs := &fakeImages{
		images:  []image.Image{busybox, busyboxCopy, nginx},
		configs: map[string]string{"sha256:1111": `{"architecture":"amd64","os":"linux","config":{"User":"1000:1000"},"rootfs":{"type":"layers","diff_ids":["sha256:0123456789012345678901234567890123456789012345678901234567890123"]}}`},
		usage:   image.Usage{Bytes: 4096, Inodes: 7},
	}
	rt := &fakeRuntime{}
	return Config{Images: imgs, Runtime: rt, ImageFsDir: "/var/lib/podd/images", Version: "v9",
		Features: Features{RecursiveReadOnlyMounts: true},
		Now:      func() time.Time { return time.Unix(100, 0) }}, imgs, rt
}

func code(err error) codes.Code { return status.Code(err) }

func TestListImagesOnePerIDWithFilter(t *testing.T) {
	cfg, _, _ := testConfig()
	_, ic := clients(t, cfg)
	ctx := context.Background()
	resp, err := ic.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Images) != 2 {
		t.Fatalf("ListImages = %d images, want 2 (one per ID): %v", len(resp.Images), resp.Images)
	}
	a := resp.Images[0]
	if a.Id != idA || !slices.Equal(a.RepoTags, []string{"docker.io/library/busybox:latest", "registry.k8s.io/busybox:1"}) ||
		!slices.Equal(a.RepoDigests, []string{"docker.io/library/busybox@sha256:1111"}) || a.Size != 1234 ||
		a.Uid.GetValue() != 1000 || a.Username != "" {
		t.Errorf("busybox = %v", a)
	}
	if b := resp.Images[1]; b.Uid != nil || b.Username != "nginx" {
		t.Errorf("nginx user = uid %v name %q", b.Uid, b.Username)
	}
	for ref, want := range map[string][]string{"registry.k8s.io/busybox:1": {idA}, idB: {idB}, "missing:1": nil} {
		resp, err := ic.ListImages(ctx, &runtimeapi.ListImagesRequest{Filter: &runtimeapi.ImageFilter{Image: &runtimeapi.ImageSpec{Image: ref}}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, img := range resp.Images {
			got = append(got, img.Id)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListImages(filter %s) = %v, want %v", ref, got, want)
		}
	}
	stream, err := ic.StreamImages(ctx, &runtimeapi.StreamImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		m, err := stream.Recv()
		if err != nil {
			break
		}
		n += len(m.Images)
	}
	if n != 2 {
		t.Errorf("StreamImages sent %d images, want 2", n)
	}
}

func TestImageStatus(t *testing.T) {
	cfg, _, _ := testConfig()
	_, ic := clients(t, cfg)
	ctx := context.Background()
	resp, err := ic.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:latest"}, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Image.GetId() != idA || len(resp.Image.RepoTags) != 2 {
		t.Errorf("ImageStatus = %v", resp.Image)
	}
	info := resp.Info["info"]
	for _, want := range []string{`"chainID":"sha256:0123`, `"imageSpec":{`, `"User":"1000:1000"`} {
		if !strings.Contains(info, want) {
			t.Errorf("verbose info %s lacks %s", info, want)
		}
	}
	resp, err = ic.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "missing:1"}})
	if err != nil || resp.Image != nil {
		t.Errorf("ImageStatus of a missing image = %v, %v; want an empty answer", resp, err)
	}
	if _, err := ic.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{}); code(err) != codes.InvalidArgument {
		t.Errorf("ImageStatus without an image: %v", err)
	}
}

func TestPullImage(t *testing.T) {
	cfg, imgs, _ := testConfig()
	_, ic := clients(t, cfg)
	ctx := context.Background()
	imgs.pulled = nginx
	resp, err := ic.PullImage(ctx, &runtimeapi.PullImageRequest{
		Image:         &runtimeapi.ImageSpec{Image: "nginx:1"},
		Auth:          &runtimeapi.AuthConfig{Username: "u", Password: "p", ServerAddress: "https://index.docker.io/v1/"},
		SandboxConfig: &runtimeapi.PodSandboxConfig{Hostname: "ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ImageRef != idB {
		t.Errorf("ImageRef = %q, want the image ID %q", resp.ImageRef, idB)
	}
	if want := (image.Credentials{Host: "index.docker.io", Username: "u", Password: "p"}); imgs.auth == nil || *imgs.auth != want {
		t.Errorf("credentials passed = %+v, want %+v", imgs.auth, want)
	}
	for _, tc := range []struct {
		name string
		req  *runtimeapi.PullImageRequest
		err  error
		want codes.Code
	}{
		{"no image", &runtimeapi.PullImageRequest{}, nil, codes.InvalidArgument},
		{"runtime handler", &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "x", RuntimeHandler: "kata"}}, nil, codes.InvalidArgument},
		{"bad auth", &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "x"}, Auth: &runtimeapi.AuthConfig{Auth: "!!"}}, nil, codes.InvalidArgument},
		{"not found", &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "x"}}, fmt.Errorf("pull x: %w", image.ErrNotFound), codes.NotFound},
		{"registry down", &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "x"}}, errors.New("dial tcp: refused"), codes.Internal},
		{"cancelled", &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: "x"}}, fmt.Errorf("pull x: %w", context.Canceled), codes.Canceled},
	} {
		imgs.pullErr = tc.err
		if _, err := ic.PullImage(ctx, tc.req); code(err) != tc.want {
			t.Errorf("%s: PullImage error %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		in   *runtimeapi.AuthConfig
		want *image.Credentials
		bad  bool
	}{
		{nil, nil, false},
		{&runtimeapi.AuthConfig{}, nil, false},
		{&runtimeapi.AuthConfig{ServerAddress: "r.example:5000"}, nil, false},
		{&runtimeapi.AuthConfig{Username: "u", Password: "p"}, &image.Credentials{Username: "u", Password: "p"}, false},
		{&runtimeapi.AuthConfig{IdentityToken: "tok", ServerAddress: "r.example:5000"}, &image.Credentials{Host: "r.example:5000", IdentityToken: "tok"}, false},
		{&runtimeapi.AuthConfig{Auth: "dTpwdw=="}, &image.Credentials{Username: "u", Password: "pw"}, false},
		{&runtimeapi.AuthConfig{RegistryToken: "bearer"}, &image.Credentials{RegistryToken: "bearer"}, false},
		{&runtimeapi.AuthConfig{Auth: "bm9jb2xvbg=="}, nil, true}, // "nocolon"
		{&runtimeapi.AuthConfig{Auth: "%%%"}, nil, true},
	} {
		got, err := credentials(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("credentials(%v) error %v", tc.in, err)
			continue
		}
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("credentials(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestRemoveImage(t *testing.T) {
	cfg, imgs, _ := testConfig()
	_, ic := clients(t, cfg)
	ctx := context.Background()
	rm := func(ref string) error {
		_, err := ic.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
		return err
	}
	if err := rm(idB); err != nil {
		t.Errorf("RemoveImage: %v", err)
	}
	if err := rm("missing:1"); err != nil {
		t.Errorf("RemoveImage of a missing image: %v (CRI wants success)", err)
	}
	if err := rm(""); code(err) != codes.InvalidArgument {
		t.Errorf("RemoveImage without an image: %v", err)
	}
	imgs.rmErr = errdefs.Classed(errdefs.ErrFailedPrecondition, "image %q is in use by pod default/web: delete the pod first", "busybox")
	err := rm("busybox")
	if code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "in use by pod default/web") {
		t.Errorf("RemoveImage of an image in use: %v", err)
	}
}

func TestImageFsInfo(t *testing.T) {
	cfg, _, _ := testConfig()
	_, ic := clients(t, cfg)
	resp, err := ic.ImageFsInfo(context.Background(), &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ImageFilesystems) != 1 {
		t.Fatalf("ImageFsInfo = %v", resp)
	}
	fs := resp.ImageFilesystems[0]
	if fs.FsId.GetMountpoint() != "/var/lib/podd/images" || fs.UsedBytes.GetValue() != 4096 || fs.InodesUsed.GetValue() != 7 || fs.Timestamp != 100e9 {
		t.Errorf("ImageFsInfo = %v", fs)
	}
}

func TestVersionStatusRuntimeConfig(t *testing.T) {
	cfg, _, rt := testConfig()
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	v, err := rc.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil || v.RuntimeName != "podd" || v.RuntimeVersion != "v9" || v.RuntimeApiVersion != "v1" || v.Version != "0.1.0" {
		t.Errorf("Version = %v, %v", v, err)
	}
	conds := func(verbose bool) (map[string]*runtimeapi.RuntimeCondition, map[string]string) {
		t.Helper()
		st, err := rc.Status(ctx, &runtimeapi.StatusRequest{Verbose: verbose})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*runtimeapi.RuntimeCondition{}
		for _, c := range st.Status.Conditions {
			m[c.Type] = c
		}
		if len(st.RuntimeHandlers) != 1 || st.RuntimeHandlers[0].Name != "" || !st.RuntimeHandlers[0].Features.RecursiveReadOnlyMounts {
			t.Errorf("runtime handlers = %v", st.RuntimeHandlers)
		}
		return m, st.Info
	}
	c, info := conds(false)
	if !c[runtimeapi.RuntimeReady].GetStatus() || !c[runtimeapi.NetworkReady].GetStatus() || info != nil {
		t.Errorf("Status = %v, info %v", c, info)
	}
	rt.netErr = errors.New("no CNI configuration in /etc/cni/net.d")
	c, info = conds(true)
	n := c[runtimeapi.NetworkReady]
	if n.GetStatus() || n.Reason != "NetworkPluginNotReady" || !strings.Contains(n.Message, "no CNI configuration") || !c[runtimeapi.RuntimeReady].GetStatus() {
		t.Errorf("NetworkReady without CNI = %v", n)
	}
	if !strings.Contains(info["lastCNILoadStatus"], "no CNI configuration") {
		t.Errorf("verbose info = %v", info)
	}

	r, err := rc.RuntimeConfig(ctx, &runtimeapi.RuntimeConfigRequest{})
	if err != nil || r.Linux.GetCgroupDriver() != runtimeapi.CgroupDriver_CGROUPFS {
		t.Errorf("RuntimeConfig = %v, %v", r, err)
	}
	update := func(cidr string) error {
		_, err := rc.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: cidr}}})
		return err
	}
	if err := update("10.88.0.0/16,fd00::/64"); err != nil || rt.PodCIDR() != "10.88.0.0/16,fd00::/64" {
		t.Errorf("UpdateRuntimeConfig: %v, recorded %q", err, rt.PodCIDR())
	}
	if err := update(""); err != nil || rt.PodCIDR() != "10.88.0.0/16,fd00::/64" {
		t.Errorf("an empty pod CIDR changed the recorded one: %v, %q", err, rt.PodCIDR())
	}
	if err := update("10.88.0.0"); code(err) != codes.InvalidArgument {
		t.Errorf("UpdateRuntimeConfig with a bad CIDR: %v", err)
	}
	if _, info = conds(true); !strings.Contains(info["config"], `"podCIDR":"10.88.0.0/16,fd00::/64"`) {
		t.Errorf("verbose config = %v", info["config"])
	}
}

func TestCallsNotImplementedYetSaySo(t *testing.T) {
	cfg, _, _ := testConfig()
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	_, err := rc.CheckpointContainer(ctx, &runtimeapi.CheckpointContainerRequest{})
	if code(err) != codes.Unimplemented || status.Convert(err).Message() != "CheckpointContainer: not yet implemented in podd" {
		t.Errorf("CheckpointContainer: %v", err)
	}
	// A streaming call's generated answer is rewritten the same way.
	gen := func(any, grpc.ServerStream) error {
		return status.Error(codes.Unimplemented, "method GetContainerEvents not implemented")
	}
	err = streamNotYet(nil, nil, &grpc.StreamServerInfo{FullMethod: "/runtime.v1.RuntimeService/GetContainerEvents"}, gen)
	if code(err) != codes.Unimplemented || status.Convert(err).Message() != "GetContainerEvents: not yet implemented in podd" {
		t.Errorf("stream: %v", err)
	}
	// An Unimplemented answer of a call itself is left alone.
	if got := notYet("/runtime.v1.RuntimeService/X", status.Error(codes.Unimplemented, "checkpoints are not supported")); status.Convert(got).Message() != "checkpoints are not supported" {
		t.Errorf("notYet rewrote a call's own answer: %v", got)
	}
}

// Status advertises the host-dependent features only where the host has
// them, and SupplementalGroupsPolicy everywhere.
func TestStatusAdvertisesHostFeatures(t *testing.T) {
	for _, have := range []bool{false, true} {
		cfg, _, _ := testConfig()
		cfg.Features.RecursiveReadOnlyMounts, cfg.Features.UserNamespaces = have, have
		rc, _ := clients(t, cfg)
		st, err := rc.Status(context.Background(), &runtimeapi.StatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := st.GetRuntimeHandlers()[0].GetFeatures().GetRecursiveReadOnlyMounts(); got != have {
			t.Errorf("host rro %v: advertised %v", have, got)
		}
		if got := st.GetRuntimeHandlers()[0].GetFeatures().GetUserNamespaces(); got != have {
			t.Errorf("host user namespaces %v: advertised %v", have, got)
		}
		if !st.GetFeatures().GetSupplementalGroupsPolicy() {
			t.Errorf("SupplementalGroupsPolicy not advertised: %v", st.GetFeatures())
		}
	}
}
