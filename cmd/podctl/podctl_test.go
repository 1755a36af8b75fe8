package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

type result struct {
	code   int
	stdout string
	stderr string
}

// podctl runs the CLI in-process against socket with stdin in.
func podctl(t *testing.T, socket, in string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"--socket", socket}, args...), strings.NewReader(in), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const webYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: httpd
    image: busybox
`

const twoPodsYAML = `apiVersion: v1
kind: Pod
metadata: {name: a, labels: {warn: "spec.containers[0].securityContext.seLinuxOptions is ignored"}}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {containers: [{name: c, image: busybox}]}
`

func TestApply(t *testing.T) {
	_, sock := startFake(t)
	dir := t.TempDir()
	web := writeFile(t, dir, "web.yaml", webYAML)

	r := podctl(t, sock, "", "apply", "-f", web)
	if r.code != 0 || r.stdout != "pod/web created\n" {
		t.Fatalf("first apply = %+v", r)
	}
	r = podctl(t, sock, "", "apply", "-f", web)
	if r.code != 0 || r.stdout != "pod/web unchanged\n" {
		t.Fatalf("second apply = %+v", r)
	}
	r = podctl(t, sock, strings.Replace(webYAML, "busybox", "busybox:1", 1), "apply", "-f", "-")
	if r.code != 0 || r.stdout != "pod/web configured\n" {
		t.Fatalf("apply of a changed spec from stdin = %+v", r)
	}

	mdir := filepath.Join(dir, "manifests")
	if err := os.Mkdir(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, mdir, "1-two.yaml", twoPodsYAML)
	writeFile(t, mdir, "README.md", "not a manifest")
	r = podctl(t, sock, "", "apply", "-f", mdir)
	if r.code != 0 || r.stdout != "pod/a created\npod/b created\n" ||
		r.stderr != "Warning: spec.containers[0].securityContext.seLinuxOptions is ignored\n" {
		t.Fatalf("apply of a directory = %+v", r)
	}

	bad := writeFile(t, dir, "sts.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: d}\n")
	r = podctl(t, sock, "", "apply", "-f", bad, "-f", web)
	if r.code != 1 || !strings.Contains(r.stderr, `Error from server (InvalidArgument): `+bad+`: kind "StatefulSet" is not supported`) ||
		r.stdout != "pod/web configured\n" {
		t.Fatalf("apply of a StatefulSet then a pod = %+v", r)
	}
}

// runningPod is a Running pod with one restarted container.
func runningPod(name, ns string) *corev1.Pod {
	created := metav1.NewTime(time.Now().Add(-5 * time.Minute))
	finished := metav1.NewTime(time.Now().Add(-90 * time.Second))
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), CreationTimestamp: created},
		Spec:       corev1.PodSpec{NodeName: "node1", Containers: []corev1.Container{{Name: "httpd", Image: "busybox"}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      "10.88.0.7",
			PodIPs:     []corev1.PodIP{{IP: "10.88.0.7"}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "httpd", Ready: true, RestartCount: 2,
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: finished}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 1, Reason: "Error", FinishedAt: finished}},
			}},
		},
	}
}

func TestGet(t *testing.T) {
	f, sock := startFake(t)

	r := podctl(t, sock, "", "get", "pods")
	if r.code != 0 || r.stdout != "" || r.stderr != "No resources found in default namespace.\n" {
		t.Fatalf("get of no pods = %+v", r)
	}

	f.addPod(runningPod("web", "default"))
	f.addPod(runningPod("db", "prod"))
	r = podctl(t, sock, "", "get", "pods")
	want := "" +
		"NAME   READY   STATUS    RESTARTS      AGE\n" +
		"web    1/1     Running   2 (90s ago)   5m\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("get pods = %+v\nwant:\n%s", r, want)
	}

	r = podctl(t, sock, "", "get", "pods", "-A", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 ||
		strings.Join(strings.Fields(lines[0]), " ") != "NAMESPACE NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES SOURCE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "default web 1/1 Running 2 (90s ago) 5m 10.88.0.7 node1 <none> <none>") ||
		!strings.HasPrefix(lines[2], "prod ") {
		t.Fatalf("get pods -A -o wide = %+v", r)
	}

	r = podctl(t, sock, "", "get", "pod/db", "-n", "prod", "-o", "yaml")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "apiVersion: v1\nkind: Pod\nmetadata:\n") || !strings.Contains(r.stdout, "name: db\n") {
		t.Fatalf("get pod/db -o yaml = %+v", r)
	}
	r = podctl(t, sock, "", "get", "pods", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"kind": "List"`) || !strings.Contains(r.stdout, `"name": "web"`) {
		t.Fatalf("get pods -o json = %+v", r)
	}
	r = podctl(t, sock, "", "get", "pods", "-o", "name", "-A")
	if r.code != 0 || r.stdout != "pod/web\npod/db\n" {
		t.Fatalf("get pods -o name -A = %+v", r)
	}

	r = podctl(t, sock, "", "get", "pod", "missing")
	if r.code != 1 || r.stderr != "Error from server (NotFound): pods \"missing\" not found\n" {
		t.Fatalf("get of a missing pod = %+v", r)
	}
	r = podctl(t, sock, "", "get", "pod", "web", "missing")
	if r.code != 1 || !strings.Contains(r.stdout, "web ") || !strings.Contains(r.stderr, `pods "missing" not found`) {
		t.Fatalf("get of one present and one missing pod = %+v", r)
	}
	r = podctl(t, sock, "", "get", "statefulsets")
	if r.code != 1 || !strings.Contains(r.stderr, `error: the server doesn't have a resource type "statefulsets"`) {
		t.Fatalf("get statefulsets = %+v", r)
	}
	r = podctl(t, sock, "", "get", "pods", "-o", "table")
	if r.code != 1 || !strings.Contains(r.stderr, "unable to match a printer") {
		t.Fatalf("get -o table = %+v", r)
	}
}

