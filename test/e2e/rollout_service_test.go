//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// servedDeployment is a Deployment of 3 replicas behind Service "web":
// each pod serves "<pod name> <version>" on /id (port 8080), is ready while
// it does, sleeps 2 s in preStop (the time the endpoints take to drop a
// terminating pod, as the Kubernetes notes advise) and exits on TERM.
func servedDeployment(version string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: web
        image: busybox:latest
        env: [{name: VERSION, value: %q}]
        command: ["sh", "-c", "mkdir -p /www && echo \"$(hostname) $VERSION\" > /www/id && httpd -f -p 8080 -h /www & trap 'kill $!; exit 0' TERM; wait"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /id, port: 8080}
          periodSeconds: 1
        lifecycle:
          preStop:
            exec: {command: ["sleep", "2"]}
`, version)
}

// loopPod requests http://addr/id every 20 ms, one connection each, and
// prints "OK <body>" or "FAIL <what it got>" per request.
func loopPod(addr string) string {
	host, port, _ := strings.Cut(addr, ":")
	req := fmt.Sprintf(`r=$(printf 'GET /id HTTP/1.0\r\n\r\n' | nc -w 5 %s %s 2>&1); case "$r" in *" 200 "*) echo "OK $(echo "$r" | tail -n 1)";; *) echo "FAIL $(echo "$r" | tr '\r\n' '  ')";; esac`, host, port)
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: loop}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", %q]
`, "while true; do "+req+"; usleep 20000; done")
}

// loopCounts are the client loop's answers so far.
type loopCounts struct {
	ok    int
	fails []string
	// byPod counts the answers per "<pod> <version>".
	byPod map[string]int
	// byVersion counts the answers per template version.
	byVersion map[string]int
}

var loopLine = regexp.MustCompile(`^(\S+) (?:(OK) (web-\S+) (\S+)|(FAIL.*))$`)

// loopCounts reads the client loop's log. A line that is neither an
// answer from a web pod nor a FAIL is a failure too.
func (e *env) loopCounts() loopCounts {
	e.t.Helper()
	c := loopCounts{byPod: map[string]int{}, byVersion: map[string]int{}}
	out := e.podctl("logs", "loop", "--timestamps")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, line := range lines {
		if line == "" {
			continue
		}
		m := loopLine.FindStringSubmatch(line)
		switch {
		case m != nil && m[2] == "OK":
			c.ok++
			c.byPod[m[3]+" "+m[4]]++
			c.byVersion[m[4]]++
		case m != nil:
			c.fails = append(c.fails, line)
		case i == len(lines)-1:
			// The line being written while podctl read the log.
		default:
			c.fails = append(c.fails, "unexpected: "+line)
		}
	}
	return c
}

// endpointWatch samples a Service's ready endpoints every 50 ms.
type endpointWatch struct {
	mu      sync.Mutex
	min     int
	samples int
	// lastSeen is, per pod, the last sample that showed it ready, timed
	// before the request: never later than the pod really left.
	lastSeen map[string]time.Time
	stop     chan struct{}
	done     chan struct{}
}

// watchEndpoints samples Service name's ready endpoints until stop.
func (e *env) watchEndpoints(name string) *endpointWatch {
	w := &endpointWatch{min: 1 << 30, lastSeen: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			at := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m, err := e.client.GetObject(ctx, &poddv1.GetObjectRequest{Resource: "endpoints", Namespace: "default", Name: name})
			cancel()
			var ep corev1.Endpoints
			if err != nil || json.Unmarshal(m.Json, &ep) != nil {
				continue
			}
			n := 0
			w.mu.Lock()
			for _, sub := range ep.Subsets {
				for _, a := range sub.Addresses {
					n++
					if a.TargetRef != nil {
						w.lastSeen[a.TargetRef.Name] = at
					}
				}
			}
			w.min = min(w.min, n)
			w.samples++
			w.mu.Unlock()
		}
	}()
	return w
}

// end stops the sampling and returns the fewest ready endpoints seen, the
// number of samples and the last time each pod was seen ready.
func (w *endpointWatch) end() (int, int, map[string]time.Time) {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.min, w.samples, w.lastSeen
}

var deploymentDeletes = regexp.MustCompile(`time=(\S+) level=INFO msg="Deployment deletes pod" deployment=default/web pod=default/(\S+)`)

// deploymentDeletes are the times the daemon logged deleting each pod of
// Deployment web, after log offset off.
func (e *env) deploymentDeletes(off int) map[string]time.Time {
	out := map[string]time.Time{}
	for _, m := range deploymentDeletes.FindAllStringSubmatch(e.logBuf.String()[off:], -1) {
		if t, err := time.Parse(time.RFC3339Nano, m[1]); err == nil {
			out[m[2]] = t
		}
	}
	return out
}

