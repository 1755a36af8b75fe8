package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/podd-dev/podd/runtime/spec"
	"github.com/podd-dev/podd/test/image"
)

// floor is the least a pod start can do on this host, the second peer of
// BenchmarkStartLatency: `ip netns add`, the CNI ADD of the env's own
// conflist (libcni, the same plugin binaries, bridge and IPAM as podd's
// pods), an overlay mount of the busybox rootfs and `runc run -d` of
// `sleep` in that netns. Every run is undone at its end, even on failure.
type floor struct {
	tb     testing.TB
	e      *env
	runc   string
	dir    string
	lower  string
	cni    *libcni.CNIConfig
	list   *libcni.NetworkConfigList
	cgroup string
	// tag tells this floor's names from another's in the same env.
	tag string
	// seccomp, when set, is the filter the container runs under (its
	// runtime-spec JSON), like podd's containers.
	seccomp json.RawMessage
	// cpu is the host's busy CPU time of each timed run (i >= 0).
	cpu meanCPU
}

func newFloor(tb testing.TB, e *env, runc string) *floor {
	return newFloorTagged(tb, e, runc, "")
}

// newSeccompFloor is the floor whose container runs under the seccomp
// filter podd gives the same pod's container (the RuntimeDefault profile,
// podd's default): runc's init compiles it at every start as libcontainer
// does in podd's, so the two start the same secured container.
func newSeccompFloor(tb testing.TB, e *env, runc string) *floor {
	tb.Helper()
	return newSeccompFloorTagged(tb, e, runc, "s")
}

func newSeccompFloorTagged(tb testing.TB, e *env, runc, tag string) *floor {
	tb.Helper()
	f := newFloorTagged(tb, e, runc, tag)
	f.seccomp = poddSeccompFilter(tb, f.lower)
	return f
}

// libcontainerRunc returns the version of runc's module in podd's go.mod
// (the libcontainer podd-shim runs) and a runc binary of that version,
// built from the module proxy once per version into the user's cache.
func libcontainerRunc(tb testing.TB) (version, path string) {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/opencontainers/runc").Output()
	if err != nil {
		tb.Fatalf("go list the runc module: %v", err)
	}
	version = strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(cache, "podd-bench", "runc-"+version)
	path = filepath.Join(dir, "runc")
	if _, err := os.Stat(path); err == nil {
		return version, path
	}
	install := exec.Command("go", "install", "-tags", "seccomp", "github.com/opencontainers/runc@"+version)
	install.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=1", "GOFLAGS=")
	install.Dir = os.TempDir() // outside podd's module
	if out, err := install.CombinedOutput(); err != nil {
		tb.Fatalf("build runc %s for the floor: %v: %s", version, err, out)
	}
	return version, path
}

