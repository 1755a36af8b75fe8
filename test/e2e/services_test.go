//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

var svcSeq atomic.Int32

// newServiceEnv starts a daemon with a service CIDR of its own (a /24
// that no other test's daemon uses), returned with it.
func newServiceEnv(t *testing.T) (*env, string) {
	t.Helper()
	prefix := fmt.Sprintf("10.%d.%d", 150+os.Getpid()%40, svcSeq.Add(1)%250)
	e := newEnv(t, "--service-cidr", prefix+".0/24")
	e.defaultRoute = true
	e.writeConflist()
	return e, prefix
}

// servicePod serves its own name on 8080 (container port "http") and is
// ready while /www/ready.html exists (httpGet readiness, period 1).
func servicePod(name string, labels string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[1]s, labels: {%[2]s}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: httpd
    image: busybox:latest
    command: ["sh", "-c", "echo %[1]s > /www/index.html; echo ok > /www/ready.html; exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /ready.html, port: 8080}
      periodSeconds: 1
      failureThreshold: 1
`, name, labels)
}

const clientPod = `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: busybox:latest, command: ["sleep", "3600"]}
`

// readyEndpoints returns the ready addresses of Service name's endpoints.
func (e *env) readyEndpoints(name string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Scaled(10*time.Second))
	defer cancel()
	m, err := e.client.GetObject(ctx, &poddv1.GetObjectRequest{Resource: "endpoints", Namespace: "default", Name: name})
	if err != nil {
		return nil, err
	}
	var ep corev1.Endpoints
	if err := json.Unmarshal(m.Json, &ep); err != nil {
		return nil, err
	}
	var ips []string
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ips = append(ips, a.IP)
		}
	}
	sort.Strings(ips)
	return ips, nil
}

func (e *env) waitEndpoints(name string, n int, timeout time.Duration) []string {
	e.t.Helper()
	var ips []string
	testutil.WaitFor(e.t, timeout, fmt.Sprintf("%d ready endpoints of %s", n, name), func() (bool, error) {
		var err error
		ips, err = e.readyEndpoints(name)
		return len(ips) == n, err
	})
	return ips
}

// httpRequest is a shell command making one HTTP/1.0 request to
// addr (ip:port) with nc, printing the body's last line or FAIL (busybox's
// static wget crashes without the host's NSS libraries).
func httpRequest(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`{ r=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 %s %s 2>&1) && echo "$r" | tail -n 1; } || echo "FAIL $r"`, host, port)
}

// requests makes n HTTP requests from the client pod to addr, one
// connection each, and counts the answers by body.
func (e *env) requests(addr string, n int) map[string]int {
	e.t.Helper()
	out := e.execIn("client", "c", "sh", "-c", fmt.Sprintf("for i in $(seq %d); do %s; done", n, httpRequest(addr)))
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		counts[strings.TrimSpace(line)]++
	}
	return counts
}

var syncLatencyRE = regexp.MustCompile(`msg="Service rules synced".* latency=(\S+)`)

// syncLatencies are the latencies the daemon logged for rule syncs after
// log offset off.
func (e *env) syncLatencies(off int) []time.Duration {
	var out []time.Duration
	for _, line := range strings.Split(e.logBuf.String()[off:], "\n") {
		if m := syncLatencyRE.FindStringSubmatch(line); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// Issue 11: three pods behind a ClusterIP Service share its traffic;
// readiness gates them within a probe period + 100 ms; a named
// targetPort, a node port on 127.0.0.1 and the host's bridge address, a
// pod reaching itself (hairpin), a Service without ready endpoints
// refusing at once; no rule left once the Services are deleted.
func TestServicesClusterIPNodePortReadinessHairpin(t *testing.T) {
	e, prefix := newServiceEnv(t)
	webIP, noneIP, selfIP := prefix+".10", prefix+".11", prefix+".12"
	var m []string
	for i := range 3 {
		m = append(m, servicePod(fmt.Sprintf("web-%d", i), fmt.Sprintf("app: web, name: web-%d", i)))
	}
	m = append(m, clientPod, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: %s
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: none}
spec:
  clusterIP: %s
  selector: {app: nothing}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: self}
spec:
  clusterIP: %s
  selector: {name: web-0}
  ports: [{port: 80, targetPort: 8080}]
`, webIP, noneIP, selfIP))
	e.apply(strings.Join(m, "---\n"))
	for _, p := range []string{"web-0", "web-1", "web-2", "client"} {
		e.waitRunning(p, 60*time.Second)
	}
	e.waitEndpoints("web", 3, 30*time.Second)
	out := e.podctl("get", "svc", "web")
	nodePort := regexp.MustCompile(`80:(\d+)/TCP`).FindStringSubmatch(out)
	if nodePort == nil || !strings.Contains(out, webIP) {
		t.Fatalf("get svc web:\n%s", out)
	}
	if out := e.podctl("describe", "svc", "web"); !strings.Contains(out, "TargetPort:") || !strings.Contains(out, ":8080") {
		t.Errorf("describe svc web shows no endpoints:\n%s", out)
	}
	if out := e.podctl("get", "endpoints"); !strings.Contains(out, "web") || !strings.Contains(out, ":8080") {
		t.Errorf("get endpoints:\n%s", out)
	}

	// 300 requests from another pod reach all three, about evenly.
	counts := e.requests(webIP+":80", 300)
	t.Logf("300 requests through %s: %v", webIP, counts)
	for i := range 3 {
		if n := counts[fmt.Sprintf("web-%d", i)]; n < 50 {
			t.Errorf("web-%d answered %d of 300 requests, want about 100: %v", i, n, counts)
		}
	}

	// The node port answers on 127.0.0.1 and on the host's bridge address.
	gw := strings.TrimSuffix(e.subnet, "0/24") + "1"
	for _, host := range []string{"127.0.0.1", gw} {
		url := "http://" + net.JoinHostPort(host, nodePort[1]) + "/"
		testutil.WaitFor(t, 10*time.Second, "node port on "+host, func() (bool, error) {
			body, err := httpGet(url)
			return strings.HasPrefix(body, "web-"), err
		})
	}

	// A Service without ready endpoints refuses at once, from a pod and
	// from the host.
	out, err := e.podctlErr("exec", "client", "-c", "c", "--", "nc", "-w", "10", noneIP, "80")
	if err == nil || !strings.Contains(out, "refused") {
		t.Errorf("nc to a Service without endpoints: %v %q, want connection refused", err, out)
	}
	began := time.Now()
	_, err = net.DialTimeout("tcp", noneIP+":80", 5*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) || time.Since(began) > time.Second {
		t.Errorf("dial of a Service without endpoints from the host: %v after %s, want refused at once", err, time.Since(began))
	}

	// Hairpin: web-0 reaches itself through its own Service.
	if out := e.execIn("web-0", "httpd", "sh", "-c", httpRequest(selfIP+":80")); strings.TrimSpace(out) != "web-0" {
		t.Errorf("web-0 through its own Service got %q", out)
	}

	// Readiness: web-1 loses its page; once a probe period + 100 ms has
	// passed it gets no request. Then 20 flips give the latency from the
	// status change to the rules in the kernel.
	var lat []time.Duration
	for flip := range 20 {
		off := len(e.logBuf.String())
		e.execIn("web-1", "httpd", "rm", "/www/ready.html")
		removed := time.Now()
		if flip == 0 {
			// A deadline the spec sets, not a wait for a state.
			time.Sleep(time.Until(removed.Add(time.Second + 100*time.Millisecond)))
			if c := e.requests(webIP+":80", 30); c["web-1"] > 0 {
				t.Errorf("unready web-1 answered %d of 30 requests one probe period + 100ms after it failed: %v", c["web-1"], c)
			}
		}
		e.waitEndpoints("web", 2, 10*time.Second)
		if l := e.syncLatencies(off); len(l) > 0 {
			lat = append(lat, l[0])
		}
		e.execIn("web-1", "httpd", "sh", "-c", "echo ok > /www/ready.html")
		e.waitEndpoints("web", 3, 10*time.Second)
	}
	if len(lat) < 20 {
		t.Errorf("%d rule syncs logged for 20 readiness changes", len(lat))
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("endpoint update latency after a readiness change, %d flips: median %s, max %s", len(lat), lat[len(lat)/2], lat[len(lat)-1])
		if lat[len(lat)/2] > 100*time.Millisecond {
			t.Errorf("median endpoint update latency %s, want within 100ms", lat[len(lat)/2])
		}
	}

	for _, s := range []string{"web", "none", "self"} {
		e.podctl("delete", "svc", s)
	}
	if c := e.census(t); len(c.ServiceChains)+len(c.ServiceJumps) > 0 {
		t.Errorf("Service rules left after the last Service was deleted: %v %v", c.ServiceChains, c.ServiceJumps)
	}
}