// Issue 10's rolling update behind a Service: a client loop requesting
// every 20 ms through the ClusterIP while a 3-replica Deployment rolls
// (maxSurge 1, maxUnavailable 0) never sees a failed request, and gets
// answers from old and new pods; a terminating pod leaves the endpoints
// before its preStop ends and TERM stops it.
func TestDeploymentRollingUpdateBehindServiceLosesNoRequest(t *testing.T) {
	e, prefix := newServiceEnv(t)
	svcIP := prefix + ".10"
	// On a failure, what the daemon shows, before anything is deleted.
	dumped := false
	dump := func() {
		if !t.Failed() || dumped {
			return
		}
		dumped = true
		for _, args := range [][]string{{"get", "pods", "-o", "wide"}, {"get", "deployment", "web"}, {"get", "endpoints"}, {"describe", "deployment", "web"}} {
			out, _ := e.podctlErr(args...)
			t.Logf("podctl %s:\n%s", strings.Join(args, " "), out)
		}
	}
	t.Cleanup(dump)
	began := time.Now()
	e.apply(servedDeployment("1") + "---\n" + fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: %s
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`, svcIP))
	e.rolloutStatus()
	old := e.waitEndpoints("web", 3, 30*time.Second)
	// The loop starts once the Service has its 3 endpoints: every request
	// it makes must be answered.
	e.apply(loopPod(svcIP + ":80"))
	e.waitRunning("loop", 60*time.Second)
	testutil.WaitFor(t, 20*time.Second, "the loop's first answers", func() (bool, error) {
		c := e.loopCounts()
		return c.ok >= 10, fmt.Errorf("%d answers, %d failures", c.ok, len(c.fails))
	})
	t.Logf("3 replicas behind %s after %v (endpoints %v)", svcIP, time.Since(began).Round(time.Millisecond), old)

	logOff := len(e.logBuf.String())
	watch := e.watchEndpoints("web")
	t.Cleanup(func() { watch.end() })
	rolled := time.Now()
	e.apply(servedDeployment("2"))
	status := e.rolloutStatus()
	rollout := time.Since(rolled)
	if !strings.Contains(status, "Waiting for deployment") {
		t.Errorf("rollout status printed no progress:\n%s", status)
	}
	// The last old pods may still be in their preStop: the loop goes on
	// until they are gone and a few more answers came from the new pods.
	testutil.WaitFor(t, 60*time.Second, "only the new pods left", func() (bool, error) {
		pods := e.deploymentPods()
		got := templateHashes(pods)
		return len(got) == 1 && len(pods) == 3, fmt.Errorf("%d pods, the live ones by template %v", len(pods), got)
	})
	minReady, samples, lastSeen := watch.end()
	atEnd := e.loopCounts().ok
	testutil.WaitFor(t, 20*time.Second, "answers after the rollout", func() (bool, error) {
		c := e.loopCounts()
		return c.ok >= atEnd+20, fmt.Errorf("%d answers", c.ok)
	})
	c := e.loopCounts()
	t.Logf("rolling update took %v (apply to rollout status done); the loop made %d requests: %d answered (%d by version 1, %d by version 2), %d failed; answers per pod %v",
		rollout.Round(time.Millisecond), c.ok+len(c.fails), c.ok, c.byVersion["1"], c.byVersion["2"], len(c.fails), c.byPod)
	if len(c.fails) > 0 {
		t.Errorf("%d requests through the Service failed during the rolling update:\n%s", len(c.fails), strings.Join(c.fails, "\n"))
	}
	if c.byVersion["1"] == 0 || c.byVersion["2"] == 0 {
		t.Errorf("answers by version %v: want both the old and the new pods", c.byVersion)
	}
	for pod := range c.byPod {
		if v := pod[strings.LastIndex(pod, " ")+1:]; v != "1" && v != "2" {
			t.Errorf("answer from %q", pod)
		}
	}
	if n := len(c.byPod); n < 6 {
		t.Errorf("answers from %d pods, want the 3 old and the 3 new: %v", n, c.byPod)
	}

	// The endpoints: never fewer than 3 ready (maxUnavailable 0), and a
	// deleted pod leaves them before its preStop ends and TERM comes.
	deleted := e.deploymentDeletes(logOff)
	var stayed time.Duration
	for pod, at := range deleted {
		d := lastSeen[pod].Sub(at)
		stayed = max(stayed, d)
		if d >= 2*time.Second {
			t.Errorf("pod %s was still a ready endpoint %v after the Deployment deleted it, past its 2 s preStop", pod, d.Round(time.Millisecond))
		}
	}
	t.Logf("endpoints sampled %d times every 50 ms: at least %d ready; %d pods deleted, the longest still seen an endpoint %v after its deletion",
		samples, minReady, len(deleted), stayed.Round(time.Millisecond))
	if len(deleted) != 3 {
		t.Errorf("the Deployment deleted %v, want its 3 old pods", deleted)
	}
	if minReady < 3 {
		t.Errorf("the Service's ready endpoints dropped to %d during the rolling update", minReady)
	}

	dump()
	e.podctl("delete", "deployment", "web", "--wait")
	e.podctl("delete", "pod", "loop", "--wait")
	e.podctl("delete", "svc", "web")
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
	t.Logf("test took %v", time.Since(began).Round(time.Millisecond))
}
