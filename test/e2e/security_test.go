package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// userns tries to create a user namespace (the default seccomp profile
// forbids unshare without CAP_SYS_ADMIN) and says whether it could.
const userns = `unshare -U true && echo USERNS-ALLOWED || echo USERNS-DENIED`

// denied reports whether a container's output shows the operation failing
// with EPERM (the filter's answer) and not succeeding.
func denied(out, marker string) bool {
	return strings.Contains(out, marker+"-DENIED") && strings.Contains(out, "Operation not permitted") &&
		!strings.Contains(out, marker+"-ALLOWED")
}

// Issue 7 item 3: RuntimeDefault and an unset profile (seccompDefault is on
// by default) run under the default filter, Unconfined only when asked, and
// an exec'd process gets the container's filter too.
func TestSecurity_SeccompRuntimeDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: seccomp}
spec:
  restartPolicy: Never
  containers:
  - name: runtimedefault
    image: busybox:latest
    securityContext: {seccompProfile: {type: RuntimeDefault}}
    command: ["sh", "-c", "` + userns + `"]
  - name: unset
    image: busybox:latest
    command: ["sh", "-c", "` + userns + `"]
  - name: unconfined
    image: busybox:latest
    securityContext: {seccompProfile: {type: Unconfined}}
    command: ["sh", "-c", "` + userns + `"]
---
apiVersion: v1
kind: Pod
metadata: {name: seccomp-exec}
spec:
  securityContext: {seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "1000"]
    # Ready only while the exec probe cannot create a user namespace.
    readinessProbe: {exec: {command: ["sh", "-c", "! unshare -U true"]}, periodSeconds: 1, timeoutSeconds: 5}
`)
	e.waitForPhase("seccomp", corev1.PodSucceeded, 60*time.Second)
	for _, c := range []string{"runtimedefault", "unset"} {
		if got := e.podctl("logs", "seccomp", "-c", c); !denied(got, "USERNS") {
			t.Errorf("container %s: %q, want unshare to fail with EPERM", c, got)
		}
	}
	if got := strings.TrimSpace(e.podctl("logs", "seccomp", "-c", "unconfined")); got != "USERNS-ALLOWED" {
		t.Errorf("container unconfined: %q, want USERNS-ALLOWED", got)
	}
	e.waitForPod("seccomp-exec", 60*time.Second, "ready (the exec probe runs under the filter)", func(p *corev1.Pod) bool { return isReady(p, "c") })
	if got, _ := e.podctlErr("exec", "seccomp-exec", "-c", "c", "--", "sh", "-c", userns+" 2>&1"); !denied(got, "USERNS") {
		t.Errorf("exec in a RuntimeDefault container: %q, want unshare to fail with EPERM", got)
	}
	if got := e.execIn("seccomp-exec", "c", "grep", "^Seccomp:", "/proc/self/status"); !strings.Contains(got, "2") {
		t.Errorf("exec'd process seccomp mode %q, want 2 (filter)", got)
	}
}

// Issue 7 item 3: with seccompDefault off an unset profile is unconfined.
func TestSecurity_SeccompDefaultOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--seccomp-default=false")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: nodefault}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox:latest, command: ["sh", "-c", "` + userns + `"]}
`)
	e.waitForPhase("nodefault", corev1.PodSucceeded, 60*time.Second)
	if got := strings.TrimSpace(e.podctl("logs", "nodefault")); got != "USERNS-ALLOWED" {
		t.Errorf("unset profile with seccompDefault off: %q, want USERNS-ALLOWED", got)
	}
}

// Issue 7 item 3: a Localhost profile under <root>/seccomp/ is applied; a
// missing one is a CreateContainerConfigError; a path leaving the directory
// is refused naming the field.
func TestSecurity_SeccompLocalhost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := filepath.Join(e.root, "seccomp", "team")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := `{"defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`
	if err := os.WriteFile(filepath.Join(dir, "no-mkdir.json"), []byte(profile), 0o644); err != nil {
		t.Fatal(err)
	}
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: local}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    securityContext: {seccompProfile: {type: Localhost, localhostProfile: team/no-mkdir.json}}
    command: ["sh", "-c", "mkdir /tmp/d && echo MKDIR-ALLOWED || echo MKDIR-DENIED; touch /tmp/f && echo TOUCH-OK"]
