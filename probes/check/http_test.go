package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podd-dev/podd/internal/version"
)

// requestFor points an HTTPGetRequest at srv with path.
func requestFor(t *testing.T, srv *httptest.Server, path string) HTTPGetRequest {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return HTTPGetRequest{Scheme: u.Scheme, Host: u.Hostname(), Port: port, Path: path, Timeout: 2 * time.Second}
}

func TestHTTPGet_R48_StatusCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
		fmt.Fprint(w, "body")
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		code int
		want Result
	}{
		{200, Success}, {204, Success}, {299, Success}, {304, Success}, {399, Success},
		{400, Failure}, {404, Failure}, {500, Failure}, {503, Failure},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			res, out, _, err := HTTPGet(context.Background(), requestFor(t, srv, "/"+strconv.Itoa(tt.code)))
			if res != tt.want || err != nil {
				t.Fatalf("HTTPGet = (%v, %q, %v), want %v", res, out, err, tt.want)
			}
			if tt.want == Failure && out != "HTTP probe failed with statuscode: "+strconv.Itoa(tt.code) {
				t.Fatalf("failure output = %q", out)
			}
		})
	}
}

func TestHTTPGet_R48_Headers(t *testing.T) {
	got := make(chan *http.Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r }))
	t.Cleanup(srv.Close)

	tests := []struct {
		name              string
		headers           http.Header
		wantUA, wantHost  string
		wantAccept        string
		wantAcceptPresent bool
	}{
		{"defaults", nil, "kube-probe/" + version.Version, "", "*/*", true},
		{"overridden", http.Header{"User-Agent": {"mine/1"}, "Accept": {"text/plain"}}, "mine/1", "", "text/plain", true},
		{"empty accept dropped", http.Header{"Accept": {""}}, "kube-probe/" + version.Version, "", "", false},
		{"host header", http.Header{"Host": {"svc.example"}}, "kube-probe/" + version.Version, "svc.example", "*/*", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := requestFor(t, srv, "/")
			req.Headers = tt.headers
			if res, out, _, err := HTTPGet(context.Background(), req); res != Success || err != nil {
				t.Fatalf("HTTPGet = (%v, %q, %v)", res, out, err)
			}
			r := <-got
			if ua := r.Header.Get("User-Agent"); ua != tt.wantUA {
				t.Errorf("User-Agent = %q, want %q", ua, tt.wantUA)
			}
			_, present := r.Header["Accept"]
			if r.Header.Get("Accept") != tt.wantAccept || present != tt.wantAcceptPresent {
				t.Errorf("Accept = %q (present %v), want %q (present %v)", r.Header.Get("Accept"), present, tt.wantAccept, tt.wantAcceptPresent)
			}
			if tt.wantHost != "" && r.Host != tt.wantHost {
				t.Errorf("Host = %q, want %q", r.Host, tt.wantHost)
			}
			if !r.Close {
				t.Errorf("keep-alive not disabled: Connection=%q", r.Header.Get("Connection"))
			}
		})
	}
	if _, ok := tests[2].headers["User-Agent"]; ok {
		t.Fatal("HTTPGet added defaults to the caller's header map")
	}
}

func TestHTTPGet_R48_Redirects(t *testing.T) {
	var port string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ok":
			fmt.Fprint(w, "fine")
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/chain/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/chain/"))
			if n == 0 {
				http.Redirect(w, r, "/ok", http.StatusFound)
				return
			}
			http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
		case r.URL.Path == "/elsewhere":
			// Same server, other host name: must not be followed.
			http.Redirect(w, r, "http://localhost:"+port+"/ok", http.StatusMovedPermanently)
		case r.URL.Path == "/broken":
			http.Redirect(w, r, "/fail", http.StatusFound)
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	_, port, _ = net.SplitHostPort(srv.Listener.Addr().String())

	tests := []struct {
		path        string
		want        Result
		wantOut     string
		wantWarning bool
	}{
		{"/chain/8", Success, "fine", false},
		{"/loop", Failure, "stopped after 10 redirects", false},
		{"/broken", Failure, "HTTP probe failed with statuscode: 500", false},
		{"/elsewhere", Success, "Moved Permanently", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, out, warning, err := HTTPGet(context.Background(), requestFor(t, srv, tt.path))
			if res != tt.want || err != nil || !strings.Contains(out, tt.wantOut) || (warning != "") != tt.wantWarning {
				t.Fatalf("HTTPGet = (%v, %q, warning %q, %v), want (%v, ~%q, warning %v)", res, out, warning, err, tt.want, tt.wantOut, tt.wantWarning)
			}
			if tt.wantWarning && !strings.HasPrefix(warning, "Probe terminated redirects") {
				t.Fatalf("warning = %q", warning)
			}
		})
	}
}

func TestHTTPGet_R48_BodyReadAtMost10KiB(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("y", 3*MaxOutput))
	}))
	t.Cleanup(srv.Close)
	res, out, _, err := HTTPGet(context.Background(), requestFor(t, srv, "/"))
	if res != Success || err != nil || len(out) != MaxOutput {
		t.Fatalf("HTTPGet = (%v, %d bytes, %v), want Success with %d bytes", res, len(out), err, MaxOutput)
	}
}

