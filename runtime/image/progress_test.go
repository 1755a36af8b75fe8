package image

import (
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// podctl pull's progress bars: every layer is announced as Waiting, then
// ends complete with all its bytes; layers already stored are reported as
// such and not fetched again.
func TestPullReportsLayerProgress(t *testing.T) {
	ctx := context.Background()
	host := startRegistry(t)
	first, second := labelled(t, "one"), labelled(t, "two") // same layers, other configs
	for ref, img := range map[string]v1.Image{host + "/p/a:1": first, host + "/p/b:1": second} {
		if err := remote.Write(mustRef(t, ref), img); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t)
	pull := func(ref string) (order []LayerProgress, last map[string]LayerProgress) {
		last = map[string]LayerProgress{}
		_, err := s.Pull(ctx, ref, PullOptions{Insecure: true, Progress: func(p LayerProgress) {
			if prev, ok := last[p.Digest]; ok && p.Done < prev.Done {
				t.Errorf("layer %s went back from %d to %d bytes", p.Digest, prev.Done, p.Done)
			}
			if p.Done > p.Size {
				t.Errorf("layer %s reports %d of %d bytes", p.Digest, p.Done, p.Size)
			}
			order = append(order, p)
			last[p.Digest] = p
		}})
		if err != nil {
			t.Fatal(err)
		}
		return order, last
	}
	layers, err := first.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("test image layers: %v, %v", layers, err)
	}
	order, last := pull(host + "/p/a:1")
	if len(order) < 2*len(layers) {
		t.Fatalf("got %d reports for %d layers: %+v", len(order), len(layers), order)
	}
	for i := range layers {
		if order[i].State != LayerWaiting {
			t.Errorf("report %d is %+v; every layer is first announced as waiting", i, order[i])
		}
	}
	for d, p := range last {
		if p.State != LayerDone || p.Done != p.Size || p.Size <= 0 {
			t.Errorf("layer %s ends as %+v; want complete with all its bytes", d, p)
		}
	}
	_, last = pull(host + "/p/b:1")
	if len(last) != len(layers) {
		t.Fatalf("second pull reported %d layers, want %d", len(last), len(layers))
	}
	for d, p := range last {
		if p.State != LayerExists || p.Done != p.Size {
			t.Errorf("layer %s of the second image is %+v; want already exists", d, p)
		}
	}
}
