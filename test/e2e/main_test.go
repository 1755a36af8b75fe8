package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain removes what the package built once for all its tests (the
// busybox image archive) when they are done: each run left a /tmp/podd-img*
// directory behind. It also removes the portmap plugin's shared nat chains
// when the tests made them (see removePortmapChains).
func TestMain(m *testing.M) {
	hadPortmap := portmapChainsExist()
	code := m.Run()
	if imgTar != "" {
		os.RemoveAll(filepath.Dir(imgTar))
	}
	if !hadPortmap {
		removePortmapChains()
	}
	os.Exit(code)
}

// portmapJumps are the rules by which the portmap plugin's shared
// CNI-HOSTPORT-* chains are reached, as iptables -S prints them.
var portmapJumps = []string{
	`PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`,
	`OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`,
	`POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`,
}

func portmapChainsExist() bool {
	return exec.Command("iptables", "-w", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").Run() == nil
}

// removePortmapChains removes the nat chains the portmap plugin creates at
// its first hostPort sandbox and shares between all of them (it never
// removes them): the tests' first hostPort pod made them on a host that
// had none. Nothing is removed while a sandbox still has a port mapping
// (a rule in CNI-HOSTPORT-DNAT).
func removePortmapChains() {
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").Output()
	if err != nil || strings.Contains(string(out), "-A CNI-HOSTPORT-DNAT") {
		return
	}
	for _, j := range portmapJumps {
		exec.Command("sh", "-c", "iptables -w -t nat -D "+j).Run()
	}
	for _, ch := range []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"} {
		exec.Command("iptables", "-w", "-t", "nat", "-F", ch).Run()
		exec.Command("iptables", "-w", "-t", "nat", "-X", ch).Run()
	}
}
