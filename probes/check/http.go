package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/podd-dev/podd/internal/version"
)

// maxRedirects is how many same-host redirects an httpGet check follows.
const maxRedirects = 10

// HTTPGetRequest is one httpGet check, already resolved to a host and port.
type HTTPGetRequest struct {
	// Scheme is "HTTP" or "HTTPS" in any case; empty means HTTP. HTTPS
	// certificates are not verified.
	Scheme string
	// Host is the IP or name to connect to.
	Host string
	// Port is the TCP port, 1..65535.
	Port int
	// Path is the request path, optionally with a query ("/healthz?full=1").
	Path string
	// Headers are sent as given. User-Agent defaults to
	// "kube-probe/<podd version>" and Accept to "*/*" unless present; an
	// Accept present but empty is dropped; Host sets the request's host.
	Headers http.Header
	// Timeout bounds the whole request including reading the body; zero or
	// less means no limit beyond ctx.
	Timeout time.Duration
}

// URL returns the URL the request goes to.
func (r HTTPGetRequest) URL() *url.URL {
	u, err := url.Parse(r.Path)
	if err != nil {
		// A path the parser rejects is passed along as is, as the kubelet does.
		u = &url.URL{Path: r.Path}
	}
	u.Scheme = strings.ToLower(r.Scheme)
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	u.Host = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
	return u
}

// HTTPGet sends one GET and judges the final response: status 200–399 is
// Success and output is the body (at most MaxOutput bytes read); any other
// status, a connection error or a timeout is Failure with the reason as output.
//
// Redirects are followed up to 10 times while they stay on the same host. A
// redirect to another host is not followed: the check is a Success and warning
// says so (the caller records a ProbeWarning event). warning is empty
// otherwise. Keep-alives are off, so each check opens its own connection
// (see oneShotTransport).
func HTTPGet(ctx context.Context, r HTTPGetRequest) (result Result, output, warning string, err error) {
	return PrepareHTTPGet(r).Run(ctx, r.Timeout)
}

// HTTPGetCheck is an httpGet check built once and run many times (a probe
// every period): its URL and headers are worked out when it is prepared,
// not on every run.
type HTTPGetCheck struct {
	url    *url.URL
	target string // url as text, for errors
	header http.Header
	host   string // the Host header, "" for the URL's host
	err    error  // why no request can be made of it
}

// PrepareHTTPGet builds r's check; r.Timeout is Run's to give.
func PrepareHTTPGet(r HTTPGetRequest) *HTTPGetCheck {
	u := r.URL()
	c := &HTTPGetCheck{target: u.String(), header: probeHeaders(r.Headers, "kube-probe/"+version.Version)}
	c.host = c.header.Get("Host")
	// The URL as a request would parse it (as http.NewRequest does).
	if c.url, c.err = url.Parse(c.target); c.err != nil {
		c.err = fmt.Errorf("http check %s: %w", c.target, c.err)
	}
	return c
}

// Run sends the GET once (see HTTPGet), within timeout when it is
// positive.
func (c *HTTPGetCheck) Run(ctx context.Context, timeout time.Duration) (result Result, output, warning string, err error) {
	if c.err != nil {
		return Unknown, "", "", c.err
	}
	u := c.target
	// The timeout is the request's context rather than the client's Timeout,
	// which would cost a goroutine per check with a transport other than
	// net/http's; the outputs name it as net/http's client does.
	rctx, timedOut := ctx, func() bool { return false }
	if timeout > 0 {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		rctx = tctx
		timedOut = func() bool { return ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) }
	}
	// A request of its own each run, sharing the prepared URL and header:
	// the client and the transport only read them (a redirect or an
	// Authorization from the URL's user info gets a header of its own).
	req := (&http.Request{
		Method: http.MethodGet, URL: c.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.header, Host: c.host,
	}).WithContext(rctx)
	res, err := probeClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", "", fmt.Errorf("http check %s: %w", u, ctx.Err())
		}
		out := err.Error()
		if timedOut() {
			out += " (Client.Timeout exceeded while awaiting headers)"
		}
		return Failure, out, "", nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxOutput))
	if err != nil {
		out := fmt.Sprintf("read body of %s: %v", u, err)
		if timedOut() {
			out += " (Client.Timeout or context cancellation while reading body)"
		}
		return Failure, out, "", nil
	}
	body := string(b)
	switch {
	case res.StatusCode >= 300 && res.StatusCode < 400:
		return Success, body, "Probe terminated redirects, Response body: " + body, nil
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return Success, body, "", nil
	default:
		return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), "", nil
	}
}

// probeHeaders copies h and fills in the default User-Agent and Accept.
func probeHeaders(h http.Header, userAgent string) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	if _, ok := out["User-Agent"]; !ok {
		out.Set("User-Agent", userAgent)
	}
	if _, ok := out["Accept"]; !ok {
		out.Set("Accept", "*/*")
	} else if out.Get("Accept") == "" {
		out.Del("Accept")
	}
	return out
}

// sameHostRedirects follows a redirect only to the host of the first request,
// and at most maxRedirects times. A redirect elsewhere ends the chain with the
// redirect response itself.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// probeClient sends every httpGet check: it follows same-host redirects
// only, over a transport that opens a connection per request.
var probeClient = &http.Client{Transport: oneShotTransport{}, CheckRedirect: sameHostRedirects}
