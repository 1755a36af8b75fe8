package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/test/testutil"
)

// buildUDPEcho builds testdata/udpecho statically into a fresh host
// directory and returns that directory.
func buildUDPEcho(t *testing.T) string {
	t.Helper()
	dir := hostDir(t)
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "udpecho"), "./testdata/udpecho")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build udpecho: %v\n%s", err, out)
	}
	return dir
}

// udpPod answers UDP datagrams on its port "echo" (5353) with its name.
func udpPod(name, labels, bin string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[1]s, labels: {%[2]s}}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - name: bin
    hostPath: {path: %[3]s, type: Directory}
  containers:
  - name: echo
    image: busybox:latest
    command: ["/bin/udpecho/udpecho", "-port", "5353", "-name", "%[1]s"]
    ports: [{name: echo, containerPort: 5353, protocol: UDP}]
    volumeMounts: [{name: bin, mountPath: /bin/udpecho, readOnly: true}]
`, name, labels, bin)
}

// startClientPod starts the client pod and returns its network namespace
// pin: the one pin that appeared with it.
func startClientPod(t *testing.T, e *env) string {
	t.Helper()
	pins := func() []string {
		p, err := filepath.Glob(filepath.Join(e.runRoot, "netns", "*"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := pins()
	e.apply(clientPod)
	e.waitRunning("client", 60*time.Second)
	var added []string
	for _, p := range pins() {
		if !slices.Contains(before, p) {
			added = append(added, p)
		}
	}
	if len(added) != 1 {
		t.Fatalf("netns pins added with the client pod: %v", added)
	}
	return added[0]
}

// udpSocket opens a UDP socket in the network namespace pinned at ns, on
// local port port (0: any).
func udpSocket(t *testing.T, ns string, port int) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	var err error
	inNetns(t, ns, func() { conn, err = net.ListenUDP("udp", &net.UDPAddr{Port: port}) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ask sends one datagram from conn to addr and returns the answer, or ""
// when none came within wait.
func ask(conn *net.UDPConn, addr string, wait time.Duration) string {
	to, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return ""
	}
	if _, err := conn.WriteToUDP([]byte("who"), to); err != nil {
		return ""
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 256)
	n, _, err := conn.ReadFromUDP(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// answersFrom asks addr once from each of n sockets (n client source
// ports) and counts the answers by endpoint.
func answersFrom(t *testing.T, ns, addr string, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		c := udpSocket(t, ns, 0)
		var got string
		testutil.WaitFor(t, 10*time.Second, "an answer from "+addr, func() (bool, error) {
			got = ask(c, addr, 500*time.Millisecond)
			return got != "", nil
		})
		counts[got]++
		c.Close()
	}
	return counts
}

// clearServiceConntrack removes the host's conntrack entries to e's
// cluster IPs, so that a test leaves none.
func clearServiceConntrack(t *testing.T, e *env) {
	_, cidr, err := net.ParseCIDR(e.serviceCIDR)
	if err != nil {
		t.Fatal(err)
	}
	f := &netlink.ConntrackFilter{}
	if err := f.AddIPNet(netlink.ConntrackOrigDstIP, cidr); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f); err != nil {
		t.Errorf("clear conntrack entries to %s: %v", cidr, err)
	}
}

// Issue 11: a UDP Service answers through its cluster IP from a named UDP
// targetPort and spreads new clients over its endpoints; with
// sessionAffinity ClientIP every datagram of one client pod lands on one
// endpoint, whatever its source port.
func TestServiceUDPAndClientIPAffinity(t *testing.T) {
	e, prefix := newServiceEnv(t)
	t.Cleanup(func() { clearServiceConntrack(t, e) })
	bin := buildUDPEcho(t)
	ns := startClientPod(t, e)
	echoIP, stickyIP := prefix+".20", prefix+".21"
	var m []string
	for i := range 3 {
		m = append(m, udpPod(fmt.Sprintf("udp-%d", i), "app: udp", bin))
	}
	m = append(m, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  clusterIP: %s
  selector: {app: udp}
  ports: [{name: dns, port: 53, protocol: UDP, targetPort: echo}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  clusterIP: %s
  selector: {app: udp}
  sessionAffinity: ClientIP
  ports: [{port: 53, protocol: UDP, targetPort: 5353}]
`, echoIP, stickyIP))
	e.apply(strings.Join(m, "---\n"))
	for i := range 3 {
		e.waitRunning(fmt.Sprintf("udp-%d", i), 60*time.Second)
	}
	e.waitEndpoints("echo", 3, 30*time.Second)
	e.waitEndpoints("sticky", 3, 30*time.Second)

	spread := answersFrom(t, ns, echoIP+":53", 30)
	t.Logf("30 client ports through the UDP Service %s: %v", echoIP, spread)
	if len(spread) < 2 {
		t.Errorf("30 clients of the UDP Service all reached one endpoint: %v", spread)
	}
	for name := range spread {
		if !strings.HasPrefix(name, "udp-") {
			t.Errorf("answer %q is no endpoint's", name)
		}
	}
	sticky := answersFrom(t, ns, stickyIP+":53", 30)
	t.Logf("30 client ports through the ClientIP-affine Service %s: %v", stickyIP, sticky)
	if len(sticky) != 1 {
		t.Errorf("one client pod reached %d endpoints through a ClientIP-affine Service, want one: %v", len(sticky), sticky)
	}
	for _, s := range []string{"echo", "sticky"} {
		e.podctl("delete", "svc", s)
	}
	if c := e.census(t); len(c.ServiceChains)+len(c.ServiceJumps) > 0 {
		t.Errorf("Service rules left after the last Service was deleted: %v %v", c.ServiceChains, c.ServiceJumps)
	}
}

