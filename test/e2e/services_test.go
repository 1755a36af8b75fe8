//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/test/testutil"
)

// newServiceEnv starts a daemon whose pods reach cluster IPs, returned
// with the first three octets of its service CIDR (a /24 of its own).
func newServiceEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t)
	e.defaultRoute = true
	e.writeConflist()
	return e, strings.TrimSuffix(e.serviceCIDR, ".0/24")
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

var syncLatencyRE = regexp.MustCompile(`msg="Service rules synced".* took=(\S+).* latency=(\S+) waited=(\S+)(?: since-ready=(\S+))?`)

// ruleSync is one rule sync the daemon logged after a pod change: latency
// from the pod's published status change to the rules in the kernel, of
// which it waited for an earlier sync and took for iptables-restore;
// sinceReady from the worker's readiness transition (before the pod state
// is written and published), 0 when not logged.
type ruleSync struct{ latency, waited, took, sinceReady time.Duration }

// ruleSyncs are the rule syncs the daemon logged after log offset off.
func (e *env) ruleSyncs(off int) []ruleSync {
	var out []ruleSync
	for _, line := range strings.Split(e.logBuf.String()[off:], "\n") {
		m := syncLatencyRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var r ruleSync
		var errs [3]error
		r.took, errs[0] = time.ParseDuration(m[1])
		r.latency, errs[1] = time.ParseDuration(m[2])
		r.waited, errs[2] = time.ParseDuration(m[3])
		if m[4] != "" {
			r.sinceReady, _ = time.ParseDuration(m[4])
		}
		if errs[0] == nil && errs[1] == nil && errs[2] == nil {
			out = append(out, r)
		}
	}
	return out
}

