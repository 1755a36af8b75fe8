package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// secretValue is what no log, event or describe output may show.
const secretValue = "s3cr3t-Value-7731"

func appConfig(greeting string) string {
	return `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  greeting: ` + greeting + `
  app.conf: "mode=` + greeting + `"
  1BAD: skipped
`
}

const dbSecret = `apiVersion: v1
kind: Secret
metadata: {name: db}
stringData:
  password: ` + secretValue + `
  user: admin
`

const configPod = `apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: cfg, configMap: {name: app-config}}
  - {name: sec, secret: {secretName: db, items: [{key: password, path: creds/pw, mode: 0400}]}}
  - name: proj
    projected:
      sources:
      - configMap: {name: app-config, items: [{key: greeting, path: cfg/greeting}]}
      - secret: {name: db, items: [{key: user, path: sec/user}]}
      - secret: {name: absent, optional: true}
      - downwardAPI: {items: [{path: podname, fieldRef: {fieldPath: metadata.name}}]}
  containers:
  - name: c
    image: busybox:latest
    command: [sh, -c, "trap 'exit 0' TERM; sleep 1000 & wait"]
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: app-config, key: greeting}}}
    - {name: PW, valueFrom: {secretKeyRef: {name: db, key: password}}}
    - {name: MAYBE, valueFrom: {secretKeyRef: {name: absent, key: k, optional: true}}}
    envFrom:
    - {configMapRef: {name: app-config}}
    - {prefix: DB_, secretRef: {name: db}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: sec, mountPath: /etc/sec}
    - {name: proj, mountPath: /proj}
    - {name: cfg, mountPath: /etc/app.conf, subPath: app.conf}
`

// Issue 10 item 2: a pod mounts a ConfigMap, a Secret (on tmpfs) and a
// projected volume and reads env from both, like the kubelet; an update of
// the ConfigMap reaches the mounted files by the ..data swap, but not the
// subPath mount nor env; the secret's value is in no log, event or
// describe output.
func TestPodsUseConfigMapsAndSecrets(t *testing.T) {
	e := newEnv(t)
	e.apply(appConfig("hello") + "---\n" + dbSecret + "---\n" + configPod)
	e.waitRunning("app", testutil.Scaled(60*time.Second))

	sh := func(script string) string { return strings.TrimSpace(e.execIn("app", "c", "sh", "-c", script)) }
	files := map[string]string{
		"cat /etc/cfg/greeting":                                "hello",
		"readlink /etc/cfg/greeting":                           "..data/greeting",
		"cat /etc/app.conf":                                    "mode=hello",
		"cat /etc/sec/creds/pw":                                secretValue,
		"stat -L -c %a /etc/sec/creds/pw":                      "400",
		"stat -L -c %a /etc/cfg/greeting":                      "644",
		"cat /proj/cfg/greeting":                               "hello",
		"cat /proj/sec/user":                                   "admin",
		"cat /proj/podname":                                    "app",
		"grep ' /etc/sec ' /proc/mounts | cut -d' ' -f3":       "tmpfs",
		"echo $GREETING $PW ${MAYBE-unset} $greeting $DB_user": "hello " + secretValue + " unset hello admin",
		"env | grep -c 1BAD || true":                           "0",
	}
	for cmd, want := range files {
		if got := sh(cmd); got != want {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	e.waitEvent("app", "InvalidEnvironmentVariableNames", "c", "Keys [1BAD] from the EnvFrom configMap default/app-config were skipped", testutil.Scaled(10*time.Second))
	if touched := sh("touch /etc/cfg/x 2>&1 || echo read-only"); !strings.Contains(touched, "read-only") {
		t.Errorf("configMap volume is writable: %s", touched)
	}

	// The update reaches the volume, in one swap, within seconds.
	before := sh("readlink /etc/cfg/..data")
	start := time.Now()
	if out := e.apply(appConfig("updated")); !strings.Contains(out, "configmap/app-config configured") {
		t.Fatalf("apply of the changed ConfigMap printed %q", out)
	}
	testutil.WaitFor(t, testutil.Scaled(10*time.Second), "the update in the mounted file", func() (bool, error) {
		return sh("cat /etc/cfg/greeting") == "updated", nil
	})
	t.Logf("ConfigMap update reached the mounted file in %v", time.Since(start).Round(time.Millisecond))
	if after := sh("readlink /etc/cfg/..data"); after == before || !strings.HasPrefix(after, "..") {
		t.Errorf("..data %q -> %q: want a new timestamped directory", before, after)
	}
	if got := sh("cat /proj/cfg/greeting"); got != "updated" {
		t.Errorf("projected file after the update = %q", got)
	}
	if got := sh("cat /etc/app.conf; echo; echo $GREETING"); got != "mode=hello\nhello" {
		t.Errorf("subPath mount and env after the update = %q, want the values at start", got)
	}

	// The secret's value never shows.
	for what, out := range map[string]string{
		"describe pod":    e.podctl("describe", "pod", "app"),
		"describe secret": e.podctl("describe", "secret", "db"),
		"get secret":      e.podctl("get", "secret", "db"),
		"events":          e.podctl("events"),
		"logs":            e.podctl("logs", "app"),
		"daemon log":      e.logBuf.String(),
	} {
		if strings.Contains(out, secretValue) {
			t.Errorf("%s shows the secret's value:\n%s", what, out)
		}
	}
	e.podctl("delete", "pod", "app")
	e.waitGone("app", testutil.Scaled(30*time.Second))
	if c := e.census(t); !c.empty() {
		t.Errorf("census not empty: %+v", c)
	}
}

// Issue 10 item 2: a missing Secret in env keeps the container waiting
// with CreateContainerConfigError naming it and its key, a missing
// ConfigMap in a volume keeps the pod waiting with an event naming it;
// both proceed once the object is applied.
func TestMissingConfigObjectsWaitThenRecover(t *testing.T) {
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: envwait}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox:latest
    command: [sh, -c, "trap 'exit 0' TERM; sleep 1000 & wait"]
    env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: later, key: token}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: volwait}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: cfg, configMap: {name: later-cfg}}]
  containers:
  - name: c
    image: busybox:latest
    command: [sh, -c, "trap 'exit 0' TERM; sleep 1000 & wait"]
    volumeMounts: [{name: cfg, mountPath: /cfg}]
