package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// kubeletProbePod is the reference pod of ../shared/conformance/kubelet
// (its figures were measured with containerd): a busybox sleeping, an exec
// readiness probe. Each run is a pod of its own name: the kubelet starts a
// static pod only once the last of its name is gone, which takes it up
// to a resync period (10 s) after its sandbox is removed.
func kubeletProbePod(run int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: bb%d, namespace: default}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: bb
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["cat", "/etc/passwd"]}
      periodSeconds: 2
`, run)
}

// kubeletWebPod: an init container writes the page into an emptyDir;
// httpd serves it, an httpGet probe makes the pod ready, and a preStop
// hook leaves a mark in a hostPath directory. The pod is Guaranteed (CPU
// and memory limits); its image is pulled from a registry on 127.0.0.1 at
// every start (imagePullPolicy Always).
func kubeletWebPod(image, outDir string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 5
  volumes:
  - {name: www, emptyDir: {}}
  - {name: out, hostPath: {path: %[2]s, type: Directory}}
  initContainers:
  - name: init
    image: %[1]s
    imagePullPolicy: Always
    command: ["sh", "-c", "echo hello from $(hostname) > /www/index.html"]
    resources: {limits: {cpu: 200m, memory: 64Mi}}
    volumeMounts: [{name: www, mountPath: /www}]
  containers:
  - name: web
    image: %[1]s
    imagePullPolicy: Always
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    resources: {limits: {cpu: 200m, memory: 64Mi}}
    ports: [{containerPort: 8080}]
    volumeMounts: [{name: www, mountPath: /www}, {name: out, mountPath: /out}]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop of $(hostname) > /out/prestop"]}
`, image, outDir)
}

// kubeletCrashPod: a container that exits 1 under restartPolicy Always.
const kubeletCrashPod = `apiVersion: v1
kind: Pod
metadata: {name: crash, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Always
  containers:
  - name: crash
    image: busybox:latest
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo crashing; echo bye > /dev/termination-log; exit 1"]
`

// kubeletPods are the static pods of the kubelet test that run to its end.
var kubeletPods = []string{"web", "crash"}

// Issue 9, kubelet slice: an upstream kubelet (make kubelet-e2e builds
// v1.37.2) runs standalone on podd's CRI socket. It brings a web pod (init
// container, httpGet readiness, preStop hook) to running and ready and
// restarts a crashing container with growing back-off; a kill -9 of podd
// and a restart of the kubelet change nothing; after a reboot the kubelet
// runs the pods again in new sandboxes; when the manifests are removed it
// tears everything down through podd, which leaves nothing on the host.
func TestKubeletRunsStaticPodsOnPodd(t *testing.T) {
	bin := kubeletBinary(t)
	t.Parallel()
	e := newEnv(t)
	reg := mirrorRegistry(t, "web")
	outDir := filepath.Join(e.dir, "out")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	kStart := time.Now()
	k := startKubelet(t, e, bin)
	t.Logf("kubelet healthy %v after its start", time.Since(kStart).Round(time.Millisecond))

	// The reference pod alone first, as containerd's figures were taken.
	bb := measureReferencePod(t, e, k, 5)

	t0 := k.writeManifest("web", kubeletWebPod(reg+"/test/web:v1", outDir))
	k.writeManifest("crash", kubeletCrashPod)
	webRunning := e.waitRunningInCRI("web", 120*time.Second).Sub(t0)
	web := k.waitPod("web", 60*time.Second, "Ready", podReady)
	webReady := time.Since(t0)
	checkWebPod(t, e, web)
	steady := e.runningContainers()

	// podd crashes under the kubelet: afterwards CRI answers as before, so
	// the kubelet restarts nothing and keeps driving the crashing pod.
	e.killDaemon()
	e.restartDaemon()
	checkCrashBackOff(t, e, k)
	checkStatsSummary(t, k)
	checkKubeletRestartKeepsPods(t, e, k, steady)
	kubeletRSS, poddRSS := rssKB(k.cmd.Process.Pid), rssKB(e.cmd.Process.Pid)
	rebootReady := checkRebootMakesNewSandboxes(t, e, k)
	if t.Failed() {
		return
	}
	stopped, removed := checkTeardown(t, e, k, outDir)
	t.Logf("figures (ms): bb (exec probe, median of %d) file→running %d, →ready %d, delete→sandbox stopped %d; "+
		"web (init, pull, httpGet probe) file→running %d, →ready %d; reboot→web ready %d; delete→sandbox stopped web %d crash %d; "+
		"delete→every sandbox removed %d; RSS kubelet %d MiB, podd %d MiB (2 pods)",
		len(bb.running), median(bb.running).Milliseconds(), median(bb.ready).Milliseconds(), median(bb.stopped).Milliseconds(),
		webRunning.Milliseconds(), webReady.Milliseconds(), rebootReady.Milliseconds(),
		stopped["web"].Milliseconds(), stopped["crash"].Milliseconds(), removed.Milliseconds(), kubeletRSS/1024, poddRSS/1024)
	// The env's cleanup stops podd and takes the census once more, with the
	// kubelet stopped and its QoS cgroups removed.
}

