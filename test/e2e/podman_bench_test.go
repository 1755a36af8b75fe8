package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// podmanPeer is the host's podman with a configuration, storage, network
// and temporary directories of its own under the env's directory, the peer
// BenchmarkStartLatency measures `podman kube play` against. Cleanup removes
// its pods, containers, network (bridge, IPAM, CNI cache) and cgroups, even
// when the benchmark fails; the env's cleanup unmounts and removes the rest.
type podmanPeer struct {
	tb      testing.TB
	bin     string
	dir     string
	network string
	bridge  string
	env     []string
}

// podmanParent is where podman with cgroupfs puts pods and conmon.
const podmanParent = "/libpod_parent"

func newPodmanPeer(tb testing.TB, e *env) *podmanPeer {
	tb.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		tb.Fatal("podman is not installed (make bench installs it from Debian)")
	}
	dir := filepath.Join(e.dir, "podman")
	p := &podmanPeer{tb: tb, bin: bin, dir: dir, network: "pdm" + e.bridge[3:]}
	for _, d := range []string{"net", "tmp", "storage", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// What this host needs: runc (the one the floor and podd's peer use),
	// cgroupfs (no systemd), events to a file (no journald), no default
	// ulimits (the host's nofile limit is below podman's default); CNI with
	// the same plugin binaries podd runs.
	conf := fmt.Sprintf(`[containers]
default_ulimits = []

[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = %[1]q

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %[2]q
tmp_dir = %[3]q
`, filepath.Join(dir, "net"), filepath.Join(dir, "events.log"), filepath.Join(dir, "tmp"))
	storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(dir, "storage"), filepath.Join(dir, "run"))
	for name, body := range map[string]string{"containers.conf": conf, "storage.conf": storage} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	p.env = append(os.Environ(), "CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"))
	_, parentErr := os.Stat(filepath.Join("/sys/fs/cgroup/cpu", podmanParent))
	tb.Cleanup(func() { p.cleanup(os.IsNotExist(parentErr)) })

	p.run("load", "-i", busyboxTar(tb))
	// podman 4.3 names the bridge itself (cni-podmanN): read it back.
	p.run("network", "create", "--driver", "bridge", "--subnet", podmanSubnet(e.subnet), p.network)
	p.bridge = strings.TrimSpace(p.run("network", "inspect", "--format", "{{.NetworkInterface}}", p.network))
	return p
}

// podmanSubnet is a /24 beside the env's: third octet 250-254, which envs
// (third octet below 250) never use.
func podmanSubnet(envSubnet string) string {
	o := strings.Split(envSubnet, ".")
	k, _ := strconv.Atoi(o[2])
	return fmt.Sprintf("%s.%s.%d.0/24", o[0], o[1], 250+k%5)
}

// run runs podman and fails the benchmark on an error.
func (p *podmanPeer) run(args ...string) string {
	p.tb.Helper()
	out, err := p.try(args...)
	if err != nil {
		p.tb.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (p *podmanPeer) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// play runs `podman kube play` of the manifest file and returns how long
// it took: podman returns once the pod's containers have started.
func (p *podmanPeer) play(file string) time.Duration {
	p.tb.Helper()
	start := time.Now()
	p.run("kube", "play", "--replace", "--network", p.network, file)
	return time.Since(start)
}

// down removes what play made.
func (p *podmanPeer) down(file string) {
	p.tb.Helper()
	p.run("kube", "down", file)
}

// cleanup removes everything podman made for the benchmark;
// ownParent: the cgroupfs parent did not exist before, so it goes too.
func (p *podmanPeer) cleanup(ownParent bool) {
	p.try("pod", "rm", "--all", "--force", "--time", "0")
	p.try("rm", "--all", "--force", "--time", "0")
	p.try("network", "rm", "--force", p.network)
	if p.bridge != "" {
		exec.Command("ip", "link", "del", p.bridge).Run()
	}
	removeNatChains(p.network)
	os.RemoveAll(filepath.Join("/var/lib/cni/networks", p.network))
	if results, err := filepath.Glob(filepath.Join("/var/lib/cni/results", p.network+"-*")); err == nil {
		for _, r := range results {
			os.Remove(r)
		}
	}
	unmountUnder(p.dir)
	if ownParent {
		for _, d := range cgroupDirs(podmanParent) {
			removeCgroupTree(d)
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mps []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mps = append(mps, f[4])
		}
	}
	for i := len(mps) - 1; i >= 0; i-- {
		syscall.Unmount(mps[i], syscall.MNT_DETACH)
	}
}