func TestGet_Watch(t *testing.T) {
	f, sock := startFake(t)
	f.addPod(runningPod("web", "default"))
	r := podctl(t, sock, "", "get", "pods", "-w")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	// Header and the listed row; the replayed ADDED event is skipped; then
	// a row for MODIFIED and one for DELETED.
	if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME ") ||
		!strings.Contains(lines[1], "Running") || !strings.Contains(lines[2], "Succeeded") || !strings.Contains(lines[3], "Succeeded") {
		t.Fatalf("get pods -w = %+v", r)
	}
	if strings.Index(lines[0], "STATUS") != strings.Index(lines[2], "Succeeded") {
		t.Errorf("watch rows not aligned with the header:\n%s", r.stdout)
	}
}

func TestDelete(t *testing.T) {
	f, sock := startFake(t)
	f.addPod(runningPod("web", "default"))
	f.addPod(runningPod("a", "default"))
	f.addPod(runningPod("b", "default"))
	f.addPod(runningPod("static", "default"))
	f.static[key("default", "static")] = "/etc/podd/manifests/static.yaml"

	r := podctl(t, sock, "", "delete", "pod", "web")
	if r.code != 0 || r.stdout != "pod \"web\" deleted\n" {
		t.Fatalf("delete pod web = %+v", r)
	}
	if d := f.deletes[0]; !d.GetWait() || d.GracePeriodSeconds != nil || d.GetForce() || d.GetNamespace() != "default" {
		t.Errorf("delete request = %+v", d)
	}

	r = podctl(t, sock, "", "delete", "pod/web", "--grace-period", "0", "--wait=false")
	if r.code != 1 || r.stderr != "Error from server (NotFound): pods \"web\" not found\n" {
		t.Fatalf("delete of a missing pod = %+v", r)
	}
	if d := f.deletes[1]; d.GracePeriodSeconds == nil || *d.GracePeriodSeconds != 0 || d.GetWait() {
		t.Errorf("delete --grace-period 0 --wait=false request = %+v", d)
	}
	r = podctl(t, sock, "", "delete", "pod", "web", "--ignore-not-found")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("delete --ignore-not-found = %+v", r)
	}

	dir := t.TempDir()
	r = podctl(t, sock, "", "delete", "-f", writeFile(t, dir, "two.yaml", twoPodsYAML))
	if r.code != 0 || r.stdout != "pod \"a\" deleted\npod \"b\" deleted\n" {
		t.Fatalf("delete -f = %+v", r)
	}

	r = podctl(t, sock, "", "delete", "pod", "static")
	if r.code != 1 || !strings.Contains(r.stderr, "Error from server (FailedPrecondition): pod \"static\" is a static pod") {
		t.Fatalf("delete of a static pod without --force = %+v", r)
	}
	r = podctl(t, sock, "", "delete", "pod", "static", "--force")
	if r.code != 0 || r.stdout != "pod \"static\" force deleted\n" || !strings.HasPrefix(r.stderr, "Warning: Immediate deletion") {
		t.Fatalf("delete --force = %+v", r)
	}
	if d := f.deletes[len(f.deletes)-1]; !d.GetForce() || d.GracePeriodSeconds == nil || *d.GracePeriodSeconds != 0 {
		t.Errorf("delete --force request = %+v", d)
	}
}

