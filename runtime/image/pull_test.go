package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// startRegistry runs go-containerregistry's in-memory registry on
// 127.0.0.1 and returns its host:port.
func startRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPullByTagAndDigest(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t)
	img := labelled(t, "pulled")
	tag := host + "/test/busybox:1"
	if err := remote.Write(mustRef(t, tag), img); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	got, err := s.Pull(ctx, tag, PullOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	d := mustDigest(t, img)
	repoDigest := host + "/test/busybox@" + d
	if got.Digest != d || !reflect.DeepEqual(got.Refs, []string{tag}) || !reflect.DeepEqual(got.RepoDigests, []string{repoDigest}) {
		t.Fatalf("Pull = %+v", got)
	}
	for _, ref := range []string{tag, repoDigest, d} {
		if g, err := s.Get(ctx, ref); err != nil || g.Labels["variant"] != "pulled" {
			t.Errorf("Get(%q) = %+v, %v", ref, g, err)
		}
	}
	dirs, err := s.Layers(ctx, got)
	if err != nil || len(dirs) != 1 {
		t.Fatalf("Layers = %v, %v", dirs, err)
	}

	byDigest := openStore(t)
	got, err = byDigest.Pull(ctx, repoDigest, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Refs) != 0 || !reflect.DeepEqual(got.RepoDigests, []string{repoDigest}) {
		t.Errorf("pull by digest = %+v", got)
	}
}

func TestPullPicksPlatform(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t)
	native, other := labelled(t, "native"), labelled(t, "other")
	otherArch := "arm64"
	if hostPlatform().Architecture == "arm64" {
		otherArch = "amd64"
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: native, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: hostPlatform().Architecture}}},
		mutate.IndexAddendum{Add: other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: otherArch}}},
	)
	ref := host + "/multi:latest"
	if err := remote.WriteIndex(mustRef(t, ref), idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	s := openStore(t)
	got, err := s.Pull(ctx, host+"/multi", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["variant"] != "native" || got.RepoDigests[0] != host+"/multi@"+idxDigest.String() {
		t.Errorf("default pull = %+v", got)
	}
	got, err = s.Pull(ctx, ref, PullOptions{Platform: "linux/" + otherArch})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["variant"] != "other" {
		t.Errorf("pull for %s = %+v", otherArch, got)
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Errorf("the tag moved but %d images remain", len(list))
	}
}

func TestPullErrors(t *testing.T) {
	host := startRegistry(t)
	s := openStore(t)
	if _, err := s.Pull(context.Background(), host+"/missing:1", PullOptions{}); err == nil {
		t.Error("pull of a missing image succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Pull(ctx, host+"/missing:1", PullOptions{}); err == nil {
		t.Error("pull with a cancelled context succeeded")
	}
	if _, err := s.Pull(context.Background(), "Bad Ref", PullOptions{}); err == nil {
		t.Error("pull of a bad reference succeeded")
	}
}
