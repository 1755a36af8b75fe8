package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// RunRemovingPortmapChains runs m's tests and then removes the nat chains
// the portmap plugin creates at its first hostPort sandbox and shares
// between all of them (it never removes them), when they did not exist
// before the run: on a host that had none, every run left CNI-HOSTPORT-DNAT,
// -MASQ and -SETMARK and their three jumps behind. Nothing is removed while
// a sandbox (of another package's tests, running alongside) still has a
// port mapping: a rule in CNI-HOSTPORT-DNAT. It returns m.Run's code.
func RunRemovingPortmapChains(m *testing.M) int {
	had := exec.Command("iptables", "-w", "-t", "nat", "-S", "CNI-HOSTPORT-DNAT").Run() == nil
	code := m.Run()
	if !had {
		removePortmapChains()
	}
	return code
}

// portmapJumps are the rules by which the portmap plugin's shared chains
// are reached, as iptables -S prints them.
var portmapJumps = []string{
	`PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`,
	`OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT`,
	`POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`,
}

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