func TestLogs(t *testing.T) {
	f, sock := startFake(t)
	pod := runningPod("web", "default")
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "side"})
	f.addPod(pod)

	r := podctl(t, sock, "", "logs", "web")
	if r.code != 0 || r.stdout != "httpd: line 1\nhttpd: line 2\n" ||
		r.stderr != "Defaulted container \"httpd\" out of: httpd, side\n" {
		t.Fatalf("logs web = %+v", r)
	}
	if l := f.logs[0]; l.GetTailLines() != -1 || l.GetFollow() || l.GetPrevious() || l.GetTimestamps() {
		t.Errorf("default logs request = %+v", l)
	}
	r = podctl(t, sock, "", "logs", "pod/web", "-c", "side", "-f", "-p", "--tail", "5", "--timestamps")
	if r.code != 0 || r.stdout != "side: line 1\nside: line 2\n" {
		t.Fatalf("logs -c side = %+v", r)
	}
	if l := f.logs[1]; l.GetContainer() != "side" || l.GetTailLines() != 5 || !l.GetFollow() || !l.GetPrevious() || !l.GetTimestamps() {
		t.Errorf("logs request = %+v", l)
	}
	r = podctl(t, sock, "", "logs", "web", "-c", "nope")
	if r.code != 1 || r.stderr != "error: container nope is not valid for pod web out of: httpd, side\n" {
		t.Fatalf("logs of a missing container = %+v", r)
	}
}

func TestExec(t *testing.T) {
	f, sock := startFake(t)
	f.addPod(runningPod("web", "default"))

	r := podctl(t, sock, "", "exec", "web", "--", "echo", "hello", "world")
	if r.code != 0 || r.stdout != "hello world\n" {
		t.Fatalf("exec echo = %+v", r)
	}
	if s := f.execs[0]; s.GetContainer() != "httpd" || s.GetStdin() || s.GetTty() || s.GetName() != "web" {
		t.Errorf("exec start = %+v", s)
	}

	r = podctl(t, sock, "", "exec", "web", "--", "exit", "3")
	if r.code != 3 || r.stderr != "command terminated with exit code 3\n" {
		t.Fatalf("exec exit 3 = %+v", r)
	}
	r = podctl(t, sock, "", "exec", "web", "--", "fail")
	if r.code != 1 || r.stderr != "boom\ncommand terminated with exit code 1\n" {
		t.Fatalf("exec fail = %+v", r)
	}

	r = podctl(t, sock, "some input\nmore\n", "exec", "-i", "web", "--", "cat")
	if r.code != 0 || r.stdout != "some input\nmore\n" || !f.closed {
		t.Fatalf("exec -i cat = %+v (close_stdin seen: %v)", r, f.closed)
	}
	r = podctl(t, sock, "", "exec", "-it", "web", "--", "echo", "x")
	if r.code != 0 || r.stderr != "Unable to use a TTY - input is not a terminal or the right kind of file\n" {
		t.Fatalf("exec -t without a terminal = %+v", r)
	}

	r = podctl(t, sock, "", "exec", "nope", "--", "echo")
	if r.code != 1 || r.stderr != "Error from server (NotFound): pods \"nope\" not found\n" {
		t.Fatalf("exec in a missing pod = %+v", r)
	}
	r = podctl(t, sock, "", "exec", "web", "-c", "zz", "--", "echo")
	if r.code != 1 || r.stderr != "error: container zz is not valid for pod web out of: httpd\n" {
		t.Fatalf("exec in a missing container = %+v", r)
	}
	done := runningPod("done", "default")
	done.Status.Phase = corev1.PodSucceeded
	f.addPod(done)
	r = podctl(t, sock, "", "exec", "done", "--", "echo")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot exec into a container in a completed pod; current phase is Succeeded") {
		t.Fatalf("exec in a completed pod = %+v", r)
	}
}

