package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// R90, scenario 25: $(VAR) expansion in the command from the container env.
func TestR90_EnvExpansion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: expand}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    env:
    - {name: GREETING, value: "hello-podd"}
    - {name: TWICE, value: "$(GREETING)-$(GREETING) $$(GREETING) $(NOPE)"}
    - name: MY_POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    command: ["sh", "-c", "echo $(GREETING); echo \"$TWICE\"; echo $MY_POD"]
`)
	e.waitForPhase("expand", corev1.PodSucceeded, 30*time.Second)
	out := e.podctl("logs", "expand")
	want := "hello-podd\nhello-podd-hello-podd $(GREETING) $(NOPE)\nexpand\n"
	if out != want {
		t.Errorf("logs %q, want %q", out, want)
	}
}

// R94, scenario 26: a normal pod sees only lo and eth0; a hostNetwork pod sees
// the host's interfaces.
func TestR94_HostNetworkAndPodInterfaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: podnet}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "ls /sys/class/net"]}
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "ls /sys/class/net"]}
`)
	e.waitForPhase("podnet", corev1.PodSucceeded, 30*time.Second)
	e.waitForPhase("hostnet", corev1.PodSucceeded, 30*time.Second)
	if got := strings.Fields(e.podctl("logs", "podnet")); strings.Join(got, " ") != "eth0 lo" {
		t.Errorf("pod interfaces %v, want [eth0 lo]", got)
	}
	hostOut := e.podctl("logs", "hostnet")
	if !strings.Contains(hostOut, e.bridge) {
		t.Errorf("hostNetwork pod interfaces %q do not include the host bridge %s", hostOut, e.bridge)
	}
}

// R94, scenario 27: with shareProcessNamespace one container sees another's
// processes.
func TestR94_ShareProcessNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: sharepid}
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: busybox:latest, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 4242 & wait"]}
  - {name: b, image: busybox:latest, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
`)
	e.waitRunning("sharepid", 30*time.Second)
	out := e.podctl("exec", "sharepid", "-c", "b", "--", "ps")
	if !strings.Contains(out, "sleep 4242") {
		t.Errorf("container b's ps does not show a's process:\n%s", out)
	}
}

// R94, scenario 28: hostPort forwards from the host through portmap.
func TestR94_HostPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := 18080 + int(envSeq.Load()%100)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: hostport}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:latest
    command: ["sh", "-c", "mkdir /w; echo via-hostport > /w/index.html; httpd -f -p 8080 -h /w"]
    ports: [{containerPort: 8080, hostPort: %d}]
`, port))
	e.waitRunning("hostport", 30*time.Second)
	testutil.WaitFor(t, 10*time.Second, "page via the host port", func() (bool, error) {
		body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return strings.Contains(body, "via-hostport"), err
	})
}

// R91: /etc/hostname, /etc/hosts (pod IP with the hostname and FQDN, then
// hostAliases) and /etc/resolv.conf (dnsPolicy None: only dnsConfig).
func TestR91_PodFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: files}
spec:
  restartPolicy: Never
  hostname: myhost
  subdomain: sub
  hostAliases:
  - {ip: "10.9.9.9", hostnames: ["alias.example"]}
  dnsPolicy: None
  dnsConfig:
    nameservers: ["10.53.0.10"]
    searches: ["example.test"]
    options: [{name: ndots, value: "2"}]
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "hostname; cat /etc/hostname /etc/hosts /etc/resolv.conf"]}
`)
	p := e.waitForPhase("files", corev1.PodSucceeded, 30*time.Second)
	out := e.podctl("logs", "files")
	for _, want := range []string{
		"myhost\nmyhost\n",
		p.Status.PodIP + "\tmyhost.sub.default.svc.cluster.local\tmyhost",
		"10.9.9.9\talias.example",
		"nameserver 10.53.0.10", "search example.test", "options ndots:2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pod files lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "nameserver 127.") {
		t.Errorf("dnsPolicy None leaked the host's resolver:\n%s", out)
	}
}
