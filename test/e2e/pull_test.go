package e2e

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/image"
)

// R21, R81: a pod whose image is not present pulls it (IfNotPresent) from a
// registry — an in-process one on 127.0.0.1 — and records Pulling/Pulled; an
// image the registry lacks leaves the container ErrImagePull/ImagePullBackOff.
func TestImagePulledOnDemand(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := image.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/test/busybox:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: pulled}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "%[1]s/test/busybox:v1", imagePullPolicy: IfNotPresent, command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
---
apiVersion: v1
kind: Pod
metadata: {name: missing}
spec:
  containers:
  - {name: c, image: "%[1]s/test/nothing:v1", imagePullPolicy: IfNotPresent}
`, host))
	e.waitRunning("pulled", 60*time.Second)
	out := e.podctl("describe", "pod", "pulled")
	if !strings.Contains(out, "Pulling") || !strings.Contains(out, "Successfully pulled image") {
		t.Errorf("describe lacks Pulling/Pulled events:\n%s", out)
	}
	if imgs := e.podctl("images"); !strings.Contains(imgs, host+"/test/busybox") {
		t.Errorf("images does not list the pulled image:\n%s", imgs)
	}
	e.waitForPod("missing", 30*time.Second, "waiting for a missing image", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.State.Waiting != nil &&
			(cs.State.Waiting.Reason == "ErrImagePull" || cs.State.Waiting.Reason == "ImagePullBackOff")
	})
	// The pod's pull stored the layers: podctl pull (not on a terminal)
	// prints a line per layer state, each layer already there.
	out, err = e.podctlErr("pull", "--insecure", host+"/test/busybox:v1")
	if err != nil || !strings.Contains(out, ": Already exists\n") || strings.Contains(out, "Downloading") ||
		!strings.Contains(out, "Image is up to date for sha256:") {
		t.Errorf("podctl pull: %v\n%s", err, out)
	}
}
