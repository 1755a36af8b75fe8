package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/network/cni"
)

// Issue 13: on a network whose bridge plugin masquerades (ipMasq, as
// podd's default network does), every sandbox got a nat chain and a
// POSTROUTING rule of its own, four iptables runs on ADD and four on DEL,
// each slower as the table grows (a 200-pod burst took 29 % longer to run
// and 65 % longer to delete than without it). podd masquerades the
// network's subnet itself, with one chain for the network. This checks
// both halves: no per-sandbox chain, and pods still reach the outside
// through the host's address (an "outside" netns with no route back to the
// pods answers only masqueraded traffic).
func TestMasqueradeIsOneChainPerNetwork(t *testing.T) {
	e := newEnv(t)
	e.ipMasq = true
	e.defaultRoute = true
	e.writeConflist()
	outside := newOutsideNet(t)

	const pods = 3
	var docs []string
	for i := range pods {
		docs = append(docs, sleepPod(fmt.Sprintf("masq%d", i)))
	}
	e.apply(strings.Join(docs, "---\n"))
	for i := range pods {
		e.waitRunning(fmt.Sprintf("masq%d", i), 60*time.Second)
	}
	if chains := natChains(t, e.networkName()); len(chains) > 0 {
		t.Errorf("%d pods made %d per-sandbox masquerade chains: %v", pods, len(chains), chains)
	}
	rules, jumped, err := cni.MasqueradeRules(e.networkName())
	if err != nil {
		t.Fatal(err)
	}
	if !jumped || !strings.Contains(strings.Join(rules, "\n"), "-s "+e.subnet+" -j MASQUERADE") {
		t.Errorf("network %s: podd's masquerade chain (jumped to: %v) holds no masquerade of %s:\n%s", e.networkName(), jumped, e.subnet, strings.Join(rules, "\n"))
	}
	for i := range pods {
		// busybox nc: the image's static wget crashes on a timeout.
		req := fmt.Sprintf(`printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 5 %s 8080`, outside.ip)
		out, err := e.podctlErr("exec", fmt.Sprintf("masq%d", i), "--", "sh", "-c", req)
		if err != nil || !strings.Contains(out, " 200 ") || !strings.HasSuffix(strings.TrimSpace(out), "outside") {
			t.Errorf("pod masq%d fetched from %s:8080: %v\n%s", i, outside.ip, err, out)
		}
	}
	for i := range pods {
		e.podctl("delete", "pod", fmt.Sprintf("masq%d", i), "--grace-period", "0")
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left behind: %+v", c)
	}
}

// outsideNet is a netns joined to the host by a veth pair, with no route
// to the pod networks, serving "outside" over HTTP.
type outsideNet struct {
	ip string
}

func newOutsideNet(t *testing.T) *outsideNet {
	t.Helper()
	id := fmt.Sprintf("%d", os.Getpid()%100000)
	ns, host, peer := "pdout"+id, "pdoh"+id, "pdop"+id
	third, fourth := os.Getpid()%250, (os.Getpid()/250)%60*4
	hostIP := fmt.Sprintf("198.18.%d.%d", third, fourth+1)
	peerIP := fmt.Sprintf("198.18.%d.%d", third, fourth+2)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	run("ip", "link", "set", peer, "netns", ns)
	run("ip", "addr", "add", hostIP+"/30", "dev", host)
	run("ip", "link", "set", host, "up")
	run("ip", "-n", ns, "addr", "add", peerIP+"/30", "dev", peer)
	run("ip", "-n", ns, "link", "set", peer, "up")
	run("ip", "-n", ns, "link", "set", "lo", "up")
	www := t.TempDir()
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	httpd := exec.Command("ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", peerIP+":8080", "-h", www)
	if err := httpd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		httpd.Process.Kill()
		httpd.Wait()
	})
	// The server listens once the netns shows its socket.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", ns, "busybox", "netstat", "-ltn").Output()
		if strings.Contains(string(out), peerIP+":8080") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("httpd in %s does not listen on %s:8080", ns, peerIP)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &outsideNet{ip: peerIP}
}
