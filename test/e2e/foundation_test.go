package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 5
  volumes:
  - name: www
    emptyDir: {}
  containers:
  - name: httpd
    image: busybox:latest
    command: ["sh", "-c", "echo hello-from-emptydir > /www/index.html; echo httpd-up; exec httpd -f -p 8080 -h /www"]
    volumeMounts:
    - {name: www, mountPath: /www}
  - name: client
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do wget -qO- http://127.0.0.1:8080/ && echo; sleep 0.3; done & wait"]
`

// httpGet fetches url from the host with a short timeout.
func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Shared netns (R94 basics) and a shared emptyDir (R92): the client reaches
// the server on 127.0.0.1 and reads the page the server wrote into the volume;
// the host reaches the pod IP over the CNI bridge; logs show both containers.
func TestSharedNetnsEmptyDirLogsAndHostAccess(t *testing.T) {
	e := newEnv(t)
	e.apply(webPod)
	p := e.waitRunning("web", 60*time.Second)
	if p.Status.PodIP == "" {
		t.Fatal("no pod IP in status")
	}
	testutil.WaitFor(t, 20*time.Second, "client log shows the page", func() (bool, error) {
		out, err := e.podctlErr("logs", "web", "-c", "client")
		return strings.Contains(out, "hello-from-emptydir"), err
	})
	if out := e.podctl("logs", "web", "-c", "httpd"); !strings.Contains(out, "httpd-up") {
		t.Fatalf("httpd log = %q", out)
	}
	testutil.WaitFor(t, 10*time.Second, "host fetches the page from the pod IP", func() (bool, error) {
		body, err := httpGet("http://" + p.Status.PodIP + ":8080/")
		return strings.Contains(body, "hello-from-emptydir"), err
	})
	wide := e.podctl("get", "pods", "-o", "wide")
	if !strings.Contains(wide, p.Status.PodIP) || !strings.Contains(wide, "2/2") {
		t.Fatalf("get pods -o wide:\n%s", wide)
	}
}

// logs -f streams lines written after the call started.
func TestLogsFollow(t *testing.T) {
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: t
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done & wait"]
`)
	e.waitRunning("ticker", 60*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(20*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin+"/podctl", "--socket", e.socket, "logs", "-f", "ticker")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 0, 4096)
	deadline := time.Now().Add(testutil.Scaled(15 * time.Second))
	seen := map[string]bool{}
	for time.Now().Before(deadline) && len(seen) < 15 {
		chunk := make([]byte, 1024)
		n, err := out.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for _, l := range strings.Split(string(buf), "\n") {
			if strings.HasPrefix(l, "tick-") {
				seen[l] = true
			}
		}
		if err != nil {
			break
		}
	}
	if len(seen) < 15 {
		t.Fatalf("logs -f delivered %d distinct lines, want >= 15 (streaming): %q", len(seen), buf)
	}
}

// R50/R54/R56: a TERM-ignoring PID 1 takes the grace period and records 137;
// one that exits on TERM is gone at once with 143; --grace-period 0 kills at once.
func TestDeleteGracePeriods(t *testing.T) {
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: s
    image: busybox:latest
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: polite}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: p
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 143' TERM; sleep 1000 & wait"]
---
apiVersion: v1
kind: Pod
metadata: {name: victim}
spec:
  terminationGracePeriodSeconds: 30
  containers:
  - name: v
    image: busybox:latest
    command: ["sleep", "1000"]
