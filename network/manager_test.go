package network

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/test/testutil"
)

// testNet is an isolated podd network: its own bridge, /24, dirs and
// manager, all removed at cleanup even when the test fails.
type testNet struct {
	m       *Manager
	bridge  string
	subnet  *net.IPNet
	ipamDir string // host-local's per-network dir
	confDir string
	runRoot string
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newTestNet writes a conflist for a unique bridge pdt<hex4> and subnet
// 10.250.x.0/24 (extra plugins appended to the chain, as JSON objects) and
// starts a Manager on it.
func newTestNet(t *testing.T, extraPlugins ...string) *testNet {
	t.Helper()
	testutil.RequireRoot(t)
	base, err := os.MkdirTemp("/tmp", "pdt")
	if err != nil {
		t.Fatal(err)
	}
	x, _ := rand.Int(rand.Reader, big.NewInt(250))
	tn := &testNet{
		bridge:  "pdt" + randHex(t, 2),
		confDir: filepath.Join(base, "net.d"),
		runRoot: filepath.Join(base, "run"),
	}
	_, tn.subnet, _ = net.ParseCIDR(fmt.Sprintf("10.250.%d.0/24", x.Int64()+1))
	root := filepath.Join(base, "root")
	ipam := filepath.Join(root, "cni", "ipam")
	// The network is named after the bridge: GC releases the masquerade
	// rules of its network, and other tests on the host use theirs.
	tn.ipamDir = filepath.Join(ipam, tn.bridge)
	t.Cleanup(func() { tn.cleanup(t, base) })

	conf, err := cni.DefaultConflist(cni.DefaultOptions{Name: tn.bridge, Bridge: tn.bridge, Subnet: tn.subnet.String(), IPAMDataDir: ipam})
	if err != nil {
		t.Fatal(err)
	}
	if len(extraPlugins) > 0 {
		s := strings.TrimRight(string(conf), "\n ")
		i := strings.LastIndex(s, "]")
		conf = []byte(s[:i] + "," + strings.Join(extraPlugins, ",") + s[i:])
	}
	if err := os.MkdirAll(tn.confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tn.confDir, "10-test.conflist"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	tn.m, err = New(Config{NetnsDir: filepath.Join(tn.runRoot, "netns"), CNICacheDir: filepath.Join(root, "cni", "cache"),
		IPAMDir: ipam, ConfDir: tn.confDir})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tn
}

func (tn *testNet) cleanup(t *testing.T, base string) {
	if tn.m != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tn.m.GC(ctx, nil); err != nil {
			t.Logf("cleanup gc: %v", err)
		}
	}
	if err := cni.RemoveMasquerade(tn.bridge); err != nil {
		t.Logf("cleanup masquerade: %v", err)
	}
	if l, err := netlink.LinkByName(tn.bridge); err == nil {
		_ = netlink.LinkDel(l)
	}
	_ = unix.Unmount(filepath.Join(tn.runRoot, "netns"), unix.MNT_DETACH)
	_ = os.RemoveAll(base)
}

func (tn *testNet) setup(t *testing.T, id string, pms ...PortMapping) *Attachment {
	t.Helper()
	a, err := tn.m.Setup(context.Background(), SetupRequest{PodUID: "uid-" + id, Namespace: "ns1", Name: "pod-" + id, SandboxID: id, PortMappings: pms})
	if err != nil {
		t.Fatalf("Setup %s: %v", id, err)
	}
	return a
}

// listenIn starts a TCP echo-less listener on port inside the netns at path;
// it accepts and closes connections until the test ends.
func listenIn(t *testing.T, path string, port int) {
	t.Helper()
	var l net.Listener
	err := ns.WithNetNSPath(path, func(ns.NetNS) error {
		var err error
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func bridgePorts(t *testing.T, bridge string) int {
	t.Helper()
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return 0
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			n++
		}
	}
	return n
}

func ipReserved(t *testing.T, tn *testNet, ip net.IP) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(tn.ipamDir, ip.String()))
	return err == nil
}

func reservedIPs(t *testing.T, tn *testNet) []string {
	t.Helper()
	entries, _ := os.ReadDir(tn.ipamDir)
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

func inMountinfo(t *testing.T, path string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(data), " "+path+" ")
}

