package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The peer of BenchmarkProbeCPU/httpGet: the same GETs at the same rate
// through net/http configured as the kubelet's prober configures it
// (k8s.io/kubernetes/pkg/probe/http: one Transport, keep-alives and
// compression off, no proxy, TLS unverified, sockets lingering 1 s; a
// Client per probe with the probe's timeout, the body read up to 10 KiB).
// It runs as a process of its own (this test binary, re-executed), so its
// CPU is all a prober's: the daemon's figure over the peer's says what
// podd's probing costs beyond a GET's own on this host, which the host's
// speed (a TCP connection to a pod is mostly kernel work) sets.
const (
	httpGetPeerURLs   = "PODD_BENCH_HTTPGET_PEER_URLS"
	httpGetPeerPeriod = "PODD_BENCH_HTTPGET_PEER_PERIOD"
	httpGetPeerFor    = "PODD_BENCH_HTTPGET_PEER_FOR"
)

// httpGetPeerResult is one run of the peer.
type httpGetPeerResult struct {
	cpu      time.Duration
	took     time.Duration
	runs     int
	failures int
}

// runHTTPGetPeer runs the peer (this binary, re-executed) against urls,
// each probed every period on podd's 100 ms run grid, for d.
func runHTTPGetPeer(tb testing.TB, urls []string, period, d time.Duration) httpGetPeerResult {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), httpGetPeerURLs+"="+strings.Join(urls, " "),
		httpGetPeerPeriod+"="+period.String(), httpGetPeerFor+"="+d.String())
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		tb.Fatalf("httpGet peer: %v (%s)", err, out)
	}
	var runs, failures int
	if _, err := fmt.Sscanf(string(out), "runs %d failures %d", &runs, &failures); err != nil {
		tb.Fatalf("httpGet peer said %q: %v", out, err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		tb.Fatal("httpGet peer: no resource usage")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return httpGetPeerResult{cpu: cpu, took: took, runs: runs, failures: failures}
}

// httpGetPeerMain is the peer process's main, when TestMain finds its
// environment: it prints how many GETs it ran and how many failed.
func httpGetPeerMain() int {
	urls := strings.Fields(os.Getenv(httpGetPeerURLs))
	period, err1 := time.ParseDuration(os.Getenv(httpGetPeerPeriod))
	d, err2 := time.ParseDuration(os.Getenv(httpGetPeerFor))
	if len(urls) == 0 || err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "httpGet peer: bad environment")
		return 2
	}
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 1})
		})
		if err != nil {
			return err
		}
		return serr
	}}
	transport := &http.Transport{
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives:  true,
		DisableCompression: true,
		Proxy:              nil,
		DialContext:        dialer.DialContext,
	}
	probe := func(url string) error {
		client := &http.Client{Timeout: time.Second, Transport: transport}
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		req.Header.Set("Accept", "*/*")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(io.LimitReader(resp.Body, 10<<10)); err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	// Each URL once a period, the URLs spread over the period's slots of
	// 100 ms, as podd's run grid spreads its probes.
	const slot = 100 * time.Millisecond
	slots := max(1, int(period/slot))
	var runs, failures atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for i, url := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now().Truncate(period).Add(period + time.Duration(i%slots)*slot)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(period)
				runs.Add(1)
				if probe(url) != nil {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("runs %d failures %d\n", runs.Load(), failures.Load())
	return 0
}

// TestHTTPGetPeerProbes runs the peer against a local server: it probes
// each URL about once a period and counts what failed.
func TestHTTPGetPeerProbes(t *testing.T) {
	var hits atomic.Int64
	ok := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ok.Serve(ln)
	defer ok.Close()
	base := "http://" + ln.Addr().String()
	r := runHTTPGetPeer(t, []string{base + "/a", base + "/b", base + "/bad"}, 200*time.Millisecond, 2*time.Second)
	// About 10 periods of 3 URLs; the first starts at the next period.
	if r.runs < 15 || r.runs > 33 || int64(r.runs) != hits.Load() {
		t.Errorf("%d runs, %d requests served; want about 27 of each", r.runs, hits.Load())
	}
	if r.failures*3 < r.runs-3 || r.failures*3 > r.runs+3 {
		t.Errorf("%d of %d runs failed; want the third of them that probed /bad", r.failures, r.runs)
	}
	if r.cpu <= 0 {
		t.Errorf("peer CPU %s", r.cpu)
	}
}
