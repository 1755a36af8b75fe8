package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// Issue 11 item 4: cluster DNS. The daemon reads a resolv.conf naming a
// fake upstream on a loopback address (no internet), serves cluster DNS on
// its bridge's gateway, and a ClusterFirst busybox pod resolves its own pod
// name and a name only the upstream knows. Then DNS query latency from the
// pod's network namespace is measured, and DNS is back after a kill -9 and
// restart of the daemon.
func TestClusterDNS(t *testing.T) {
	t.Parallel()
	upstream := startFakeUpstream(t)
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	host := strings.Split(upstream, ":")[0]
	if err := os.WriteFile(resolv, []byte("nameserver "+host+"\nsearch example.test\noptions timeout:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "--resolv-conf", resolv)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: dns-client}
spec:
  containers:
  - name: c
    image: busybox:latest
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
    command: ["sh", "-c", "cat /etc/resolv.conf; echo ---; nslookup -type=a $(echo $POD_IP | tr . -).default.pod.cluster.local; echo ---; nslookup -type=a upstream.example.test.; echo ---; nslookup -type=a nope.default.svc.cluster.local; echo ---; echo checked; sleep 3600"]
`)
	p := e.waitRunning("dns-client", 60*time.Second)
	var out string
	testutil.WaitFor(t, 30*time.Second, "the pod's lookups", func() (bool, error) {
		out = e.podctl("logs", "dns-client")
		return strings.Contains(out, "checked"), nil
	})
	sections := strings.Split(out, "---\n")
	if len(sections) < 5 {
		t.Fatalf("pod output:\n%s", out)
	}
	gw := gatewayOf(t, e.subnet)
	resolvConf, ownName, upName, nxName := sections[0], sections[1], sections[2], sections[3]
	for _, want := range []string{"search default.svc.cluster.local svc.cluster.local cluster.local example.test\n", "nameserver " + gw + "\n", "options ndots:5\n"} {
		if !strings.Contains(resolvConf, want) {
			t.Errorf("ClusterFirst pod's resolv.conf lacks %q:\n%s", want, resolvConf)
		}
	}
	if strings.Contains(resolvConf, "nameserver "+host) {
		t.Errorf("ClusterFirst pod got the host's nameserver:\n%s", resolvConf)
	}
	if !strings.Contains(ownName, "Address: "+p.Status.PodIP) {
		t.Errorf("the pod's own name did not resolve to %s:\n%s", p.Status.PodIP, ownName)
	}
	if !strings.Contains(upName, "Address: 192.0.2.44") {
		t.Errorf("a name outside the cluster domain was not forwarded to the upstream:\n%s", upName)
	}
	if !strings.Contains(nxName, "NXDOMAIN") {
		t.Errorf("an unknown Service name is not NXDOMAIN:\n%s", nxName)
	}

	pin := podNetns(t, e)
	server := net.JoinHostPort(gw, "53")
	name := strings.ReplaceAll(p.Status.PodIP, ".", "-") + ".default.pod.cluster.local."
	var took []time.Duration
	inNetns(t, pin, func() {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		for range 100 {
			resp, rtt, err := c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), server)
			if err != nil || len(resp.Answer) != 1 {
				t.Fatalf("query %s from the pod: %v %v", name, resp, err)
			}
			took = append(took, rtt)
		}
	})
	slices.Sort(took)
	t.Logf("cluster DNS query latency from the pod's netns over 100 queries: median %v, p90 %v, max %v", took[50], took[90], took[99])

	// kill -9 interrupts DNS until the restart; the restarted daemon serves again.
	e.killDaemon()
	inNetns(t, pin, func() {
		c := &dns.Client{Net: "udp", Timeout: 500 * time.Millisecond}
		if _, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), server); err == nil {
			t.Errorf("cluster DNS answered with the daemon killed")
		}
	})
	e.restartDaemon()
	testutil.WaitFor(t, 30*time.Second, "cluster DNS after the restart", func() (bool, error) {
		var resp *dns.Msg
		var err error
		inNetns(t, pin, func() {
			c := &dns.Client{Net: "tcp", Timeout: time.Second}
			resp, _, err = c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), server)
		})
		if err != nil {
			return false, err
		}
		return len(resp.Answer) == 1, fmt.Errorf("answer %v", resp.Answer)
	})
}

// startFakeUpstream serves upstream.example.test. A 192.0.2.44 (NXDOMAIN
// for anything else) on port 53 of a loopback address of its own, as a
// resolv.conf can name no other port.
func startFakeUpstream(t *testing.T) string {
	t.Helper()
	addr := fmt.Sprintf("127.53.%d.%d:53", os.Getpid()%250, envSeq.Add(1)%250+1)
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		if q := r.Question[0]; strings.EqualFold(q.Name, "upstream.example.test.") && q.Qtype == dns.TypeA {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 44)}}
		} else if !strings.EqualFold(q.Name, "upstream.example.test.") {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return addr
}

// gatewayOf is the bridge's address in subnet: its first address.
func gatewayOf(t *testing.T, subnet string) string {
	t.Helper()
	_, n, err := net.ParseCIDR(subnet)
	if err != nil {
		t.Fatal(err)
	}
	ip := n.IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1).String()
}

// podNetns is the netns pin of the env's only pod.
func podNetns(t *testing.T, e *env) string {
	t.Helper()
	pins, err := filepath.Glob(filepath.Join(e.runRoot, "netns", "*"))
	if err != nil || len(pins) != 1 {
		t.Fatalf("netns pins %v (%v), want one", pins, err)
	}
	return pins[0]
}

// inNetns runs f on a thread in the network namespace pinned at path; a
// socket f opens stays in that namespace.
func inNetns(t *testing.T, path string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("enter netns %s: %v", path, err)
	}
	defer func() {
		// A thread that cannot go back is left locked: Go then ends it.
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	f()
}
