package image

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// countingRegistry runs an in-memory registry on 127.0.0.1 behind wrap (nil:
// none) and returns its host:port and a count of the manifest requests it
// served.
func countingRegistry(t testing.TB, wrap func(http.Handler) http.Handler) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			n.Add(1)
		}
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host, &n
}

func openStoreWith(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir()+"/images", opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPullTriesMirrorsInOrderThenTheRegistry(t *testing.T) {
	ctx := context.Background()
	empty, emptyHits := countingRegistry(t, nil)
	full, fullHits := countingRegistry(t, nil)
	img := labelled(t, "mirrored")
	if err := remote.Write(mustRef(t, full+"/test/busybox:1"), img); err != nil {
		t.Fatal(err)
	}
	d := mustDigest(t, img)

	// An upstream that does not resolve: only the mirrors can serve it.
	s := openStoreWith(t, Options{Mirrors: Mirrors{"registry.invalid": {"http://" + empty, "http://" + full}}})
	got, err := s.Pull(ctx, "registry.invalid/test/busybox:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if emptyHits.Load() == 0 || fullHits.Load() == 0 {
		t.Errorf("manifest requests: first mirror %d, second %d; want both tried", emptyHits.Load(), fullHits.Load())
	}
	// Stored under the name asked for, not the mirror's.
	if !reflect.DeepEqual(got.Refs, []string{"registry.invalid/test/busybox:1"}) ||
		!reflect.DeepEqual(got.RepoDigests, []string{"registry.invalid/test/busybox@" + d}) {
		t.Errorf("Pull = refs %v digests %v", got.Refs, got.RepoDigests)
	}
	if _, err := s.Layers(ctx, got); err != nil {
		t.Errorf("layers of an image pulled through a mirror: %v", err)
	}

	// A mirror without the image falls back to the registry itself.
	s = openStoreWith(t, Options{Mirrors: Mirrors{full: {"http://" + empty}}})
	before := emptyHits.Load()
	if _, err := s.Pull(ctx, full+"/test/busybox:1", PullOptions{}); err != nil {
		t.Fatalf("fallback to the registry: %v", err)
	}
	if emptyHits.Load() == before {
		t.Error("the mirror was not tried before the registry")
	}
}

func TestPullErrorNamesEveryEndpoint(t *testing.T) {
	empty, _ := countingRegistry(t, nil)
	s := openStoreWith(t, Options{Mirrors: Mirrors{"registry.invalid": {"http://" + empty}}})
	_, err := s.Pull(context.Background(), "registry.invalid/missing:1", PullOptions{})
	if err == nil {
		t.Fatal("pull of an image nobody has succeeded")
	}
	for _, want := range []string{"mirror http://" + empty, "registry.invalid:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestPullDockerHubThroughMirror(t *testing.T) {
	mirror, _ := countingRegistry(t, nil)
	if err := remote.Write(mustRef(t, mirror+"/library/busybox:latest"), labelled(t, "hub")); err != nil {
		t.Fatal(err)
	}
	s := openStoreWith(t, Options{Mirrors: Mirrors{"docker.io": {"http://" + mirror}}})
	got, err := s.Pull(context.Background(), "busybox", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["variant"] != "hub" || !reflect.DeepEqual(got.Refs, []string{"docker.io/library/busybox:latest"}) {
		t.Errorf("Pull = %+v", got)
	}
}

// basicAuth refuses requests without user:pass.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestPullWithCredentials(t *testing.T) {
	ctx := context.Background()
	locked, _ := countingRegistry(t, basicAuth("u", "p"))
	img := labelled(t, "secret")
	if err := remote.Write(mustRef(t, locked+"/test/secret:1"), img, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	if _, err := s.Pull(ctx, locked+"/test/secret:1", PullOptions{}); err == nil {
		t.Fatal("pull from a locked registry without credentials succeeded")
	}
	for _, tc := range []struct {
		name  string
		creds *Credentials
		ok    bool
	}{
		{"any host", &Credentials{Username: "u", Password: "p"}, true},
		{"this host", &Credentials{Host: locked, Username: "u", Password: "p"}, true},
		{"wrong password", &Credentials{Username: "u", Password: "x"}, false},
		{"other host", &Credentials{Host: "elsewhere.invalid", Username: "u", Password: "p"}, false},
	} {
		_, err := s.Pull(ctx, locked+"/test/secret:1", PullOptions{Auth: tc.creds})
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), "401")) {
			t.Errorf("%s: err = %v, want success %v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckMirrors(t *testing.T) {
	good := Mirrors{"registry.k8s.io": {"http://127.0.0.1:5077", "https://mirror.example.com/"}, "docker.io": {"https://m.example"}}
	if err := CheckMirrors(good); err != nil {
		t.Errorf("CheckMirrors(%v) = %v", good, err)
	}
	for _, bad := range []Mirrors{
		{"registry.k8s.io": nil},
		{"registry.k8s.io": {"127.0.0.1:5077"}},
		{"registry.k8s.io": {"ftp://127.0.0.1"}},
		{"registry.k8s.io": {"http://127.0.0.1:5077/prefix"}},
		{"registry.k8s.io": {"http://user:pw@127.0.0.1"}},
		{"": {"http://127.0.0.1"}},
		{"registry.k8s.io/path": {"http://127.0.0.1"}},
		{"docker.io": {"http://a"}, "index.docker.io": {"http://b"}},
	} {
		if err := CheckMirrors(bad); err == nil {
			t.Errorf("CheckMirrors(%v) accepted it", bad)
		}
	}
}
