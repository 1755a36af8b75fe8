package e2e

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// KubeletEnv names the upstream kubelet binary the kubelet tests drive
// (make kubelet-e2e builds it with hack/build-kubelet.sh and sets it);
// without it they skip.
const KubeletEnv = "PODD_KUBELET"

// KubeletLogEnv, when set, names a file the kubelet's log is copied to
// when the test ends (make kubelet-e2e sets it).
const KubeletLogEnv = "PODD_KUBELET_LOG"

// kubeletNode is the node name the kubelet runs as: static pod <name> is
// <name>-podd-e2e.
const kubeletNode = "podd-e2e"

// kubeletNamespace is the shell that runs the kubelet in a mount namespace
// of its own (propagation slave: it sees the host's mounts, the host none
// of its), so that it changes nothing on this host outside the test's
// directory:
//   - its node setup sets six kernel tunables (vm.overcommit_memory=1,
//     kernel.panic_on_oops=1, ...) unless they already hold: files with those
//     values are bound over them, for the kubelet's eyes only;
//   - it makes /var/lib/kubelet/device-plugins and /var/log/containers
//     whatever --root-dir says: /var/lib and /var/log are overlays whose
//     upper layers are on a tmpfs that goes with the namespace.
//
// $1 is the directory for that tmpfs; the rest is the kubelet's command.
const kubeletNamespace = `set -eu
ns=$1; shift
mount -t tmpfs -o mode=0700 podd-kubelet "$ns"
tunable() {
	f=$ns/$(echo "$1" | tr / .)
	printf '%s\n' "$2" > "$f"
	mount --bind "$f" "/proc/sys/$1"
}
tunable vm/overcommit_memory 1
tunable vm/panic_on_oom 0
tunable kernel/panic 10
tunable kernel/panic_on_oops 1
tunable kernel/keys/root_maxkeys 1000000
tunable kernel/keys/root_maxbytes 25000000
overlay() {
	mkdir -p "$ns/$2/upper" "$ns/$2/work"
	mount -t overlay "podd-kubelet-$2" -o "lowerdir=$1,upperdir=$ns/$2/upper,workdir=$ns/$2/work" "$1"
}
overlay /var/lib varlib
overlay /var/log varlog
exec "$@"
`

// kubelet is an upstream kubelet running standalone (no API server, static
// pods from a directory) against an env's CRI socket.
type kubelet struct {
	t         testing.TB
	e         *env
	dir       string
	manifests string
	// port serves the kubelet API (https, anonymous, /pods); healthzPort
	// /healthz over http.
	port, healthzPort int
	bin               string
	args              []string
	cmd               *exec.Cmd
	exited            chan struct{}
	log               *os.File
	client            *http.Client
}

// kubeletBinary returns $PODD_KUBELET, and skips the test when it is unset.
func kubeletBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(KubeletEnv)
	if bin == "" {
		t.Skip("kubelet test: set " + KubeletEnv + " to an upstream kubelet (make kubelet-e2e builds one)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s: %v", KubeletEnv, err)
	}
	return bin
}

