package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podd-dev/podd/test/testutil"
)

// u64 is a protobuf UInt64Value as crictl prints it ({"value": "12"}).
type u64 struct {
	Value string `json:"value"`
}

func (v *u64) n(t *testing.T, what string) uint64 {
	t.Helper()
	if v == nil {
		t.Fatalf("%s missing", what)
	}
	n, err := strconv.ParseUint(v.Value, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", what, v.Value, err)
	}
	return n
}

// criStats is what the test reads of a ContainerStats as crictl prints it.
type criStats struct {
	Attributes struct {
		ID string `json:"id"`
	} `json:"attributes"`
	CPU *struct {
		UsageCoreNanoSeconds *u64 `json:"usageCoreNanoSeconds"`
		UsageNanoCores       *u64 `json:"usageNanoCores"`
	} `json:"cpu"`
	Memory *struct {
		WorkingSetBytes *u64 `json:"workingSetBytes"`
		UsageBytes      *u64 `json:"usageBytes"`
	} `json:"memory"`
	WritableLayer *struct {
		UsedBytes  *u64 `json:"usedBytes"`
		InodesUsed *u64 `json:"inodesUsed"`
	} `json:"writableLayer"`
}

func (e *env) crictlStats(id string) criStats {
	e.t.Helper()
	var resp struct {
		Stats []criStats `json:"stats"`
	}
	out := e.crictl("stats", "-o", "json", "--id", id)
	if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Stats) != 1 {
		e.t.Fatalf("crictl stats --id %s: %v\n%s", id, err, out)
	}
	return resp.Stats[0]
}

// crictlEvents follows `crictl events` until the test ends and collects
// what it prints as "<id> <type>" lines. followEvents returns once the
// daemon has subscribed crictl's stream (its log says so), so no change
// made after it is missed.
type crictlEvents struct {
	mu  sync.Mutex
	got []string
}

func (e *env) followEvents() *crictlEvents {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sock := "unix://" + e.criSocket()
	cmd := exec.CommandContext(ctx, crictlBinary(e.t), "--runtime-endpoint", sock, "events", "-o", "json")
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	opened := regexp.MustCompile(`msg="CRI event stream opened"`)
	before := len(opened.FindAllStringIndex(e.logBuf.String(), -1))
	ev := &crictlEvents{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dec := json.NewDecoder(bufio.NewReader(out))
		for {
			var r struct {
				ContainerID string `json:"containerId"`
				Type        string `json:"containerEventType"`
			}
			if err := dec.Decode(&r); err != nil {
				io.Copy(io.Discard, out)
				return
			}
			ev.mu.Lock()
			ev.got = append(ev.got, r.ContainerID+" "+r.Type)
			ev.mu.Unlock()
		}
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
		cmd.Wait()
	})
	testutil.WaitFor(e.t, 30*time.Second, "the daemon to open crictl's event stream", func() (bool, error) {
		return len(opened.FindAllStringIndex(e.logBuf.String(), -1)) > before, nil
	})
	return ev
}

// of returns the event types seen for id, in order.
func (ev *crictlEvents) of(id string) []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []string
	for _, l := range ev.got {
		if typ, ok := strings.CutPrefix(l, id+" "); ok {
			out = append(out, typ)
		}
	}
	return out
}