// Issue 11: kill -9 of podd while a client loop runs through a Service
// loses no request (the rules stay in the kernel); the restarted daemon
// reconciles them, and they go with the Service.
func TestServiceTrafficSurvivesDaemonKill9(t *testing.T) {
	e, prefix := newServiceEnv(t)
	svcIP := prefix + ".10"
	e.apply(servicePod("web-0", "app: web") + "---\n" + fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: %s
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: loop}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: ["sh", "-c", %q]
`, svcIP, "while true; do { "+httpRequest(svcIP+":80")+"; } >> /tmp/log; usleep 20000; done"))
	e.waitRunning("loop", 60*time.Second)
	e.waitEndpoints("web", 1, 30*time.Second)
	count := func() (ok, failed int, fails []string) {
		for _, line := range strings.Split(e.execIn("loop", "c", "cat", "/tmp/log"), "\n") {
			switch {
			case line == "web-0":
				ok++
			case strings.HasPrefix(line, "FAIL"):
				failed++
				fails = append(fails, line)
			}
		}
		return ok, failed, fails
	}
	testutil.WaitFor(t, 20*time.Second, "the loop's first answers", func() (bool, error) {
		ok, _, _ := count()
		return ok > 10, nil
	})
	before, _, _ := count()
	e.killDaemon()
	down := time.Now()
	// The loop runs on while no daemon is there; give it a while.
	testutil.WaitFor(t, 10*time.Second, "two seconds without a daemon", func() (bool, error) {
		return time.Since(down) > 2*time.Second, nil
	})
	e.restartDaemon()
	// And a while after the restart, past the restarted daemon's first
	// sync of the rules (restored pods keep their readiness, R47).
	atRestart, _, _ := count()
	testutil.WaitFor(t, 20*time.Second, "answers after the restart", func() (bool, error) {
		ok, _, _ := count()
		return ok > atRestart+20, nil
	})
	after, failed, fails := count()
	t.Logf("requests through the Service: %d before kill -9, %d more while the daemon was down, restarting and after, %d lost", before, after-before, failed)
	if failed > 0 {
		t.Errorf("%d requests lost: %v", failed, fails)
	}
	if after-before < 10 {
		t.Errorf("only %d requests while the daemon was down: the loop did not run", after-before)
	}
	if c := e.census(t); len(c.ServiceChains) == 0 {
		t.Errorf("the restarted daemon has no Service chains")
	}
	e.podctl("delete", "svc", "web")
	if c := e.census(t); len(c.ServiceChains)+len(c.ServiceJumps) > 0 {
		t.Errorf("Service rules left after the last Service was deleted: %v %v", c.ServiceChains, c.ServiceJumps)
	}
}