// lifecycleTimes are the figures of one pod's runs.
type lifecycleTimes struct{ running, ready, stopped []time.Duration }

// measureReferencePod runs the reference pod runs times, one after the
// other: manifest written → container running (crictl) → pod Ready (the
// kubelet), manifest removed → sandbox stopped. The first run checks the
// container's process (BestEffort).
func measureReferencePod(t *testing.T, e *env, k *kubelet, runs int) lifecycleTimes {
	var lt lifecycleTimes
	for i := range runs {
		name := fmt.Sprintf("bb%d", i)
		t0 := k.writeManifest(name, kubeletProbePod(i))
		lt.running = append(lt.running, e.waitRunningInCRI("bb", 120*time.Second).Sub(t0))
		p := k.waitPod(name, 60*time.Second, "Ready", podReady)
		lt.ready = append(lt.ready, time.Since(t0))
		if i == 0 {
			checkKubeletContainerProcess(t, e, e.runningContainers()["bb"], p, bestEffort)
		}
		td := k.removeManifest(name)
		testutil.WaitFor(t, 60*time.Second, "the sandbox of "+name+" stopped", func() (bool, error) {
			_, st := e.sandboxOf(name)
			return st != "SANDBOX_READY", nil
		})
		lt.stopped = append(lt.stopped, time.Since(td))
	}
	t.Logf("reference pod: file→running %v, →ready %v, delete→sandbox stopped %v", lt.running, lt.ready, lt.stopped)
	return lt
}

// checkKubeletRestartKeepsPods: a new kubelet finds its pods through CRI
// (labels and annotations, the restart count among them) and keeps them:
// the running containers are those of before and no pod got a new
// sandbox. It has forgotten the back-off, so the crashing container
// starts again at once: the kubelet has synced its pods by then.
func checkKubeletRestartKeepsPods(t *testing.T, e *env, k *kubelet, steady map[string]string) {
	crashAttempt := containerStatus(k.waitPod("crash", 10*time.Second, "listed", func(*corev1.Pod) bool { return true }), "crash").RestartCount
	k.restart()
	k.waitPod("crash", 60*time.Second, "restarted by the new kubelet", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "crash")
		return cs != nil && cs.RestartCount > crashAttempt
	})
	web := k.waitPod("web", 60*time.Second, "Ready after the kubelet's restart", podReady)
	if got := e.runningContainers(); got["web"] != steady["web"] {
		t.Errorf("running containers after podd's crash and the kubelet's restart %v, before %v", got, steady)
	}
	if cs := containerStatus(web, "web"); cs == nil || cs.RestartCount != 0 || cs.ContainerID != "podd://"+steady["web"] {
		t.Errorf("web after podd's crash and the kubelet's restart: %+v", cs)
	}
	for _, n := range kubeletPods {
		if sbs := e.crictlPods("--label", "io.kubernetes.pod.name="+n+"-"+kubeletNode); len(sbs) != 1 {
			t.Errorf("pod %s has sandboxes %v, want the one it started with", n, sbs)
		}
	}
}