func TestDescribeAndEvents(t *testing.T) {
	f, sock := startFake(t)
	f.addPod(runningPod("web", "default"))
	f.static[key("default", "web")] = "/etc/podd/manifests/web.yaml"
	now := time.Now()
	f.events = []*poddv1.Event{
		{Namespace: "default", Pod: "web", Uid: "uid-web", Type: "Normal", Reason: "Scheduled", Count: 1,
			Message: "Successfully assigned default/web to node1", FirstTimestampUnixNano: now.Add(-5 * time.Minute).UnixNano(),
			LastTimestampUnixNano: now.Add(-5 * time.Minute).UnixNano()},
		{Namespace: "default", Pod: "web", Uid: "uid-old", Type: "Normal", Reason: "Killing", Count: 1,
			Message: "from an earlier pod of that name", FirstTimestampUnixNano: now.Add(-time.Hour).UnixNano()},
		{Namespace: "default", Pod: "web", Uid: "uid-web", Type: "Warning", Reason: "BackOff", Object: "spec.containers{httpd}",
			Count: 3, Message: "Back-off restarting failed container httpd in pod web",
			FirstTimestampUnixNano: now.Add(-100 * time.Second).UnixNano(), LastTimestampUnixNano: now.Add(-10 * time.Second).UnixNano()},
	}

	r := podctl(t, sock, "", "describe", "pod", "web")
	got := strings.Join(strings.Fields(r.stdout), " ")
	for _, want := range []string{
		"Name: web Namespace: default Node: node1/",
		"Static: /etc/podd/manifests/web.yaml",
		"Restart Count: 2",
		"Normal Scheduled 5m podd Successfully assigned default/web to node1",
		"Warning BackOff 10s (x3 over 100s) podd Back-off restarting failed container httpd in pod web",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 || strings.Contains(r.stdout, "earlier pod") {
		t.Errorf("describe = %+v", r)
	}

	r = podctl(t, sock, "", "events", "web")
	want := "" +
		"LAST SEEN           TYPE      REASON      OBJECT          MESSAGE\n" +
		"60m                 Normal    Killing     pod/web         from an earlier pod of that name\n" +
		"5m                  Normal    Scheduled   pod/web         Successfully assigned default/web to node1\n" +
		"10s (x3 over 100s)  Warning   BackOff     pod/web/httpd   Back-off restarting failed container httpd in pod web\n"
	if r.code != 0 || strings.Join(strings.Fields(r.stdout), " ") != strings.Join(strings.Fields(want), " ") {
		t.Fatalf("events = %+v\nwant:\n%s", r, want)
	}
	r = podctl(t, sock, "", "events", "-n", "other")
	if r.code != 0 || r.stderr != "No events found in other namespace.\n" {
		t.Fatalf("events in an empty namespace = %+v", r)
	}
}

func TestImagesAndVersion(t *testing.T) {
	f, sock := startFake(t)
	r := podctl(t, sock, "", "image", "import", "busybox.tar", "--name", "busybox:latest")
	if r.code != 0 || r.stdout != "Loaded image: busybox:latest\n" {
		t.Fatalf("image import = %+v", r)
	}
	if p := f.imports[0].GetPath(); !filepath.IsAbs(p) || filepath.Base(p) != "busybox.tar" {
		t.Errorf("import path %q is not absolute", p)
	}
	f.images[0].Size, f.images[0].CreatedUnix = 4261550, time.Now().Add(-15*24*time.Hour).Unix()
	r = podctl(t, sock, "", "images")
	want := "REPOSITORY   TAG      IMAGE ID       CREATED       SIZE\n" +
		"busybox      latest   0123456789ab   2 weeks ago   4.26MB\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("images = %+v\nwant:\n%s", r, want)
	}
	r = podctl(t, sock, "", "pull", "localhost:5000/app:1")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error from server (Unavailable): pull localhost:5000/app:1") {
		t.Fatalf("pull from an http registry = %+v", r)
	}
	// Not a terminal: a line per layer state, no bars.
	r = podctl(t, sock, "", "pull", "--insecure", "localhost:5000/app:1")
	if want := "0123456789ab: Waiting\n0123456789ab: Downloading\n0123456789ab: Pull complete\nImage is up to date for sha256:feed\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("pull --insecure = %+v, want stdout\n%s", r, want)
	}
	r = podctl(t, sock, "", "pull", "old/app:1")
	if r.code != 0 || r.stdout != "Image is up to date for sha256:feed\n" {
		t.Fatalf("pull from a daemon without progress = %+v", r)
	}
	r = podctl(t, sock, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Client Version: ") || !strings.Contains(r.stdout, "Server Version: v9.9.9\n") {
		t.Fatalf("version = %+v", r)
	}
}