`)
	configError := func(msg string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			cs := containerStatus(p, "c")
			return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError" &&
				strings.Contains(cs.State.Waiting.Message, msg)
		}
	}
	e.waitForPod("envwait", testutil.Scaled(60*time.Second), "CreateContainerConfigError naming the secret", configError(`secret "later" not found`))
	testutil.WaitFor(t, testutil.Scaled(60*time.Second), "the missing configmap named in the pod's events", func() (bool, error) {
		return strings.Contains(e.podctl("describe", "pod", "volwait"), `configmap "later-cfg" not found`), nil
	})
	if p, err := e.pod("volwait"); err != nil || p.Status.Phase != corev1.PodPending {
		t.Fatalf("pod with a missing configMap: %v %+v", err, p)
	}

	e.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: later}\nstringData: {other: x}\n")
	e.waitForPod("envwait", testutil.Scaled(60*time.Second), "CreateContainerConfigError naming the key", configError("couldn't find key token in Secret default/later"))
	e.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: later}\nstringData: {token: t0k}\n---\n" +
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later-cfg}\ndata: {k: v}\n")
	e.waitRunning("envwait", testutil.Scaled(60*time.Second))
	e.waitRunning("volwait", testutil.Scaled(60*time.Second))
	if got := strings.TrimSpace(e.execIn("envwait", "c", "sh", "-c", "echo $TOKEN")); got != "t0k" {
		t.Errorf("TOKEN = %q", got)
	}
	if got := strings.TrimSpace(e.execIn("volwait", "c", "cat", "/cfg/k")); got != "v" {
		t.Errorf("/cfg/k = %q", got)
	}
	e.podctl("delete", "pod", "envwait")
	e.podctl("delete", "pod", "volwait")
	e.waitGone("envwait", testutil.Scaled(30*time.Second))
	e.waitGone("volwait", testutil.Scaled(30*time.Second))
	if c := e.census(t); !c.empty() {
		t.Errorf("census not empty: %+v", c)
	}
}