func TestSetupTwoSandboxesReachableAndTeardown(t *testing.T) {
	tn := newTestNet(t)
	ids := []string{"sba" + randHex(t, 4), "sbb" + randHex(t, 4)}
	atts := make([]*Attachment, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range ids { // concurrently: Setup must allow it
		wg.Add(1)
		go func() {
			defer wg.Done()
			atts[i], errs[i] = tn.m.Setup(context.Background(), SetupRequest{PodUID: "u" + id, Namespace: "ns1", Name: id, SandboxID: id})
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("Setup %s: %v", ids[i], errs[i])
		}
	}
	a, b := atts[0], atts[1]
	if len(a.IPs) != 1 || len(b.IPs) != 1 || a.IPs[0].Equal(b.IPs[0]) {
		t.Fatalf("IPs = %v and %v, want one distinct IP each", a.IPs, b.IPs)
	}
	for _, at := range atts {
		if !tn.subnet.Contains(at.IPs[0]) || at.Interface != "eth0" || at.Network != tn.bridge || len(at.ConfigBytes) == 0 {
			t.Fatalf("attachment = %+v", at)
		}
		if strings.Contains(string(at.ConfigBytes), "portmap") {
			t.Errorf("sandbox %s without a hostPort ran portmap: %s", at.SandboxID, at.ConfigBytes)
		}
		if at.NetnsPath != filepath.Join(tn.runRoot, "netns", at.SandboxID) || !inMountinfo(t, at.NetnsPath) {
			t.Fatalf("netns %s not pinned", at.NetnsPath)
		}
		listenIn(t, at.NetnsPath, 8080)
		if err := dial(net.JoinHostPort(at.IPs[0].String(), "8080")); err != nil {
			t.Errorf("host cannot reach %s: %v", at.SandboxID, err)
		}
	}
	err := ns.WithNetNSPath(a.NetnsPath, func(ns.NetNS) error {
		return dial(net.JoinHostPort(b.IPs[0].String(), "8080"))
	})
	if err != nil {
		t.Errorf("sandbox a cannot reach sandbox b: %v", err)
	}
	if got := len(reservedIPs(t, tn)); got != 2 {
		t.Errorf("reserved IPs = %d, want 2", got)
	}
	if got := bridgePorts(t, tn.bridge); got != 2 {
		t.Errorf("veths on bridge = %d, want 2", got)
	}

	for _, at := range atts {
		for i := range 2 { // second Teardown is a no-op
			if err := tn.m.Teardown(context.Background(), at.SandboxID); err != nil {
				t.Fatalf("Teardown #%d of %s: %v", i+1, at.SandboxID, err)
			}
		}
		if ipReserved(t, tn, at.IPs[0]) {
			t.Errorf("IP %s still reserved after Teardown", at.IPs[0])
		}
		if _, err := os.Stat(at.NetnsPath); !os.IsNotExist(err) {
			t.Errorf("pin %s still there: %v", at.NetnsPath, err)
		}
		if inMountinfo(t, at.NetnsPath) {
			t.Errorf("pin %s still mounted", at.NetnsPath)
		}
	}
	if got := bridgePorts(t, tn.bridge); got != 0 {
		t.Errorf("veths on bridge after Teardown = %d, want 0", got)
	}
	if cached, err := tn.m.cni.ListCachedAttachments(); err != nil || len(cached) != 0 {
		t.Errorf("cni cache after Teardown = %v, %v; want empty", cached, err)
	}
}

func TestSetupFailingAtAddLeavesNothing(t *testing.T) {
	tn := newTestNet(t, `{"type":"podd-no-such-plugin"}`)
	id := "sbf" + randHex(t, 4)
	_, err := tn.m.Setup(context.Background(), SetupRequest{Namespace: "ns1", Name: "bad", SandboxID: id})
	if err == nil {
		t.Fatal("Setup succeeded with a missing plugin")
	}
	if !strings.Contains(err.Error(), "podd-no-such-plugin") {
		t.Errorf("error does not name the plugin: %v", err)
	}
	path := tn.m.NetnsPath(id)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pin left behind: %v", err)
	}
	if inMountinfo(t, path) {
		t.Errorf("pin mount left behind")
	}
	// host-local ran (it records its last pick) and the rollback freed it.
	if _, err := os.Stat(filepath.Join(tn.ipamDir, "last_reserved_ip.0")); err != nil {
		t.Errorf("the bridge plugin never allocated, so rollback was not exercised: %v", err)
	}
	if ips := reservedIPs(t, tn); len(ips) != 0 {
		t.Errorf("IP reservations left behind: %v", ips)
	}
	if got := bridgePorts(t, tn.bridge); got != 0 {
		t.Errorf("veths left on bridge: %d", got)
	}
	if err := tn.m.Teardown(context.Background(), id); err != nil {
		t.Errorf("Teardown after failed Setup: %v", err)
	}
}