func TestRemoveAndPruneImages(t *testing.T) {
	f, sock := startFake(t)
	for _, n := range []string{"a:1", "b:1", "c:1"} {
		if r := podctl(t, sock, "", "image", "import", "x.tar", "--name", n); r.code != 0 {
			t.Fatalf("import = %+v", r)
		}
	}
	r := podctl(t, sock, "", "rmi", "a:1", "in-use", "nope")
	if r.code != 1 || r.stdout != "Untagged: a:1\nDeleted: sha256:dead\n" {
		t.Fatalf("rmi = %+v", r)
	}
	wantErr := "Error from server (FailedPrecondition): image \"in-use\" is in use by pod default/web: delete the pod first\n" +
		"Error from server (NotFound): remove image \"nope\": image not found\n"
	if r.stderr != wantErr {
		t.Errorf("rmi stderr = %q, want %q", r.stderr, wantErr)
	}
	if r := podctl(t, sock, "", "image", "rm", "b:1"); r.code != 0 || !strings.Contains(r.stdout, "Untagged: b:1") {
		t.Fatalf("image rm = %+v", r)
	}
	r = podctl(t, sock, "", "image", "prune")
	if r.code != 0 || r.stdout != "Untagged: c:1\nDeleted: sha256:dead\nTotal: 1 images, 1 unpacked layers removed\n" {
		t.Fatalf("image prune = %+v", r)
	}
	if len(f.images) != 0 {
		t.Errorf("images left: %v", f.images)
	}
	if r := podctl(t, sock, "", "rmi"); r.code == 0 {
		t.Errorf("rmi without a name = %+v, want an error", r)
	}
}

func TestSocket_NotRunningAndEnv(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.sock")
	r := podctl(t, missing, "", "get", "pods")
	if r.code != 1 || !strings.Contains(r.stderr, "error: cannot connect to podd at unix://"+missing+": is the daemon running?") {
		t.Fatalf("get with no daemon = %+v", r)
	}
	r = podctl(t, missing, "", "version")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "Client Version: ") {
		t.Fatalf("version with no daemon = %+v", r)
	}

	_, sock := startFake(t)
	t.Setenv("PODD_SOCKET", sock)
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"get", "pods"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("get with PODD_SOCKET = %d, %s", code, errOut.String())
	}
	// The flag wins over the environment.
	if code := run(context.Background(), []string{"--socket", missing, "get", "pods"}, strings.NewReader(""), &out, &errOut); code != 1 {
		t.Fatalf("--socket did not override PODD_SOCKET (exit %d)", code)
	}
}

// `delete -f` of many pods asks for all deletions at once, as kubectl
// deletes every object and then waits: one request after the other, each
// waiting for its pod to be gone (--wait, the default), took the sum of
// every pod's grace period, and even with --wait=false the daemon's writes
// came one after the other (issue 13: 3.3 s of a 200-pod delete). The
// output keeps the manifest's order.
func TestDeleteManyPodsAtOnce(t *testing.T) {
	f, sock := startFake(t)
	var manifest strings.Builder
	var want strings.Builder
	for i := range 20 {
		name := fmt.Sprintf("p%02d", i)
		f.addPod(runningPod(name, "default"))
		fmt.Fprintf(&manifest, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: [{name: c, image: busybox}]}\n", name)
		fmt.Fprintf(&want, "pod %q deleted\n", name)
	}
	f.deleteHold = make(chan struct{})
	go func() {
		// Let the deletions go once several wait at once (or after a
		// while, for the failure to show).
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			f.mu.Lock()
			n := f.deleting
			f.mu.Unlock()
			if n >= 8 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(f.deleteHold)
	}()
	r := podctl(t, sock, "", "delete", "-f", writeFile(t, t.TempDir(), "many.yaml", manifest.String()))
	if r.code != 0 || r.stdout != want.String() {
		t.Fatalf("delete -f of 20 pods = %+v", r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mostDeleting < 8 {
		t.Errorf("at most %d deletions were in flight at once; want them asked for together", f.mostDeleting)
	}
	if len(f.pods) != 0 {
		t.Errorf("pods left: %v", f.pods)
	}
}
