package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/runtime/image"
)

// fakeNetwork is the fake host's network plus the daemon's GC.
type fakeNetwork struct {
	*podworkertest.Host
	mu sync.Mutex
	// gcLive holds the live sandboxes of each GC call.
	gcLive [][]string
	// onSetup, when set, runs at the start of each Setup.
	onSetup func()
}

// Setup is the fake host's, after onSetup.
func (n *fakeNetwork) Setup(ctx context.Context, req network.SetupRequest) (*network.Attachment, error) {
	n.mu.Lock()
	hook := n.onSetup
	n.mu.Unlock()
	if hook != nil {
		hook()
	}
	return n.Host.Setup(ctx, req)
}

// GC tears down every network not in live, as the real one does.
func (n *fakeNetwork) GC(ctx context.Context, live []string) error {
	n.mu.Lock()
	sort.Strings(live)
	n.gcLive = append(n.gcLive, live)
	n.mu.Unlock()
	for _, id := range n.Networks() {
		if !slices.Contains(live, id) {
			if err := n.Teardown(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *fakeNetwork) Resources() cni.Resources { return cni.Resources{Name: "fake"} }

func (n *fakeNetwork) Ready() error { return nil }

// fakeImages is an image store holding images by reference; the fake host
// unpacks their layers. err, when set for a call ("get", "pull", "remove",
// "import", "list"), is what that call returns.
type fakeImages struct {
	*podworkertest.Host
	mu     sync.Mutex
	byRef  map[string]image.Image
	err    map[string]error
	pruned [][]string
}

func newFakeImages(h *podworkertest.Host, refs ...string) *fakeImages {
	f := &fakeImages{Host: h, byRef: map[string]image.Image{}, err: map[string]error{}}
	for _, r := range refs {
		f.add(r, "sha256:"+r)
	}
	return f
}

func (f *fakeImages) add(ref, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.byRef[ref]
	img.Refs, img.Digest, img.ID, img.Size = append(img.Refs, ref), digest, "id-"+digest, 42
	img.Created, img.Cmd = time.Unix(1700000000, 0), []string{"/bin/sh"}
	f.byRef[ref] = img
}

func (f *fakeImages) fail(call string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err[call] = err
}

func (f *fakeImages) Get(_ context.Context, ref string) (image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err["get"]; err != nil {
		return image.Image{}, err
	}
	for _, img := range f.byRef {
		if img.Digest == ref {
			return img, nil
		}
	}
	img, ok := f.byRef[ref]
	if !ok {
		return image.Image{}, fmt.Errorf("image %q: %w", ref, image.ErrNotFound)
	}
	return img, nil
}

func (f *fakeImages) Pull(ctx context.Context, ref string, opts image.PullOptions) (image.Image, error) {
	f.mu.Lock()
	err := f.err["pull"]
	f.mu.Unlock()
	if opts.Progress != nil {
		// Two layers: one already stored, one downloaded in two steps.
		opts.Progress(image.LayerProgress{Digest: "sha256:l1", Size: 10, State: image.LayerWaiting})
		opts.Progress(image.LayerProgress{Digest: "sha256:l2", Size: 20, State: image.LayerWaiting})
		opts.Progress(image.LayerProgress{Digest: "sha256:l1", Size: 10, Done: 10, State: image.LayerExists})
		opts.Progress(image.LayerProgress{Digest: "sha256:l2", Size: 20, Done: 5, State: image.LayerDownloading})
		if err == nil {
			opts.Progress(image.LayerProgress{Digest: "sha256:l2", Size: 20, Done: 20, State: image.LayerDone})
		}
	}
	if err != nil {
		return image.Image{}, err
	}
	f.add(ref, "sha256:"+ref)
	return f.Get(ctx, ref)
}

func (f *fakeImages) Import(ctx context.Context, path, name string) ([]image.Image, error) {
	f.mu.Lock()
	err := f.err["import"]
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	f.add(name, "sha256:"+name)
	img, _ := f.Get(ctx, name)
	return []image.Image{img}, nil
}

func (f *fakeImages) List(context.Context) ([]image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err["list"]; err != nil {
		return nil, err
	}
	var out []image.Image
	for _, img := range f.byRef {
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

func (f *fakeImages) Remove(_ context.Context, ref string) (image.Removed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.err["remove"]; err != nil {
		return image.Removed{}, err
	}
	var rm image.Removed
	for r, img := range f.byRef {
		if r == ref || img.Digest == ref {
			delete(f.byRef, r)
			rm.Untagged = append(rm.Untagged, r)
			rm.Deleted = img.Digest
		}
	}
	if rm.Deleted == "" {
		return rm, fmt.Errorf("image %q: %w", ref, image.ErrNotFound)
	}
	return rm, nil
}

func (f *fakeImages) PruneLayers(_ context.Context, inUse []string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruned = append(f.pruned, inUse)
	return []string{"layer-a", "layer-b"}, nil
}

func (f *fakeImages) RawConfig(ctx context.Context, digest string) ([]byte, error) {
	if _, err := f.Get(ctx, digest); err != nil {
		return nil, err
	}
	return []byte(`{"architecture":"amd64","os":"linux"}`), nil
}

func (f *fakeImages) Usage(context.Context) (image.Usage, error) { return image.Usage{}, nil }

// testDaemon is a Daemon on the fake host, with its state under dir.
type testDaemon struct {
	*Daemon
	host   *podworkertest.Host
	net    *fakeNetwork
	images *fakeImages
	stop   func()
}

// newTestDaemon makes a daemon over host h with its root and run root under
// dir (a second daemon on the same dir and host is a restart) and stops it
// when the test ends; it is not restored yet.
func newTestDaemon(t *testing.T, dir string, h *podworkertest.Host) *testDaemon {
	t.Helper()
	cfg := Config{
		Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run"), Socket: filepath.Join(dir, "podd.sock"),
		NodeName: "Node1", CgroupParent: "/podd-unit-test", BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		PodPidsLimit: -1,
	}
	ctx, cancel := context.WithCancel(context.Background())
	td := &testDaemon{host: h, net: &fakeNetwork{Host: h}, images: newFakeImages(h, "busybox:latest")}
	st, err := store.Open(store.Layout{Root: cfg.Root, RunRoot: cfg.RunRoot, CgroupParent: cfg.CgroupParent})
	if err != nil {
		t.Fatal(err)
	}
	d, err := assemble(ctx, cfg, st, hostParts{
		images: td.images, network: td.net, shims: podworkertest.Shims[podworker.ShimClient]{Host: h},
		volumes: h, rootfs: h, shimBinary: "/fake/podd-shim", pauseBinary: "/fake/podd-pause",
	})
	if err != nil {
		t.Fatal(err)
	}
	resolv := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 10.0.0.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.deps.ResolvConf, d.deps.RuntimeTimeout = resolv, 2*time.Second
	td.Daemon = d
	var once sync.Once
	td.stop = func() {
		once.Do(func() {
			cancel()
			d.wg.Wait()
			d.probes.Close()
		})
	}
	t.Cleanup(td.stop)
	return td
}

// startTestDaemon is newTestDaemon on a fresh fake host, restored.
func startTestDaemon(t *testing.T) *testDaemon {
	t.Helper()
	d := newTestDaemon(t, t.TempDir(), podworkertest.NewHost())
	if err := d.restore(); err != nil {
		t.Fatal(err)
	}
	return d
}

// podYAML is a manifest of one pod with one container per image.
func podYAML(name string, images ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n", name)
	if len(images) == 0 {
		images = []string{"busybox:latest"}
	}
	for i, img := range images {
		fmt.Fprintf(&b, "  - name: c%d\n    image: %s\n    imagePullPolicy: IfNotPresent\n", i, img)
	}
	return b.String()
}

// mustApply applies manifest through the daemon and fails the test on error.
func (d *testDaemon) mustApply(t *testing.T, manifest string) []ApplyResult {
	t.Helper()
	res, _, err := d.apply(context.Background(), []byte(manifest), "test.yaml", "")
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// pod returns the snapshot of default/name, or nil.
func (d *testDaemon) pod(name string) *corev1.Pod {
	e, ok := d.pods.get("default", name)
	if !ok {
		return nil
	}
	return e.worker.Snapshot()
}

// running reports whether every container of default/name runs.
func (d *testDaemon) running(name string) bool {
	p := d.pod(name)
	if p == nil || len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hasEvent reports whether an event with reason was recorded.
func (d *testDaemon) hasEvent(reason string) bool {
	for _, e := range d.events.All() {
		if e.Reason == reason {
			return true
		}
	}
	return false
}

// errorsIs is errors.Is for table tests (nil want: no error).
func errorsIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}