func TestTeardownWithPinGoneAndGC(t *testing.T) {
	tn := newTestNet(t)
	gone := tn.setup(t, "sbg"+randHex(t, 4))
	stale := tn.setup(t, "sbs"+randHex(t, 4))
	live := tn.setup(t, "sbl"+randHex(t, 4))

	// The pin vanished (a reboot clears /run, a crash between unpin and
	// DEL): DEL runs with an empty netns. The bridge plugin then frees the
	// IP but skips its ipMasq teardown (it reads the addresses from the
	// netns); Teardown removes those rules itself (issue 7 item 9). podd
	// now masquerades the network itself; the sandbox has the rules the
	// plugin made when an earlier podd set it up.
	addMasqChain(t, tn, gone.SandboxID, gone.IPs[0])
	t.Cleanup(func() { deleteMasqChain(t, tn.bridge, gone.SandboxID, gone.IPs[0]) })
	if err := unix.Unmount(gone.NetnsPath, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(gone.NetnsPath); err != nil {
		t.Fatal(err)
	}
	if err := tn.m.Teardown(context.Background(), gone.SandboxID); err != nil {
		t.Fatalf("Teardown with pin gone: %v", err)
	}
	if ipReserved(t, tn, gone.IPs[0]) {
		t.Errorf("IP of %s still reserved", gone.SandboxID)
	}
	if rules := natRules(t); strings.Contains(rules, gone.SandboxID) {
		t.Errorf("nat rules still name sandbox %s after Teardown with its pin gone:\n%s", gone.SandboxID, rules)
	}

	if err := tn.m.Teardown(context.Background(), "never-set-up"); err != nil {
		t.Errorf("Teardown of unknown sandbox: %v", err)
	}

	if err := tn.m.GC(context.Background(), []string{live.SandboxID}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if ipReserved(t, tn, stale.IPs[0]) || inMountinfo(t, stale.NetnsPath) {
		t.Errorf("GC left stale sandbox %s", stale.SandboxID)
	}
	if !ipReserved(t, tn, live.IPs[0]) || !inMountinfo(t, live.NetnsPath) {
		t.Errorf("GC removed live sandbox %s", live.SandboxID)
	}
	cached, err := tn.m.cni.ListCachedAttachments()
	if err != nil || len(cached) != 1 || cached[0].ContainerID != live.SandboxID || cached[0].IfName != "eth0" || cached[0].NetNS != live.NetnsPath {
		t.Errorf("cache after GC = %+v, %v; want only %s", cached, err, live.SandboxID)
	}
}

func TestR94HostPortViaPortmap(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		// A root test fails, never skips, on a machine missing a tool.
		t.Fatalf("%s=1 but portmap needs iptables (make deps installs it): %v", testutil.RootEnv, err)
	}
	tn := newTestNet(t)
	l, err := net.Listen("tcp", "127.0.0.1:0") // find a free host port
	if err != nil {
		t.Fatal(err)
	}
	hostPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	id := "sbp" + randHex(t, 4)
	at := tn.setup(t, id, PortMapping{HostPort: int32(hostPort), ContainerPort: 8080, Protocol: "TCP"})
	listenIn(t, at.NetnsPath, 8080)
	addr := fmt.Sprintf("127.0.0.1:%d", hostPort)
	testutil.WaitFor(t, 5*time.Second, "hostPort "+addr+" forwarded", func() (bool, error) {
		err := dial(addr)
		return err == nil, err
	})
	if !strings.Contains(natRules(t), id) {
		t.Errorf("no portmap rule names sandbox %s", id)
	}
	if err := tn.m.Teardown(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if rules := natRules(t); strings.Contains(rules, id) {
		t.Errorf("nat rules still name sandbox %s after Teardown:\n%s", id, rules)
	}
}

func natRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -t nat -S: %v: %s", err, out)
	}
	return string(out)
}

// addMasqChain makes the bridge plugin's ipMasq chain and rule of one
// attachment, as the plugin (and a podd before it masqueraded networks
// itself) made them.
func addMasqChain(t *testing.T, tn *testNet, id string, ip net.IP) {
	t.Helper()
	chain := fmt.Sprintf("CNI-%x", sha512.Sum512([]byte(tn.bridge+id)))[:28]
	comment := fmt.Sprintf("name: %q id: %q", tn.bridge, id)
	for _, args := range [][]string{
		{"-t", "nat", "-N", chain},
		{"-t", "nat", "-A", chain, "-d", tn.subnet.String(), "-m", "comment", "--comment", comment, "-j", "ACCEPT"},
		{"-t", "nat", "-A", chain, "!", "-d", "224.0.0.0/4", "-m", "comment", "--comment", comment, "-j", "MASQUERADE"},
		{"-t", "nat", "-A", "POSTROUTING", "-s", ip.String() + "/32", "-m", "comment", "--comment", comment, "-j", chain},
	} {
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v: %v: %s", args, err, out)
		}
	}
	if !strings.Contains(natRules(t), id) {
		t.Fatalf("no masquerade rule names sandbox %s", id)
	}
}