`)
	for _, n := range []string{"stubborn", "polite", "victim"} {
		e.waitRunning(n, 60*time.Second)
	}
	for _, tc := range []struct {
		pod      string
		args     []string
		min, max time.Duration
	}{
		{"stubborn", nil, 2500 * time.Millisecond, 5 * time.Second},
		{"polite", nil, 0, 1500 * time.Millisecond},
		{"victim", []string{"--grace-period", "0"}, 0, 1500 * time.Millisecond},
	} {
		start := time.Now()
		out := e.podctl(append([]string{"delete", "pod", tc.pod}, tc.args...)...)
		took := time.Since(start)
		if !strings.Contains(out, fmt.Sprintf("pod %q deleted", tc.pod)) {
			t.Errorf("delete %s printed %q", tc.pod, out)
		}
		if took < tc.min || took > tc.max {
			t.Errorf("delete %s took %s, want between %s and %s", tc.pod, took, tc.min, tc.max)
		}
		t.Logf("delete %s took %s", tc.pod, took.Round(time.Millisecond))
	}
}

// The exit codes of a graceful stop (R23): 143 for TERM, 137 for KILL,
// visible in the status while a delete is in flight.
func TestStopExitCodes(t *testing.T) {
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: codes}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: term
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 143' TERM; sleep 1000 & wait"]
  - name: kill
    image: busybox:latest
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]
`)
	e.waitRunning("codes", 60*time.Second)
	ch := make(chan *corev1.Pod, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := e.client.WatchPods(ctx, &poddv1.ListPodsRequest{Namespace: "default", Name: "codes"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				close(ch)
				return
			}
			if p, err := decodePod(ev.Pod); err == nil {
				ch <- p
			}
		}
	}()
	e.podctl("delete", "pod", "codes", "--wait=false")
	codes := map[string]int32{}
	for p := range ch {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Terminated != nil {
				codes[cs.Name] = cs.State.Terminated.ExitCode
			}
		}
		if len(codes) == 2 {
			break
		}
	}
	if codes["term"] != 143 || codes["kill"] != 137 {
		t.Fatalf("exit codes %v, want term=143 kill=137", codes)
	}
}

// R1: every malformed manifest is refused with InvalidArgument naming the
// field, and nothing is created.
func TestMalformedManifestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	before := e.census(t)
	for _, tc := range []struct{ name, manifest, want string }{
		{"bad yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "yaml"},
		{"wrong kind", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\n", "StatefulSet"},
		{"missing image", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a}]\n", "spec.containers[0].image"},
		{"duplicate names", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: busybox}, {name: a, image: busybox}]\n", "spec.containers[1].name"},
		{"slash in name", "apiVersion: v1\nkind: Pod\nmetadata: {name: a/b}\nspec:\n  containers: [{name: a, image: busybox}]\n", "metadata.name"},
		{"dotdot name", "apiVersion: v1\nkind: Pod\nmetadata: {name: ..}\nspec:\n  containers: [{name: a, image: busybox}]\n", "metadata.name"},
		{"undefined volume", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: busybox, volumeMounts: [{name: v, mountPath: /v}]}]\n", "spec.containers[0].volumeMounts[0].name"},
		{"misplaced field", "apiVersion: v1\nkind: Pod\nmetadata: {name: x, restartPolicy: Never}\nspec:\n  containers: [{name: a, image: busybox}]\n", "restartPolicy"},
		{"one bad doc spoils all", "apiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  containers: [{name: a, image: busybox}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: [{name: a}]\n", "spec.containers[0].image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := e.client.Apply(ctx, &poddv1.ApplyRequest{Manifest: []byte(tc.manifest), Source: "t.yaml"})
			st, _ := status.FromError(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.want) {
				t.Fatalf("Apply = %v %q, want InvalidArgument naming %q", st.Code(), st.Message(), tc.want)
			}
		})
	}
	resp, err := e.client.ListPods(context.Background(), &poddv1.ListPodsRequest{})
	if err != nil || len(resp.Pods) != 0 {
		t.Fatalf("pods after malformed applies: %v, %v", resp, err)
	}
	if after := e.census(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("host changed: before %+v after %+v", before, after)
	}
}

func decodePod(m *poddv1.Pod) (*corev1.Pod, error) {
	p := &corev1.Pod{}
	return p, json.Unmarshal(m.Json, p)
}