// median and max of ds (sorted in place).
func medianMax(ds []time.Duration) (time.Duration, time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)-1]
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

	// The node port answers on 127.0.0.1, the host's bridge address and
	// its own address.
	gw := strings.TrimSuffix(e.subnet, "0/24") + "1"
	hosts := []string{"127.0.0.1", gw}
	if ip := hostAddress(t); ip != "" {
		hosts = append(hosts, ip)
	}
	for _, host := range hosts {
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
	var lat, waited, took, sinceReady []time.Duration
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
		// The daemon's log line reaches the test through a pipe, maybe
		// after the API showed the change.
		var l []ruleSync
		testutil.WaitFor(t, 5*time.Second, "the rule sync's log line", func() (bool, error) {
			l = e.ruleSyncs(off)
			return len(l) > 0, nil
		})
		if len(l) > 0 {
			lat, waited, took = append(lat, l[0].latency), append(waited, l[0].waited), append(took, l[0].took)
			if l[0].sinceReady > 0 {
				sinceReady = append(sinceReady, l[0].sinceReady)
			}
		}
		e.execIn("web-1", "httpd", "sh", "-c", "echo ok > /www/ready.html")
		e.waitEndpoints("web", 3, 10*time.Second)
	}
	if len(lat) < 20 {
		t.Errorf("%d rule syncs logged for 20 readiness changes", len(lat))
	}
	// Timing is logged, not asserted: the host is shared and loaded.
	lm, lx := medianMax(lat)
	wm, wx := medianMax(waited)
	tm, tx := medianMax(took)
	rm, rx := medianMax(sinceReady)
	t.Logf("endpoint update latency after a readiness change, %d flips: median %s, max %s (of it waiting for an earlier sync: median %s, max %s; iptables-restore: median %s, max %s); from the worker's Ready transition (%d flips): median %s, max %s",
		len(lat), lm, lx, wm, wx, tm, tx, len(sinceReady), rm, rx)

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
	// Requests before web-0's first answer may be refused: the loop can
	// start before web-0 is ready (the Service then has no endpoint).
	count := func() (ok, failed int, fails []string) {
		for _, line := range strings.Split(e.execIn("loop", "c", "cat", "/tmp/log"), "\n") {
			switch {
			case line == "web-0":
				ok++
			case strings.HasPrefix(line, "FAIL") && ok > 0:
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

// Issue 11: two daemons on one host never share cluster IPs nor touch each
// other's rules. A second daemon whose service CIDR overlaps the first
// one's refuses to start, naming the first one's root and the CIDR; with a
// CIDR of its own it starts, and deleting its Services leaves the first
// daemon's rules in place.
func TestServiceCIDRClaimedPerDaemon(t *testing.T) {
	a, prefix := newServiceEnv(t)
	a.apply(fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: %s.10, ports: [{port: 5432}]}\n", prefix))

	b := newSibling(t, a, false, false)
	overlapping := strings.TrimSuffix(a.serviceCIDR, ".0/24") + ".128/25"
	serving, out := b.tryStart(append(b.defaultArgs(), "--cgroup-parent", b.cgroupParent, "--service-cidr", overlapping))
	if serving {
		t.Fatalf("a second daemon started with service CIDR %s inside the first one's %s", overlapping, a.serviceCIDR)
	}
	if want := "service-cidr " + overlapping + " belongs to the podd with --root " + a.root; !strings.Contains(out, want) {
		t.Fatalf("the second daemon refused to start without saying %q:\n%s", want, out)
	}
	t.Logf("the second daemon refused to start:\n%s", tail(out, 2))

	if serving, out := b.tryStart(append(b.defaultArgs(), "--cgroup-parent", b.cgroupParent)); !serving {
		t.Fatalf("the second daemon with its own service CIDR %s did not start:\n%s", b.serviceCIDR, out)
	}
	bPrefix := strings.TrimSuffix(b.serviceCIDR, ".0/24")
	b.apply(fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: %s.10, ports: [{port: 5432}]}\n", bPrefix))
	if a.rulesTag() == b.rulesTag() || len(b.census(t).ServiceChains) == 0 {
		t.Fatalf("the second daemon's rules: tag %s (first %s), chains %v", b.rulesTag(), a.rulesTag(), b.census(t).ServiceChains)
	}
	before := a.census(t).ServiceChains
	b.podctl("delete", "svc", "db")
	if c := b.census(t); len(c.ServiceChains)+len(c.ServiceJumps) > 0 {
		t.Errorf("the second daemon's rules left after its last Service went: %v %v", c.ServiceChains, c.ServiceJumps)
	}
	if after := a.census(t).ServiceChains; strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("the first daemon's chains changed when the second one's Service went: %v, were %v", after, before)
	}
	a.podctl("delete", "svc", "db")
}

// Issue 11, the notes' init-container example: init containers loop on
// nslookup of two Services' names; the pod stays in Init while they are
// missing (each loop a cluster DNS NXDOMAIN), goes on to the second once
// the first selector-less Service is applied, and runs once both are.
func TestInitContainersWaitForServiceNames(t *testing.T) {
	e, prefix := newServiceEnv(t)
	wait := func(svc string) string {
		return fmt.Sprintf("until nslookup %s.default.svc.cluster.local; do echo waiting for %s; sleep 1; done", svc, svc)
	}
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: myapp-pod, labels: {app.kubernetes.io/name: MyApp}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: myapp-container, image: busybox:latest, command: ["sh", "-c", "echo The app is running! && sleep 3600"]}
  initContainers:
  - {name: init-myservice, image: busybox:latest, command: ["sh", "-c", %q]}
  - {name: init-mydb, image: busybox:latest, command: ["sh", "-c", %q]}
`, wait("myservice"), wait("mydb")))
	loops := func(container, svc string) func() (bool, error) {
		return func() (bool, error) {
			out, err := e.podctlErr("logs", "myapp-pod", "-c", container)
			return strings.Count(out, "waiting for "+svc) >= 3, err
		}
	}
	inInit := func(done int) {
		t.Helper()
		p, err := e.pod("myapp-pod")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Running != nil {
			t.Fatalf("the app runs before its Services exist: phase %s, statuses %+v", p.Status.Phase, p.Status.ContainerStatuses)
		}
		if out := e.podctl("get", "pod", "myapp-pod"); !strings.Contains(out, fmt.Sprintf("Init:%d/2", done)) {
			t.Errorf("get pod while init container %d waits:\n%s", done+1, out)
		}
	}
	testutil.WaitFor(t, 60*time.Second, "init-myservice looping on its lookup", loops("init-myservice", "myservice"))
	inInit(0)
	e.apply("apiVersion: v1\nkind: Service\nmetadata: {name: myservice}\nspec:\n  ports: [{protocol: TCP, port: 80, targetPort: 9376}]\n")
	testutil.WaitFor(t, 60*time.Second, "init-mydb looping on its lookup", loops("init-mydb", "mydb"))
	inInit(1)
	e.apply("apiVersion: v1\nkind: Service\nmetadata: {name: mydb}\nspec:\n  ports: [{protocol: TCP, port: 80, targetPort: 9377}]\n")
	e.waitRunning("myapp-pod", 60*time.Second)
	// The lookup that ended the loop found the Service's cluster IP.
	if out := e.podctl("logs", "myapp-pod", "-c", "init-myservice"); !strings.Contains(out, "Address: "+prefix+".") {
		t.Errorf("init-myservice's lookups found no cluster IP in %s.0/24:\n%s", prefix, out)
	}
	for _, s := range []string{"myservice", "mydb"} {
		e.podctl("delete", "svc", s)
	}
}

// hostAddress is an IPv4 address of the host on an interface of its own
// (not loopback, not a pod bridge or veth), "" when it has none.
func hostAddress(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || strings.HasPrefix(ifc.Name, "pde") ||
			strings.HasPrefix(ifc.Name, "podd") || strings.HasPrefix(ifc.Name, "veth") || strings.HasPrefix(ifc.Name, "cni") {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	t.Logf("the host has no address of its own besides loopback and pod bridges")
	return ""
}

// Issue 11: a headless Service's name resolves to its ready pods' IPs
// (an unready one drops out) and a pod with hostname and subdomain
// naming the Service to <hostname>.<subdomain>.<ns>.svc, as kube-dns
// answers.
func TestHeadlessServiceDNS(t *testing.T) {
	e, _ := newServiceEnv(t)
	named := func(name string) string {
		return strings.Replace(servicePod(name, "app: db"), "spec:\n", "spec:\n  hostname: "+name+"\n  subdomain: db\n", 1)
	}
	e.apply(strings.Join([]string{named("db-0"), named("db-1"), clientPod, `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: http, port: 80, targetPort: 8080}]