// checkRebootMakesNewSandboxes: after a reboot podd lists every CRI
// sandbox NotReady (as containerd does), and the kubelet, started again,
// runs each pod in a new sandbox: the init container again, then the web
// page on the new pod IP. It returns how long the web pod took to be
// Ready from the kubelet's start.
func checkRebootMakesNewSandboxes(t *testing.T, e *env, k *kubelet) time.Duration {
	old := map[string]string{}
	for _, n := range kubeletPods {
		old[n], _ = e.sandboxOf(n)
	}
	k.terminate()
	e.killDaemon()
	simulateReboot(t, e)
	makeCgroupRoot(t, e.cgroupParent) // the kubelet's cgroup root went with the reboot
	e.restartDaemon()
	for n, id := range old {
		if st := e.inspectp(id).Status.State; st != "SANDBOX_NOTREADY" {
			t.Errorf("after the reboot the sandbox of %s is %s", n, st)
		}
	}
	t0 := time.Now()
	k.launch()
	web := k.waitPod("web", 120*time.Second, "Ready after the reboot", func(p *corev1.Pod) bool {
		id, st := e.sandboxOf("web")
		return podReady(p) && id != old["web"] && st == "SANDBOX_READY"
	})
	ready := time.Since(t0)
	for _, n := range kubeletPods {
		if id, st := e.sandboxOf(n); id == old[n] || st != "SANDBOX_READY" {
			k.waitPod(n, 60*time.Second, "a new sandbox", func(*corev1.Pod) bool {
				id, st := e.sandboxOf(n)
				return id != old[n] && st == "SANDBOX_READY"
			})
		}
	}
	if body := fetchPage(t, web.Status.PodIP); body != "hello from web-"+kubeletNode+"\n" {
		t.Errorf("after the reboot the pod IP %s served %q", web.Status.PodIP, body)
	}
	return ready
}

// checkTeardown removes every manifest at once: the kubelet stops the
// sandboxes (after the preStop hook and the grace period) and removes them
// at its next cleanup of dead pods (the old sandboxes of the reboot too);
// then nothing is left on the host but the kubelet's QoS cgroups. It
// returns when each pod's sandbox stopped and when all were removed.
func checkTeardown(t *testing.T, e *env, k *kubelet, outDir string) (map[string]time.Duration, time.Duration) {
	var td time.Time
	for _, n := range kubeletPods {
		td = k.removeManifest(n)
	}
	stopped := map[string]time.Duration{}
	testutil.WaitFor(t, 120*time.Second, "every sandbox stopped", func() (bool, error) {
		for _, n := range kubeletPods {
			if _, ok := stopped[n]; ok {
				continue
			}
			if _, st := e.sandboxOf(n); st != "SANDBOX_READY" {
				stopped[n] = time.Since(td)
			}
		}
		return len(stopped) == len(kubeletPods), fmt.Errorf("stopped: %v", stopped)
	})
	testutil.WaitFor(t, 180*time.Second, "crictl pods and ps empty", func() (bool, error) {
		pods := e.crictlPods()
		ctrs := e.criContainers("")
		return len(pods)+len(ctrs) == 0, fmt.Errorf("pods %v, %d containers", pods, len(ctrs))
	})
	removed := time.Since(td)
	if data, err := os.ReadFile(filepath.Join(outDir, "prestop")); err != nil || string(data) != "prestop of web-"+kubeletNode+"\n" {
		t.Errorf("the preStop hook's mark: %q, %v", data, err)
	}
	// The kubelet removes a pod's cgroup once the pod is gone.
	testutil.WaitFor(t, 60*time.Second, "nothing left of the pods with the kubelet running", func() (bool, error) {
		c := e.census(t)
		c.Cgroups = slices.DeleteFunc(c.Cgroups, func(p string) bool {
			return slices.ContainsFunc(kubeletQoSCgroups, func(q string) bool { return strings.HasSuffix(p, "/"+q) })
		})
		return c.empty(), fmt.Errorf("%+v", c)
	})
	return stopped, removed
}

// fetchPage GETs port 8080 of a pod IP from the host.
func fetchPage(t *testing.T, ip string) string {
	t.Helper()
	resp, err := http.Get("http://" + ip + ":8080/")
	if err != nil {
		t.Fatalf("fetch from the pod IP: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the pod IP answered %s", resp.Status)
	}
	return string(body)
}
