package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/podd-dev/podd/network/proxier"
)

// census counts what a daemon holds on the host, so a test can prove that
// nothing is left behind after delete or a failed create.
type census struct {
	NetnsPins []string
	Mounts    []string
	Cgroups   []string
	IPs       []string
	Veths     []string
	Shims     []string
	// Chains are the nat chains the CNI plugins made for this env's
	// network (bridge masquerade CNI-<hash>, portmap CNI-DN-<hash>).
	Chains []string
	// ServiceChains are the daemon's own Service chains (package
	// proxier), "table/chain"; ServiceJumps the rules entering them.
	ServiceChains []string
	ServiceJumps  []string
}

func (e *env) census(t testing.TB) census {
	t.Helper()
	var c census
	ents, _ := os.ReadDir(filepath.Join(e.runRoot, "netns"))
	for _, en := range ents {
		c.NetnsPins = append(c.NetnsPins, en.Name())
	}
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			// The netns pin dir is a bind of itself by design, and a
			// benchmark's run root a tmpfs of the env's; count what is
			// inside them.
			if len(f) > 4 && strings.HasPrefix(f[4], e.dir+"/") && f[4] != filepath.Join(e.runRoot, "netns") &&
				(!e.runTmpfs || f[4] != e.runRoot) {
				c.Mounts = append(c.Mounts, f[4])
			}
		}
	}
	for _, d := range cgroupDirs(e.cgroupParent) {
		filepath.WalkDir(d, func(p string, de os.DirEntry, err error) error {
			// The parent, the shims' parent and the cgroup of the spare
			// shim (one per daemon, killed when it stops) are the
			// daemon's, not a pod's.
			if err == nil && de.IsDir() && p != d && p != filepath.Join(d, "shims") && p != filepath.Join(d, "shims", "spare") {
				c.Cgroups = append(c.Cgroups, p)
			}
			return nil
		})
	}
	ipEnts, _ := os.ReadDir(e.leaseDir())
	for _, en := range ipEnts {
		if n := en.Name(); n != "lock" && !strings.HasPrefix(n, "last_reserved_ip") {
			c.IPs = append(c.IPs, n)
		}
	}
	if br, err := netlink.LinkByName(e.bridge); err == nil {
		links, _ := netlink.LinkList()
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				c.Veths = append(c.Veths, l.Attrs().Name)
			}
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), "podd-shim") && strings.Contains(string(cmdline), e.runRoot) {
			c.Shims = append(c.Shims, p.Name())
		}
	}
	c.Chains = natChains(t, e.networkName())
	c.ServiceChains, c.ServiceJumps = serviceRules(t, e.rulesTag())
	sort.Strings(c.Mounts)
	return c
}

func (c census) empty() bool {
	return len(c.NetnsPins)+len(c.Mounts)+len(c.Cgroups)+len(c.IPs)+len(c.Veths)+len(c.Shims)+len(c.Chains)+
		len(c.ServiceChains)+len(c.ServiceJumps) == 0
}

// natChains lists the per-container nat chains of CNI network name: the
// plugins tag every rule they add with a comment `name: "<network>" id:
// "<container id>"` (bridge masquerade; portmap prefixes it with "dnat"),
// so a chain is this network's when a rule in it, or a rule jumping to it,
// carries that comment. The shared CNI-HOSTPORT-* chains are not counted.
func natChains(t testing.TB, network string) []string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").Output()
	if err != nil {
		t.Fatalf("census: iptables -t nat -S: %v", err)
	}
	tag := `name: \"` + network + `\" id: \"`
	seen := map[string]bool{}
	var chains []string
	add := func(ch string) {
		if strings.HasPrefix(ch, "CNI-") && !strings.HasPrefix(ch, "CNI-HOSTPORT-") && !seen[ch] {
			seen[ch] = true
			chains = append(chains, ch)
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, tag) {
			continue
		}
		f := strings.Fields(line)
		add(f[1])
		for i := range f {
			if f[i] == "-j" && i+1 < len(f) {
				add(f[i+1])
			}
		}
	}
	sort.Strings(chains)
	return chains
}

// cgroupDirs lists the directories of a cgroup path in every mounted
// hierarchy (v1 controllers and the unified one).
func cgroupDirs(parent string) []string {
	var out []string
	ents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, en := range ents {
		d := filepath.Join("/sys/fs/cgroup", en.Name(), parent)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	if st, err := os.Stat(filepath.Join("/sys/fs/cgroup", parent)); err == nil && st.IsDir() {
		out = append(out, filepath.Join("/sys/fs/cgroup", parent))
	}
	return out
}

// removeCgroupTree removes cgroup directories bottom-up (rmdir only: cgroupfs
// directories cannot be unlinked recursively).
func removeCgroupTree(root string) {
	var dirs []string
	filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err == nil && de.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	// A failed test can leave processes whose shim is gone (a pause, a
	// container): kill them, or the cgroups (and the census of every later
	// test) keep them. A frozen v1 cgroup must thaw for SIGKILL to land.
	for i := len(dirs) - 1; i >= 0; i-- {
		os.WriteFile(filepath.Join(dirs[i], "freezer.state"), []byte("THAWED"), 0)
		os.WriteFile(filepath.Join(dirs[i], "cgroup.freeze"), []byte("0"), 0)
		deadline := time.Now().Add(5 * time.Second)
		for {
			data, err := os.ReadFile(filepath.Join(dirs[i], "cgroup.procs"))
			pids := strings.Fields(string(data))
			if err != nil || len(pids) == 0 || time.Now().After(deadline) {
				break
			}
			for _, p := range pids {
				if pid, err := strconv.Atoi(p); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			time.Sleep(10 * time.Millisecond) // until the kernel has reaped them
		}
		syscall.Rmdir(dirs[i])
	}
}

// removeNatChains removes what natChains finds for network, and the rules
// that jump to those chains (a failed test's leftovers). iptables -S prints
// rules shell-quoted, so a rule is deleted by replaying it with -D.
func removeNatChains(network string) {
	out, err := exec.Command("iptables", "-w", "-t", "nat", "-S").Output()
	if err != nil {
		return
	}
	tag := `name: \"` + network + `\" id: \"`
	var chains []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "-A ") || !strings.Contains(line, tag) {
			continue
		}
		f := strings.Fields(line)
		if strings.HasPrefix(f[1], "CNI-") && !strings.HasPrefix(f[1], "CNI-HOSTPORT-") {
			chains = append(chains, f[1])
			continue
		}
		exec.Command("sh", "-c", "iptables -w -t nat -D "+strings.TrimPrefix(line, "-A ")).Run()
	}
	for _, ch := range chains {
		exec.Command("iptables", "-w", "-t", "nat", "-F", ch).Run()
		exec.Command("iptables", "-w", "-t", "nat", "-X", ch).Run()
	}
}

// rulesTag is the tag of this env's daemon's Service chains.
func (e *env) rulesTag() string { return proxier.TagFor(e.root) }

// serviceRules lists the Service chains of tag and every rule anywhere
// that names one of them.
func serviceRules(t testing.TB, tag string) (chains, jumps []string) {
	t.Helper()
	chains, err := proxier.ListChains(tag)
	if err != nil {
		t.Fatalf("census: %v", err)
	}
	for _, table := range []string{"nat", "filter"} {
		out, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			t.Fatalf("census: iptables -t %s -S: %v", table, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "-A ") && !strings.HasPrefix(line, "-A "+proxier.ChainPrefix(tag)) && strings.Contains(line, proxier.ChainPrefix(tag)) {
				jumps = append(jumps, table+": "+line)
			}
		}
	}
	return chains, jumps
}