`}, "---\n"))
	ips := map[string]string{}
	for _, p := range []string{"db-0", "db-1", "client"} {
		ips[p] = e.waitRunning(p, 60*time.Second).Status.PodIP
	}
	e.waitEndpoints("db", 2, 30*time.Second)
	lookup := func(name string) string {
		out, _ := e.podctlErr("exec", "client", "-c", "c", "--", "nslookup", "-type=a", name)
		return out
	}
	resolves := func(name string, want, not []string) {
		t.Helper()
		var out string
		testutil.WaitFor(t, 20*time.Second, name+" resolving to "+strings.Join(want, " "), func() (bool, error) {
			out = lookup(name)
			for _, ip := range want {
				if !strings.Contains(out, "Address: "+ip+"\n") {
					return false, nil
				}
			}
			for _, ip := range not {
				if strings.Contains(out, "Address: "+ip+"\n") {
					return false, nil
				}
			}
			return true, nil
		})
	}
	resolves("db.default.svc.cluster.local", []string{ips["db-0"], ips["db-1"]}, nil)
	resolves("db-0.db.default.svc.cluster.local", []string{ips["db-0"]}, []string{ips["db-1"]})
	resolves("db-1.db.default.svc.cluster.local", []string{ips["db-1"]}, []string{ips["db-0"]})

	e.execIn("db-1", "httpd", "rm", "/www/ready.html")
	e.waitEndpoints("db", 1, 20*time.Second)
	resolves("db.default.svc.cluster.local", []string{ips["db-0"]}, []string{ips["db-1"]})
	if out := lookup("db-1.db.default.svc.cluster.local"); !strings.Contains(out, "NXDOMAIN") {
		t.Errorf("the unready pod's hostname still resolves:\n%s", out)
	}
	e.podctl("delete", "svc", "db")
}