---
apiVersion: v1
kind: Pod
metadata: {name: missing}
spec:
  securityContext: {seccompProfile: {type: Localhost, localhostProfile: team/absent.json}}
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "1000"]}
`)
	e.waitForPhase("local", corev1.PodSucceeded, 60*time.Second)
	if got := e.podctl("logs", "local"); !denied(got, "MKDIR") || !strings.Contains(got, "TOUCH-OK") {
		t.Errorf("Localhost profile denying mkdir: %q, want mkdir to fail with EPERM and touch to work", got)
	}
	e.waitForPod("missing", 60*time.Second, "CreateContainerConfigError", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError" &&
			strings.Contains(cs.State.Waiting.Message, "absent.json")
	})
	out, err := e.podctlIn(`apiVersion: v1
kind: Pod
metadata: {name: escape}
spec:
  containers:
  - name: c
    image: busybox:latest
    securityContext: {seccompProfile: {type: Localhost, localhostProfile: ../../etc/profile.json}}
`, "apply", "-f", "-")
	if err == nil || !strings.Contains(out, "spec.containers[0].securityContext.seccompProfile.localhostProfile") {
		t.Errorf("apply with localhostProfile ../../etc/profile.json: err %v, output %q; want a refusal naming the field", err, out)
	}
}

// Issue 7 item 3: AppArmor and SELinux options are refused, never ignored.
func TestSecurity_AppArmorSELinuxRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for field, sc := range map[string]string{
		"spec.securityContext.appArmorProfile":              `securityContext: {appArmorProfile: {type: RuntimeDefault}}`,
		"spec.securityContext.seLinuxOptions":               `securityContext: {seLinuxOptions: {level: "s0:c1,c2"}}`,
		"spec.containers[0].securityContext.seLinuxOptions": `containers: [{name: c, image: busybox:latest, securityContext: {seLinuxOptions: {type: spc_t}}}]`,
	} {
		m := "apiVersion: v1\nkind: Pod\nmetadata: {name: mac}\nspec:\n  " + sc + "\n"
		if !strings.Contains(sc, "containers:") {
			m += "  containers: [{name: c, image: busybox:latest}]\n"
		}
		out, err := e.podctlIn(m, "apply", "-f", "-")
		if err == nil || !strings.Contains(out, field) {
			t.Errorf("apply with %s: err %v, output %q; want a refusal naming %s", sc, err, out, field)
		}
	}
}

// Issue 7 item 2: sysctls outside the kubelet's safe set are refused naming
// the field (and the daemon stays up); safe ones, in either spelling, are set.
func TestSecurity_Sysctls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, name := range []string{"net.foo.bar", "net/../../kernel/core_pattern", "net.core.somaxconn", "kernel.msgmax"} {
		m := `apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  securityContext: {sysctls: [{name: "` + name + `", value: "1"}]}
  containers: [{name: c, image: busybox:latest}]
`
		out, err := e.podctlIn(m, "apply", "-f", "-")
		if err == nil || !strings.Contains(out, "spec.securityContext.sysctls[0].name") {
			t.Errorf("apply with sysctl %s: err %v, output %q; want a refusal naming the field", name, err, out)
		}
	}
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  restartPolicy: Never
  securityContext:
    sysctls:
    - {name: net.ipv4.ip_unprivileged_port_start, value: "100"}
    - {name: net/ipv4/ping_group_range, value: "0 1000"}
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range"]
`)
	e.waitForPhase("good", corev1.PodSucceeded, 60*time.Second)
	if got := strings.Fields(e.podctl("logs", "good")); strings.Join(got, " ") != "100 0 1000" {
		t.Errorf("sysctls seen in the pod %q, want [100 0 1000]", got)
	}
}