// runcVersion is the first line runc --version prints.
func runcVersion(tb testing.TB, runc string) string {
	tb.Helper()
	out, err := exec.Command(runc, "--version").Output()
	if err != nil {
		tb.Fatalf("%s --version: %v", runc, err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimPrefix(line, "runc version ")
}

// poddSeccompFilter is the seccomp filter podd's spec builder gives the
// container of sleepPod (rootfs: its unpacked image), on this host.
func poddSeccompFilter(tb testing.TB, rootfs string) json.RawMessage {
	tb.Helper()
	var pod corev1.Pod
	if err := yaml.Unmarshal([]byte(sleepPod("floor")), &pod); err != nil {
		tb.Fatal(err)
	}
	bounding, err := spec.HostBoundingSet()
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := spec.Build(spec.Input{
		Pod: &pod, Container: &pod.Spec.Containers[0], ContainerID: "floor", Rootfs: rootfs,
		CgroupParent: "/floor", Sandbox: spec.Sandbox{NetnsPath: "/var/run/netns/floor"},
		Security: spec.HostSecurity{Bounding: bounding, SeccompDefault: true},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(cfg.GetSeccomp()) == 0 {
		tb.Fatal("podd gives the floor's container no seccomp filter")
	}
	return cfg.GetSeccomp()
}

func newFloorTagged(tb testing.TB, e *env, runc, tag string) *floor {
	tb.Helper()
	dir := filepath.Join(e.dir, "floor"+tag)
	f := &floor{tb: tb, e: e, runc: runc, dir: dir, lower: filepath.Join(dir, "lower"), cgroup: e.cgroupParent + "-floor" + tag, tag: tag}
	if err := os.MkdirAll(f.lower, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, d := range cgroupDirs(f.cgroup) {
			removeCgroupTree(d)
		}
	})
	img, err := image.Busybox()
	if err != nil {
		tb.Fatal(err)
	}
	flat := mutate.Extract(img)
	defer flat.Close()
	untar := exec.Command("tar", "-x", "-C", f.lower)
	untar.Stdin = flat
	if out, err := untar.CombinedOutput(); err != nil {
		tb.Fatalf("unpack busybox for the floor: %v: %s", err, out)
	}
	if out, err := exec.Command(runc, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		tb.Fatalf("runc spec: %v: %s", err, out)
	}
	if f.list, err = libcni.ConfListFromBytes([]byte(e.conflist())); err != nil {
		tb.Fatal(err)
	}
	f.cni = libcni.NewCNIConfigWithCacheDir([]string{"/usr/lib/cni"}, filepath.Join(dir, "cni-cache"), nil)
	return f
}

// run starts one floor container and returns how long the start took.
func (f *floor) run(i int) time.Duration {
	f.tb.Helper()
	id := fmt.Sprintf("floor%s%d-%s", f.tag, i, f.e.bridge)
	netns := "pdfl" + f.tag + f.e.bridge[3:] + fmt.Sprint(i)
	bundle := filepath.Join(f.dir, id)
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{rootfs, filepath.Join(bundle, "upper"), filepath.Join(bundle, "work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			f.tb.Fatal(err)
		}
	}
	defer os.RemoveAll(bundle)
	spec, err := os.ReadFile(filepath.Join(f.dir, "config.json"))
	if err != nil {
		f.tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), spec, 0o644); err != nil {
		f.tb.Fatal(err)
	}
	if err := editJSON(filepath.Join(bundle, "config.json"), func(c map[string]any) {
		p := c["process"].(map[string]any)
		p["terminal"] = false
		p["args"] = []string{"sleep", "1000000"}
		c["root"] = map[string]any{"path": "rootfs"}
		linux := c["linux"].(map[string]any)
		linux["cgroupsPath"] = f.cgroup + "/" + id
		if f.seccomp != nil {
			linux["seccomp"] = f.seccomp
		}
		nss := linux["namespaces"].([]any)
		for _, ns := range nss {
			if m := ns.(map[string]any); m["type"] == "network" {
				m["path"] = "/var/run/netns/" + netns
			}
		}
	}); err != nil {
		f.tb.Fatal(err)
	}
	log, err := os.Create(filepath.Join(bundle, "runc.log"))
	if err != nil {
		f.tb.Fatal(err)
	}
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: "/var/run/netns/" + netns, IfName: "eth0"}
	// runc's state where a host keeps it: on a tmpfs (the env's run
	// root, in a benchmark; /run/runc on a host).
	state := filepath.Join(f.e.runRoot, "runc-floor"+f.tag)

	h0 := readHostCPU(f.tb)
	start := time.Now()
	if out, err := exec.Command("ip", "netns", "add", netns).CombinedOutput(); err != nil {
		f.tb.Fatalf("ip netns add: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", netns).Run()
	defer f.cni.DelNetworkList(context.Background(), f.list, rt)
	if _, err := f.cni.AddNetworkList(ctx, f.list, rt); err != nil {
		f.tb.Fatalf("floor CNI ADD: %v", err)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", f.lower, filepath.Join(bundle, "upper"), filepath.Join(bundle, "work"))
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		f.tb.Fatalf("floor overlay mount: %v", err)
	}
	defer unix.Unmount(rootfs, unix.MNT_DETACH)
	defer exec.Command(f.runc, "--root", state, "delete", "-f", id).Run()
	runc := exec.CommandContext(ctx, f.runc, "--root", state, "run", "-d", "--bundle", bundle, id)
	runc.Stdout, runc.Stderr = log, log
	if err := runc.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		f.tb.Fatalf("runc run: %v: %s", err, out)
	}
	took := time.Since(start)
	if i >= 0 {
		f.cpu.add(readHostCPU(f.tb).busyTimeSince(h0))
	}
	return took
}