// Issue 11: a UDP client that keeps sending from one source port follows
// its Service to a new endpoint once the old one's pod is deleted: the
// daemon clears the conntrack entry that pinned it to the dead endpoint,
// as kube-proxy does (else the entry, refreshed by every datagram, never
// expires).
func TestServiceUDPConntrackFollowsEndpoint(t *testing.T) {
	e, prefix := newServiceEnv(t)
	t.Cleanup(func() { clearServiceConntrack(t, e) })
	bin := buildUDPEcho(t)
	ns := startClientPod(t, e)
	svcIP := prefix + ".30"
	e.apply(udpPod("udp-a", "app: flip", bin) + "---\n" + fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: flip}
spec:
  clusterIP: %s
  selector: {app: flip}
  ports: [{port: 53, protocol: UDP, targetPort: 5353}]
`, svcIP))
	e.waitRunning("udp-a", 60*time.Second)
	e.waitEndpoints("flip", 1, 30*time.Second)
	conn := udpSocket(t, ns, 40053)
	addr := svcIP + ":53"
	testutil.WaitFor(t, 10*time.Second, "udp-a answering", func() (bool, error) {
		return ask(conn, addr, 300*time.Millisecond) == "udp-a", nil
	})

	// The client keeps sending from its port while the endpoint changes.
	stop := make(chan struct{})
	answers := make(chan string, 1024)
	go func() {
		defer close(answers)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if a := ask(conn, addr, 200*time.Millisecond); a != "" {
				answers <- a
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		for range answers {
		}
	})
	e.podctl("delete", "pod", "udp-a")
	e.apply(udpPod("udp-b", "app: flip", bin))
	e.waitRunning("udp-b", 60*time.Second)
	e.waitEndpoints("flip", 1, 30*time.Second)
	deadline := time.After(testutil.Scaled(20 * time.Second))
	for {
		select {
		case a := <-answers:
			if a == "udp-b" {
				t.Logf("the client on port 40053 reached udp-b")
				e.podctl("delete", "svc", "flip")
				return
			}
		case <-deadline:
			t.Fatalf("a client sending from one port never reached the new endpoint udp-b within 20s: its conntrack entry still points at the deleted udp-a")
		}
	}
}
