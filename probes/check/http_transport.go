package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// maxResponseHeaderBytes bounds a response's header, as net/http.Transport's
// default does.
const maxResponseHeaderBytes = 10 << 20

// tlsHandshakeTimeout bounds a TLS handshake, as the kubelet's probe
// transport does.
const tlsHandshakeTimeout = 10 * time.Second

// oneShotTransport is the RoundTripper of httpGet checks: one connection per
// request, closed with the response body (no keep-alive, as the kubelet's
// prober), no proxy, no transparent gzip, HTTP/1.1 only, TLS unverified.
// It writes the request and reads the response on the caller's goroutine:
// net/http.Transport spends three goroutines (dial, read loop, write loop)
// and their hand-offs on each such request, which made most of the daemon's
// CPU with 100 pods probed every second.
type oneShotTransport struct{}

func (oneShotTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := validHeader(req.Header); err != nil {
		return nil, err
	}
	port := req.URL.Port()
	switch req.URL.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
	default:
		return nil, fmt.Errorf("unsupported protocol scheme %q", req.URL.Scheme)
	}
	ctx := req.Context()
	conn, err := dialer().DialContext(ctx, "tcp", net.JoinHostPort(req.URL.Hostname(), port))
	if err != nil {
		return nil, err
	}
	// Cancellation (the check's timeout) closes the connection, which ends
	// any read or write in progress.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if req.URL.Scheme == "https" {
		tc, err := handshake(ctx, conn, req.URL.Hostname())
		if err != nil {
			return fail(err)
		}
		conn = tc
	}
	if err := writeRequest(conn, req); err != nil {
		return fail(err)
	}
	lr := &io.LimitedReader{R: conn, N: maxResponseHeaderBytes}
	br := readers.Get().(*bufio.Reader)
	br.Reset(lr)
	resp, err := readResponse(br, req)
	if err != nil {
		br.Reset(nil)
		readers.Put(br)
		return fail(err)
	}
	lr.N = math.MaxInt64
	resp.Body = &connBody{ReadCloser: resp.Body, ctx: ctx, conn: conn, br: br, stop: stop}
	return resp, nil
}

// The buffers of a check's connection are reused: at 100 checks a second
// they were half of the bytes each check allocated.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// writeRequest writes req to conn asking the server to close the
// connection after its response ("Connection: close").
func writeRequest(conn net.Conn, req *http.Request) error {
	bw := writers.Get().(*bufio.Writer)
	defer writers.Put(bw)
	bw.Reset(conn)
	defer bw.Reset(nil)
	out := *req
	out.Close = true
	if err := out.Write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// readResponse reads the final response to req, skipping informational
// (1xx) ones other than 101, as net/http.Transport does.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for range 5 {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, errors.New("net/http: too many 1xx informational responses")
}

// handshake runs the TLS client handshake on conn, certificate unverified,
// within tlsHandshakeTimeout.
func handshake(ctx context.Context, conn net.Conn, host string) (net.Conn, error) {
	cfg := unverifiedTLS.Clone()
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, errors.New("net/http: TLS handshake timeout")
		}
		return nil, err
	}
	return tc, nil
}

var unverifiedTLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // probes never verify, as the kubelet

// validHeader rejects the header names and values net/http.Transport
// rejects.
func validHeader(h http.Header) error {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("net/http: invalid header field name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("net/http: invalid header field value for %q", k)
			}
		}
	}
	return nil
}

// connBody is a response body that closes its connection when closed,
// without reading the rest of the body first. A read that fails because
// the request's context ended returns the context's error.
type connBody struct {
	io.ReadCloser
	ctx  context.Context
	conn net.Conn
	br   *bufio.Reader // back to readers once closed
	stop func() bool
	once sync.Once
}

func (b *connBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	return n, err
}

func (b *connBody) Close() error {
	b.once.Do(func() {
		b.stop()
		b.conn.Close()
		b.ReadCloser.Close()
		b.br.Reset(nil)
		readers.Put(b.br)
	})
	return nil
}
