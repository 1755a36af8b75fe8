package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// objectsSecret is the Secret value the test looks for where it must never
// be: describe output and the daemon's log.
const objectsSecret = "hunter2-s3cr3t-value"

var objectsManifest = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
type: Opaque
data:
  password: ` + base64.StdEncoding.EncodeToString([]byte(objectsSecret)) + `
stringData:
  user: admin
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "1000"]}
`

// Issue 10 item 1: Namespace, ConfigMap, Secret and PersistentVolumeClaim
// are applied with pods from one file, stored per namespace (secrets 0600,
// never shown by describe nor logged), survive kill -9, and deleting the
// namespace deletes everything in it, pods included.
func TestConfigAndDataObjects(t *testing.T) {
	e := newEnv(t)
	out := e.apply(objectsManifest)
	for _, want := range []string{"namespace/shop created", "configmap/cfg created", "secret/creds created",
		"persistentvolumeclaim/data created", "pod/web created"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	if out := e.apply(objectsManifest); strings.Count(out, "unchanged") != 5 {
		t.Errorf("second apply: want 5 unchanged, got:\n%s", out)
	}
	out, err := e.podctlIn(strings.Replace(tickerPod("stray"), "name: stray", "name: stray, namespace: nowhere", 1), "apply", "-f", "-")
	if err == nil || !strings.Contains(out, `namespaces "nowhere" not found`) {
		t.Errorf("pod in a missing namespace: err %v, output:\n%s", err, out)
	}
	waitRunningIn(t, e, "shop", "web")

	checkObjects := func() {
		t.Helper()
		expect := func(out string, wants ...string) {
			t.Helper()
			for _, w := range wants {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in:\n%s", w, out)
				}
			}
		}
		expect(e.podctl("get", "ns"), "default", "shop", "Active")
		expect(e.podctl("get", "cm", "-n", "shop"), "NAME", "DATA", "cfg")
		expect(e.podctl("get", "configmap", "cfg", "-n", "shop", "-o", "yaml"), "greeting: hello")
		expect(e.podctl("get", "secrets", "-A"), "NAMESPACE", "shop", "creds", "Opaque", "2")
		expect(e.podctl("get", "secret", "creds", "-n", "shop", "-o", "yaml"),
			"password: "+base64.StdEncoding.EncodeToString([]byte(objectsSecret)), "user: "+base64.StdEncoding.EncodeToString([]byte("admin")))
		expect(e.podctl("get", "pvc", "-n", "shop"), "data", "Bound", "1Gi", "RWO")
		expect(e.podctl("get", "pvc/data", "-n", "shop", "-o", "name"), "persistentvolumeclaim/data")
		expect(e.podctl("get", "pod", "web", "-n", "shop"), "Running")
		desc := e.podctl("describe", "secret", "creds", "-n", "shop")
		expect(desc, "Type:", "Opaque", "password:", "20 bytes", "user:", "5 bytes")
		if strings.Contains(desc, objectsSecret) || strings.Contains(desc, "admin") || strings.Contains(desc, base64.StdEncoding.EncodeToString([]byte(objectsSecret))) {
			t.Errorf("describe secret shows a value:\n%s", desc)
		}
		expect(e.podctl("describe", "cm", "cfg", "-n", "shop"), "greeting:", "hello")
		expect(e.podctl("describe", "pvc", "data", "-n", "shop"), "Status:", "Bound", "Capacity:", "1Gi", "Access Modes:", "RWO")
		expect(e.podctl("describe", "ns", "shop"), "Status:", "Active")
	}
	checkObjects()

	secretFile := filepath.Join(e.root, "namespaces", "shop", "secrets", "creds.json")
	for file, want := range map[string]os.FileMode{secretFile: 0o600, filepath.Join(e.root, "namespaces"): 0o700 | os.ModeDir} {
		st, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", file, st.Mode(), want)
		}
	}
	volume := filepath.Join(e.root, "namespaces", "shop", "volumes", "data")
	if st, err := os.Stat(volume); err != nil || !st.IsDir() {
		t.Fatalf("claim volume %s: %v", volume, err)
	}

	e.killDaemon()
	e.restartDaemon()
	checkObjects()

	e.podctl("delete", "cm", "cfg", "-n", "shop")
	e.podctl("delete", "secret/creds", "-n", "shop")
	e.podctl("delete", "pvc", "data", "-n", "shop")
	for _, args := range [][]string{{"get", "cm", "cfg", "-n", "shop"}, {"get", "secret", "creds", "-n", "shop"}, {"get", "pvc", "data", "-n", "shop"}} {
		if out, err := e.podctlErr(args...); err == nil || !strings.Contains(out, "not found") {
			t.Errorf("podctl %v after delete: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(volume); !os.IsNotExist(err) {
		t.Errorf("claim volume after delete: %v", err)
	}
	if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
		t.Errorf("secret file after delete: %v", err)
	}

	// Deleting the namespace deletes what is in it, its pods through the
	// normal delete path.
	e.apply(objectsManifest)
	if out, err := e.podctlErr("delete", "ns", "default"); err == nil || !strings.Contains(out, "may not be deleted") {
		t.Errorf("delete ns default: %v\n%s", err, out)
	}
	out = e.podctl("delete", "namespace", "shop")
	if !strings.Contains(out, `namespace "shop" deleted`) {
		t.Errorf("delete ns output:\n%s", out)
	}
	if out, err := e.podctlErr("get", "pod", "web", "-n", "shop"); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("pod after its namespace was deleted: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.root, "namespaces", "shop")); !os.IsNotExist(err) {
		t.Errorf("namespace dir after delete: %v", err)
	}
	// delete -f deletes every object of the file, the claim after the pods, the namespace last.
	e.apply(objectsManifest)
	out, err = e.podctlIn(objectsManifest, "delete", "-f", "-")
	want := "configmap \"cfg\" deleted\nsecret \"creds\" deleted\npod \"web\" deleted\npersistentvolumeclaim \"data\" deleted\nnamespace \"shop\" deleted\n"
	if err != nil || out != want {
		t.Errorf("delete -f: %v\n%s\nwant\n%s", err, out, want)
	}
	if logs := e.logBuf.String(); strings.Contains(logs, objectsSecret) || strings.Contains(logs, base64.StdEncoding.EncodeToString([]byte(objectsSecret))) {
		t.Errorf("the daemon logged a secret value")
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("census not empty after the namespace was deleted: %+v", c)
	}
}

// waitRunningIn waits until pod ns/name reports Running through podctl.
func waitRunningIn(t *testing.T, e *env, ns, name string) {
	t.Helper()
	testutil.WaitFor(t, testutil.Scaled(60*time.Second), "pod "+ns+"/"+name+" running", func() (bool, error) {
		out, err := e.podctlErr("get", "pod", name, "-n", ns)
		return err == nil && strings.Contains(out, "Running"), nil
	})
}