// Issue 9, stats and events: crictl stats and statsp show a running
// busybox container's CPU (a busy loop: above zero, and a rate between two
// calls), memory and writable layer, and its sandbox's pod cgroup, network
// and processes; crictl events sees the sandbox and the container created,
// started, stopped and deleted; nothing is left after rmp.
func TestCRIStatsAndEventsWithCrictl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := e.followEvents()
	dir := t.TempDir()
	sbCfg := writeJSON(t, filepath.Join(dir, "sandbox.json"), `{
  "metadata": {"name": "cri-stats", "namespace": "cri", "uid": "cri-stats-uid", "attempt": 0},
  "hostname": "cri-stats", "log_directory": "`+filepath.Join(dir, "logs")+`", "labels": {"app": "stats"}, "linux": {}
}`)
	busyCfg := writeJSON(t, filepath.Join(dir, "busy.json"), `{
  "metadata": {"name": "busy"}, "image": {"image": "busybox:latest"},
  "command": ["sh", "-c", "dd if=/dev/urandom of=/written bs=1024 count=512 2>/dev/null; echo ready; while :; do :; done"],
  "log_path": "busy/0.log", "labels": {"tier": "cpu"}, "linux": {}
}`)
	sb := strings.TrimSpace(e.crictl("runp", sbCfg))
	id := strings.TrimSpace(e.crictl("create", "--no-pull", sb, busyCfg, sbCfg))
	e.crictl("start", id)
	testutil.WaitFor(t, 60*time.Second, "busy wrote its file", func() (bool, error) {
		out, err := e.crictlErr("logs", id)
		return err == nil && strings.Contains(out, "ready"), nil
	})

	first := e.crictlStats(id)
	if first.Attributes.ID != id || first.CPU == nil || first.Memory == nil || first.WritableLayer == nil {
		t.Fatalf("crictl stats: %+v", first)
	}
	if n := first.CPU.UsageCoreNanoSeconds.n(t, "usageCoreNanoSeconds"); n == 0 {
		t.Error("a busy loop used no CPU")
	}
	if ws := first.Memory.WorkingSetBytes.n(t, "workingSetBytes"); ws == 0 || ws > first.Memory.UsageBytes.n(t, "usageBytes") {
		t.Errorf("working set %d, usage %s", ws, first.Memory.UsageBytes.Value)
	}
	if used := first.WritableLayer.UsedBytes.n(t, "writable layer usedBytes"); used < 512<<10 {
		t.Errorf("writable layer uses %d bytes, want at least the 512 KiB written", used)
	}
	// The rate is taken from the previous call's sample.
	testutil.WaitFor(t, 30*time.Second, "usageNanoCores above zero", func() (bool, error) {
		s := e.crictlStats(id)
		return s.CPU != nil && s.CPU.UsageNanoCores.n(t, "usageNanoCores") > 0, nil
	})
	if out := e.crictl("stats", "--label", "tier=other", "-o", "json"); strings.Contains(out, id) {
		t.Errorf("crictl stats --label tier=other shows the container:\n%s", out)
	}

	var podStats struct {
		Stats []struct {
			Attributes struct {
				ID     string            `json:"id"`
				Labels map[string]string `json:"labels"`
			} `json:"attributes"`
			Linux struct {
				CPU struct {
					UsageCoreNanoSeconds *u64 `json:"usageCoreNanoSeconds"`
				} `json:"cpu"`
				Memory struct {
					WorkingSetBytes *u64 `json:"workingSetBytes"`
				} `json:"memory"`
				Network *struct {
					DefaultInterface struct {
						Name    string `json:"name"`
						TxBytes *u64   `json:"txBytes"`
					} `json:"defaultInterface"`
				} `json:"network"`
				Process struct {
					ProcessCount *u64 `json:"processCount"`
				} `json:"process"`
				Containers []criStats `json:"containers"`
			} `json:"linux"`
		} `json:"stats"`
	}
	out := e.crictl("statsp", "-o", "json", "--id", sb)
	if err := json.Unmarshal([]byte(out), &podStats); err != nil || len(podStats.Stats) != 1 {
		t.Fatalf("crictl statsp: %v\n%s", err, out)
	}
	ps := podStats.Stats[0]
	l := ps.Linux
	if ps.Attributes.ID != sb || ps.Attributes.Labels["app"] != "stats" {
		t.Errorf("statsp attributes %+v", ps.Attributes)
	}
	if l.CPU.UsageCoreNanoSeconds.n(t, "pod usageCoreNanoSeconds") < first.CPU.UsageCoreNanoSeconds.n(t, "usageCoreNanoSeconds") {
		t.Error("the pod cgroup used less CPU than its container")
	}
	if l.Memory.WorkingSetBytes.n(t, "pod workingSetBytes") == 0 {
		t.Error("the pod cgroup has no working set")
	}
	if l.Network == nil || l.Network.DefaultInterface.Name != "eth0" {
		t.Errorf("pod network %+v, want eth0 as the default interface", l.Network)
	}
	if n := l.Process.ProcessCount.n(t, "processCount"); n < 2 {
		t.Errorf("process count %d, want the pause and the busy loop at least", n)
	}
	if len(l.Containers) != 1 || l.Containers[0].Attributes.ID != id {
		t.Errorf("statsp containers %+v, want busy", l.Containers)
	}

	// A container that ends on its own is reported stopped when it ends,
	// without a client asking for its state first.
	onceCfg := writeJSON(t, filepath.Join(dir, "once.json"), `{
  "metadata": {"name": "once"}, "image": {"image": "busybox:latest"},
  "command": ["sh", "-c", "exit 0"], "log_path": "once/0.log", "linux": {}
}`)
	once := strings.TrimSpace(e.crictl("create", "--no-pull", sb, onceCfg, sbCfg))
	e.crictl("start", once)
	testutil.WaitFor(t, 30*time.Second, "crictl events: once stopped", func() (bool, error) {
		return slices.Contains(events.of(once), "CONTAINER_STOPPED_EVENT"), nil
	})
	e.crictl("rm", once)

	e.crictl("stop", "--timeout", "0", id)
	e.crictl("rm", id)
	e.crictl("stopp", sb)
	e.crictl("rmp", sb)
	want := []string{"CONTAINER_CREATED_EVENT", "CONTAINER_STARTED_EVENT", "CONTAINER_STOPPED_EVENT", "CONTAINER_DELETED_EVENT"}
	for what, of := range map[string]string{"container": id, "sandbox": sb} {
		testutil.WaitFor(t, 30*time.Second, "crictl events of the "+what, func() (bool, error) {
			return len(events.of(of)) >= len(want), nil
		})
		if got := events.of(of); !reflect.DeepEqual(got, want) {
			t.Errorf("crictl events of the %s: %v, want %v", what, got, want)
		}
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}