// deleteMasqChain removes the bridge plugin's ipMasq rule and chain of one
// attachment, as the plugin names them (CNI- + sha512(network+id), 28 chars).
func deleteMasqChain(t *testing.T, network, id string, ip net.IP) {
	chain := fmt.Sprintf("CNI-%x", sha512.Sum512([]byte(network+id)))[:28]
	comment := fmt.Sprintf("name: %q id: %q", network, id)
	for _, args := range [][]string{
		{"-t", "nat", "-D", "POSTROUTING", "-s", ip.String() + "/32", "-m", "comment", "--comment", comment, "-j", chain},
		{"-t", "nat", "-F", chain},
		{"-t", "nat", "-X", chain},
	} {
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Logf("iptables %v: %v: %s", args, err, out)
		}
	}
}

// forgetCachedResult drops libcni's cached ADD result of sandbox id, as a
// crash between the plugins' ADD and libcni's cache write leaves it.
func forgetCachedResult(t *testing.T, tn *testNet, id string) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(tn.runRoot), "root", "cni", "cache", "results")
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if strings.Contains(e.Name(), id) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no cached result of %s in %s", id, dir)
	}
}

// Issue 7 item 9: GC releases the network of sandboxes no record holds even
// when libcni never cached their result: an uncached attachment with its
// pin (a crash during ADD), and a bare lease with the masquerade rules
// (the pin gone too). No lease, rule or pin is left; live ones stay.
func TestGCReleasesUncachedAttachmentsLeasesAndMasqueradeRules(t *testing.T) {
	tn := newTestNet(t)
	uncached := tn.setup(t, "sbu"+randHex(t, 4))
	bare := tn.setup(t, "sbb"+randHex(t, 4))
	live := tn.setup(t, "sbl"+randHex(t, 4))
	// Set up by an earlier podd: with the bridge plugin's masquerade rules.
	for _, a := range []*Attachment{uncached, bare, live} {
		addMasqChain(t, tn, a.SandboxID, a.IPs[0])
		t.Cleanup(func() { deleteMasqChain(t, tn.bridge, a.SandboxID, a.IPs[0]) })
	}
	forgetCachedResult(t, tn, uncached.SandboxID)
	forgetCachedResult(t, tn, bare.SandboxID)
	if err := unix.Unmount(bare.NetnsPath, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(bare.NetnsPath); err != nil {
		t.Fatal(err)
	}

	if err := tn.m.GC(context.Background(), []string{live.SandboxID}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	rules := natRules(t)
	for _, a := range []*Attachment{uncached, bare} {
		if ipReserved(t, tn, a.IPs[0]) {
			t.Errorf("lease of %s left", a.SandboxID)
		}
		if strings.Contains(rules, a.SandboxID) {
			t.Errorf("nat rules of %s left:\n%s", a.SandboxID, rules)
		}
		if inMountinfo(t, a.NetnsPath) {
			t.Errorf("pin of %s left", a.SandboxID)
		}
	}
	if !ipReserved(t, tn, live.IPs[0]) || !strings.Contains(rules, live.SandboxID) || !inMountinfo(t, live.NetnsPath) {
		t.Errorf("GC released the live sandbox %s", live.SandboxID)
	}
}

// Ready says why a sandbox could not get a network (CRI's NetworkReady).
func TestReadyNamesWhatIsMissing(t *testing.T) {
	tn := newTestNet(t)
	if err := tn.m.Ready(); err != nil {
		t.Fatalf("Ready with a valid network: %v", err)
	}
	missing := filepath.Join(tn.confDir, "00-missing.conflist")
	if err := os.WriteFile(missing, []byte(`{"cniVersion":"1.0.0","name":"m","plugins":[{"type":"nosuchplugin"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tn.m.Ready(); err == nil || !strings.Contains(err.Error(), "nosuchplugin") {
		t.Errorf("Ready with a missing plugin = %v", err)
	}
	for _, f := range []string{missing, filepath.Join(tn.confDir, "10-test.conflist")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := tn.m.Ready(); err == nil || !strings.Contains(err.Error(), "no CNI configuration in "+tn.confDir) {
		t.Errorf("Ready with no configuration = %v", err)
	}
	if files, _ := cni.ConfFiles(tn.confDir); len(files) != 0 {
		t.Errorf("Ready wrote %v", files)
	}
}
