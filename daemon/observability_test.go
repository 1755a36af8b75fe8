package daemon

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/podd-dev/podd/daemon/metrics"
)

// The metrics listener is loopback unless a remote address is allowed
// explicitly: the metrics have no authentication.
func TestCheckMetricsAddress(t *testing.T) {
	for _, tc := range []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"127.0.0.1:9101", false, true},
		{"127.0.0.1:0", false, true},
		{"[::1]:9101", false, true},
		{"localhost:9101", false, true},
		{":9101", false, false},
		{"0.0.0.0:9101", false, false},
		{"192.0.2.7:9101", false, false},
		{"example.com:9101", false, false},
		{"0.0.0.0:9101", true, true},
		{":9101", true, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, false},
	} {
		err := CheckMetricsAddress(tc.addr, tc.allowRemote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckMetricsAddress(%q, allowRemote=%v) = %v, want ok=%v", tc.addr, tc.allowRemote, err, tc.ok)
		}
	}
}

// The listener serves the registry at /metrics until stopped, and stop
// returns once it has.
func TestServeMetricsUntilStopped(t *testing.T) {
	d := &Daemon{cfg: Config{MetricsAddress: "127.0.0.1:0"}, pods: newPods()}
	d.metrics = metrics.New(d.census)
	addr, stop, err := d.serveMetrics()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		stop()
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "podd_running_pods 0") {
		t.Errorf("GET /metrics: %s\n%s", resp.Status, body)
	}
	stop()
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("metrics still served after stop")
	}
}

func TestServeMetricsRefusesRemoteAddress(t *testing.T) {
	d := &Daemon{cfg: Config{MetricsAddress: "0.0.0.0:0"}}
	if _, _, err := d.serveMetrics(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("serveMetrics on 0.0.0.0: %v, want a refusal", err)
	}
}