// startKubelet starts the kubelet against e's CRI socket, with e's cgroup
// parent as its cgroup root (its QoS cgroups and every pod's are under it),
// and waits for its /healthz. Cleanup stops it and removes the QoS cgroups.
func startKubelet(t *testing.T, e *env, bin string) *kubelet {
	t.Helper()
	k := &kubelet{
		t: t, e: e, dir: filepath.Join(e.dir, "kubelet"),
		port: freePort(t), healthzPort: freePort(t),
		client: &http.Client{
			Timeout:   5 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the kubelet's self-signed cert
		},
	}
	k.manifests = filepath.Join(k.dir, "manifests")
	for _, d := range []string{k.manifests, k.path("root"), k.path("pki"), k.path("pod-logs"), k.path("volume-plugins"), k.path("ns")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	makeCgroupRoot(t, e.cgroupParent)
	conf := k.path("kubelet-config.yaml")
	if err := os.WriteFile(conf, []byte(k.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(k.path("kubelet.log"))
	if err != nil {
		t.Fatal(err)
	}
	k.log = log
	k.args = []string{"--config", conf, "--root-dir", k.path("root"), "--cert-dir", k.path("pki"),
		"--hostname-override", kubeletNode, "--v", "2"}
	k.bin = bin
	t.Cleanup(k.stop)
	k.launch()
	return k
}

// launch starts the kubelet process and waits for its /healthz.
func (k *kubelet) launch() {
	k.t.Helper()
	args := append([]string{"--mount", "--propagation", "slave", "--",
		"sh", "-c", kubeletNamespace, "podd-kubelet-ns", k.path("ns"), k.bin}, k.args...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdout, cmd.Stderr = k.log, k.log
	if err := cmd.Start(); err != nil {
		k.t.Fatalf("start kubelet: %v", err)
	}
	k.cmd, k.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(k.exited)
	testutil.WaitFor(k.t, 60*time.Second, "kubelet /healthz", func() (bool, error) {
		select {
		case <-k.exited:
			k.t.Fatalf("the kubelet exited at start:\n%s", k.logTail(40))
		default:
		}
		resp, err := k.client.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", k.healthzPort))
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Errorf("%s: %s", resp.Status, body)
	})
}

// terminate stops the kubelet process: SIGTERM, SIGKILL after 20 s. The
// pods keep running.
func (k *kubelet) terminate() {
	if k.cmd == nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(20 * time.Second):
		k.cmd.Process.Kill()
		<-k.exited
	}
	k.cmd = nil
}

// restart stops the kubelet and starts it again on the same directories.
func (k *kubelet) restart() {
	k.t.Helper()
	k.terminate()
	k.launch()
}

// makeCgroupRoot makes the kubelet's cgroup root, which it wants in every
// v1 hierarchy before it starts (podd makes its parent only when a pod
// needs it); a v1 cpuset gets its parent's CPUs and memory nodes. The
// env's cleanup removes it.
func makeCgroupRoot(t *testing.T, root string) {
	t.Helper()
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ents {
		if en.Name() == "unified" {
			continue
		}
		d := filepath.Join("/sys/fs/cgroup", en.Name(), root)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("cgroup root: %v", err)
		}
		if en.Name() != "cpuset" {
			continue
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(filepath.Dir(d), f))
			if err == nil {
				err = os.WriteFile(filepath.Join(d, f), v, 0)
			}
			if err != nil {
				t.Fatalf("cgroup root: %s: %v", f, err)
			}
		}
	}
}

func (k *kubelet) path(name string) string { return filepath.Join(k.dir, name) }

// config is the kubelet's configuration: what this host needs
// (../shared/conformance/kubelet/config/kubelet-config.yaml) on ports and
// directories of the test's own.
func (k *kubelet) config() string {
	sock := "unix://" + k.e.criSocket()
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# standalone: no kubeconfig, no API server; static pods only
staticPodPath: %[1]s
fileCheckFrequency: 1s
syncFrequency: 10s
podLogsDir: %[2]s
volumePluginDir: %[3]s
containerRuntimeEndpoint: %[4]s
imageServiceEndpoint: %[4]s
cgroupDriver: cgroupfs
cgroupRoot: %[5]s
# 1.35+ refuses cgroup v1 hosts by default
failCgroupV1: false
failSwapOn: false
# leave the host's iptables alone (KUBE-FIREWALL, KUBE-IPTABLES-HINT)
makeIPTablesUtilChains: false
# the host refuses to lower oom_score_adj: leave the kubelet's own alone
oomScoreAdj: 0
address: 127.0.0.1
port: %[6]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[7]d
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
# offline: never re-pull an image present under another name to verify
# credentials (KEP-2535)
imagePullCredentialsVerificationPolicy: NeverVerify
# imported images cannot be pulled again offline: never collect them
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%%"
  imagefs.available: "1%%"
  nodefs.inodesFree: "1%%"
`, k.manifests, k.path("pod-logs"), k.path("volume-plugins"), sock, k.e.cgroupParent, k.port, k.healthzPort)
}

// writeManifest puts a static pod manifest in place atomically (the kubelet
// polls the directory every second) and returns when it was written.
func (k *kubelet) writeManifest(name, manifest string) time.Time {
	k.t.Helper()
	tmp := filepath.Join(k.dir, name+".yaml.tmp")
	if err := os.WriteFile(tmp, []byte(manifest), 0o644); err != nil {
		k.t.Fatal(err)
	}
	now := time.Now()
	if err := os.Rename(tmp, filepath.Join(k.manifests, name+".yaml")); err != nil {
		k.t.Fatal(err)
	}
	return now
}

func (k *kubelet) removeManifest(name string) time.Time {
	k.t.Helper()
	now := time.Now()
	if err := os.Remove(filepath.Join(k.manifests, name+".yaml")); err != nil {
		k.t.Fatal(err)
	}
	return now
}

// pods is the kubelet's view of its pods (GET /pods), by pod name.
func (k *kubelet) pods() (map[string]*corev1.Pod, error) {
	resp, err := k.client.Get(fmt.Sprintf("https://127.0.0.1:%d/pods", k.port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("kubelet /pods: %s", resp.Status)
	}
	var list corev1.PodList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("kubelet /pods: %w", err)
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// get fetches a path of the kubelet's API and returns the body of a 200.
func (k *kubelet) get(path string) (string, error) {
	resp, err := k.client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", k.port, path))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("kubelet %s: %s: %s", path, resp.Status, body)
	}
	return string(body), err
}

// waitPod polls the kubelet's /pods until cond holds for the static pod
// name (without the node suffix) and returns it.
func (k *kubelet) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	k.t.Helper()
	var got *corev1.Pod
	testutil.WaitFor(k.t, timeout, "kubelet pod "+name+": "+what, func() (bool, error) {
		pods, err := k.pods()
		if err != nil {
			return false, err
		}
		p := pods[name+"-"+kubeletNode]
		if p == nil {
			return false, fmt.Errorf("no pod %s-%s", name, kubeletNode)
		}
		got = p
		return cond(p), fmt.Errorf("phase %s, conditions %v, containers %s", p.Status.Phase, p.Status.Conditions, describeStates(p))
	})
	return got
}

// podReady reports the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rssKB is a process's resident set in KiB.
func rssKB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// kubeletQoSCgroups are the cgroups the kubelet makes under its root and
// keeps while it runs (pods' cgroups go below them).
var kubeletQoSCgroups = []string{"kubepods/besteffort", "kubepods/burstable", "kubepods"}

// stop stops the kubelet (SIGTERM, SIGKILL after 20 s) and removes its QoS
// cgroups (rmdir: a cgroup a pod still uses stays, and the census of the
// env's cleanup reports it). The pods the kubelet leaves running are the
// env cleanup's: it stops podd and removes what podd left.
func (k *kubelet) stop() {
	k.terminate()
	if k.t.Failed() {
		k.t.Logf("kubelet log (%s):\n%s", k.path("kubelet.log"), k.logTail(80))
	}
	k.log.Close()
	if dst := os.Getenv(KubeletLogEnv); dst != "" {
		if data, err := os.ReadFile(k.path("kubelet.log")); err == nil {
			os.WriteFile(dst, data, 0o644)
		}
	}
	// Sandboxes a failed test leaves: stopped and removed through CRI, as
	// the kubelet would have.
	if k.t.Failed() && k.e.cmd != nil {
		k.e.crictlErr("rmp", "--all", "--force")
	}
	for _, d := range cgroupDirs(k.e.cgroupParent) {
		for _, q := range kubeletQoSCgroups {
			syscall.Rmdir(filepath.Join(d, q))
		}
	}
}

func (k *kubelet) logTail(n int) string {
	data, _ := os.ReadFile(k.path("kubelet.log"))
	return tail(string(data), n)
}