// Issue 7 item 2: allowedUnsafeSysctls lets a namespaced unsafe sysctl
// through, by name or by prefix glob.
func TestSecurity_AllowedUnsafeSysctls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--allowed-unsafe-sysctls", "net.core.somaxconn,kernel.msg*")
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: unsafe}
spec:
  restartPolicy: Never
  securityContext:
    sysctls:
    - {name: net.core.somaxconn, value: "1234"}
    - {name: kernel.msgmax, value: "4321"}
  containers:
  - {name: c, image: busybox:latest, command: ["cat", "/proc/sys/net/core/somaxconn", "/proc/sys/kernel/msgmax"]}
`)
	e.waitForPhase("unsafe", corev1.PodSucceeded, 60*time.Second)
	if got := strings.Fields(e.podctl("logs", "unsafe")); strings.Join(got, " ") != "1234 4321" {
		t.Errorf("unsafe sysctls seen in the pod %q, want [1234 4321]", got)
	}
}

// hostBounding returns the capability bounding set of the test process
// (which the daemon inherits).
func hostBounding(t *testing.T) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return 0
}

// Issue 7 item 10: a privileged container gets the host's bounding set (it
// runs on a host that lacks some capability); adding a capability the host
// does not have is refused naming the field.
func TestSecurity_CapabilitiesWithinHostBoundingSet(t *testing.T) {
	t.Parallel()
	const capSysResource = 24
	bnd := hostBounding(t)
	if bnd&(1<<capSysResource) != 0 {
		t.Fatalf("this test needs a host without CAP_SYS_RESOURCE in its bounding set (CapBnd %016x)", bnd)
	}
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:latest
    securityContext: {privileged: true}
    command: ["grep", "^CapEff:", "/proc/self/status"]
`)
	p := e.waitForPod("priv", 60*time.Second, "privileged container finished", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c")
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed ||
			(cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Message != "")
	})
	if p.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("privileged pod did not run: phase %s, %s", p.Status.Phase, describeStates(p))
	}
	want := "CapEff:\t" + strconv.FormatUint(bnd, 16)
	if got := strings.TrimSpace(e.podctl("logs", "priv")); !strings.HasSuffix(got, strconv.FormatUint(bnd, 16)) {
		t.Errorf("privileged container %q, want %q (the host's bounding set)", got, want)
	}
	out, err := e.podctlIn(`apiVersion: v1
kind: Pod
metadata: {name: addcap}
spec:
  containers:
  - name: c
    image: busybox:latest
    securityContext: {capabilities: {add: [NET_ADMIN, SYS_RESOURCE]}}
`, "apply", "-f", "-")
	if err == nil || !strings.Contains(out, "spec.containers[0].securityContext.capabilities.add[1]") || !strings.Contains(out, "SYS_RESOURCE") {
		t.Errorf("apply with capabilities.add SYS_RESOURCE: err %v, output %q; want a refusal naming the field", err, out)
	}
}

// Issue 7 item 2: allowedUnsafeSysctls may name namespaced sysctls only; a
// daemon asked to allow another refuses to start, naming it.
func TestSecurity_AllowedUnsafeSysctlsMustBeNamespaced(t *testing.T) {
	t.Parallel()
	testutil.RequireRoot(t)
	bin := binaries(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "podd"), "--root", filepath.Join(dir, "root"),
		"--run-root", filepath.Join(dir, "run"), "--socket", filepath.Join(dir, "podd.sock"), "--manifests", "",
		"--cgroup-parent", "/pdeunsafe", "--service-cidr", fmt.Sprintf("10.%d.255.0/24", 150+os.Getpid()%50),
		"--allowed-unsafe-sysctls", "net.core.somaxconn,kernel.core_pattern").CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "allowedUnsafeSysctls[1]") ||
		!strings.Contains(string(out), "kernel.core_pattern") || !strings.Contains(string(out), "not namespaced") {
		t.Errorf("podd with kernel.core_pattern allowed: err %v, output %q; want it to refuse to start naming the setting", err, out)
	}
}