// A server that ignores "Connection: close" and keeps sending a long body
// costs nothing past the 10 KiB read: the connection is closed, not drained.
func TestHTTPGet_R48_LongBodyNotDrained(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		fmt.Fprint(w, strings.Repeat("z", 2*MaxOutput))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	req := requestFor(t, srv, "/")
	req.Timeout = 10 * time.Second
	start := time.Now()
	if res, out, _, err := HTTPGet(context.Background(), req); res != Success || len(out) != MaxOutput || err != nil {
		t.Fatalf("HTTPGet = (%v, %d bytes, %v), want Success with %d bytes", res, len(out), err, MaxOutput)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("HTTPGet took %s: it waited for the rest of the body", d)
	}
}

func TestHTTPGet_R48_HTTPSNotVerified(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "tls") }))
	t.Cleanup(srv.Close)
	req := requestFor(t, srv, "/")
	req.Scheme = "HTTPS"
	if res, out, _, err := HTTPGet(context.Background(), req); res != Success || out != "tls" || err != nil {
		t.Fatalf("HTTPGet = (%v, %q, %v), want Success", res, out, err)
	}
}

func TestHTTPGet_R49_HangingServerCostsAtMostTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	req := requestFor(t, srv, "/")
	req.Timeout = 150 * time.Millisecond
	start := time.Now()
	res, out, _, err := HTTPGet(context.Background(), req)
	if res != Failure || err != nil {
		t.Fatalf("HTTPGet = (%v, %q, %v), want Failure", res, out, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("HTTPGet took %s, want about the 150ms timeout", d)
	}
}

// A timeout's output is net/http's client timeout message, as the kubelet's
// (whose probe client has a Timeout): while awaiting the headers, and while
// reading the body.
func TestHTTPGet_R48_TimeoutOutputs(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body" {
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, "abc")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	for path, want := range map[string]string{
		"/headers": `Get "` + srv.URL + `/headers": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
		"/body":    "read body of " + srv.URL + "/body: context deadline exceeded (Client.Timeout or context cancellation while reading body)",
	} {
		req := requestFor(t, srv, path)
		req.Timeout = 100 * time.Millisecond
		if res, out, _, err := HTTPGet(context.Background(), req); res != Failure || out != want || err != nil {
			t.Errorf("%s: HTTPGet = (%v, %q, %v), want Failure with %q", path, res, out, err, want)
		}
	}
}

func TestHTTPGet_RefusedIsFailure_CancelledIsUnknown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	req := HTTPGetRequest{Host: "127.0.0.1", Port: port, Path: "/", Timeout: time.Second}
	if res, out, _, err := HTTPGet(context.Background(), req); res != Failure || err != nil || !strings.Contains(out, "refused") {
		t.Fatalf("refused: HTTPGet = (%v, %q, %v), want Failure", res, out, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res, _, _, err := HTTPGet(ctx, req); res != Unknown || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: HTTPGet = (%v, %v), want Unknown", res, err)
	}
}

// BenchmarkHTTPGet is one httpGet check against a local server per op: the
// allocations and time a probe costs its caller (the server's share is in
// the time too).
func BenchmarkHTTPGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	b.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	req := HTTPGetRequest{Host: u.Hostname(), Port: port, Path: "/healthz", Timeout: time.Second}
	b.ReportAllocs()
	for b.Loop() {
		if res, out, _, err := HTTPGet(context.Background(), req); res != Success || err != nil {
			b.Fatalf("HTTPGet = (%v, %q, %v)", res, out, err)
		}
	}
}

// BenchmarkHTTPGetCheck is a probe's run: the check prepared once, run
// per op.
func BenchmarkHTTPGetCheck(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	b.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	c := PrepareHTTPGet(HTTPGetRequest{Host: u.Hostname(), Port: port, Path: "/healthz"})
	b.ReportAllocs()
	for b.Loop() {
		if res, out, _, err := c.Run(context.Background(), time.Second); res != Success || err != nil {
			b.Fatalf("Run = (%v, %q, %v)", res, out, err)
		}
	}
}

// A prepared check runs again and again (a probe every period), also
// through redirects, and its prepared header stays as it was.
func TestHTTPGetCheck_R48_RunsRepeatedly(t *testing.T) {
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		agents = append(agents, r.Header.Get("User-Agent")+" "+r.Host)
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	req := requestFor(t, srv, "/start")
	req.Headers = http.Header{"Host": {"svc.example"}}
	c := PrepareHTTPGet(req)
	before := fmt.Sprint(c.header)
	for i := range 3 {
		if res, out, _, err := c.Run(context.Background(), time.Second); res != Success || err != nil || out != "ok" {
			t.Fatalf("run %d = (%v, %q, %v), want Success ok", i, res, out, err)
		}
	}
	if after := fmt.Sprint(c.header); after != before {
		t.Errorf("the prepared header changed across runs: %s → %s", before, after)
	}
	want := "kube-probe/" + version.Version + " svc.example"
	if len(agents) != 3 || agents[0] != want || agents[2] != want {
		t.Errorf("requests at /final: %q, want 3 × %q", agents, want)
	}
}
