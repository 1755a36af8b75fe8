package shim_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestShimMemory reports the shim's RSS and PSS with one and with five
// running containers (run with -v to see them) and fails on a blow-up.
func TestShimMemory(t *testing.T) {
	p := startPod(t)
	root := p.rootfs("r")
	for i := range 5 {
		p.create(p.config(fmt.Sprintf("mem-%d", i), root, "sleep", "1000"))
		if i == 0 || i == 4 {
			rss, pss, anon := smapsRollup(t, p.c.Pid())
			t.Logf("shim with %d running container(s): RSS %d KiB, PSS %d KiB, anonymous %d KiB", i+1, rss, pss, anon)
			if rss > 64<<10 {
				t.Errorf("shim RSS %d KiB is over 64 MiB", rss)
			}
		}
	}
}

// smapsRollup returns a process's Rss, Pss and anonymous memory in KiB.
func smapsRollup(t *testing.T, pid int) (rss, pss, anon int) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		n, _ := strconv.Atoi(fields[1])
		switch fields[0] {
		case "Rss:":
			rss = n
		case "Pss:":
			pss = n
		case "Anonymous:":
			anon = n
		}
	}
	return rss, pss, anon
}
