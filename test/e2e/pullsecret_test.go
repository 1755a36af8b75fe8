package e2e

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/image"
	"github.com/podd-dev/podd/test/testutil"
)

// Issue 10 item 2: imagePullSecrets resolve to a kubernetes.io/dockerconfigjson
// Secret whose credentials authenticate the pull from a registry (an
// in-process one on 127.0.0.1 that wants basic auth); without them the pull
// fails. The password shows in no event, describe output or daemon log.
func TestImagePullSecretsAuthenticatePulls(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != secretValue {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := image.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	// Two tags, so that the pod without credentials cannot use what the
	// other pulled.
	for _, tag := range []string{"v1", "v2"} {
		ref, err := name.ParseReference(host+"/test/busybox:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "puller", Password: secretValue})); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t)
	e.apply(fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"%[1]s": {"username": "puller", "password": "%[2]s"}}}'
---
apiVersion: v1
kind: Pod
metadata: {name: authed}
spec:
  terminationGracePeriodSeconds: 1
  imagePullSecrets: [{name: regcred}, {name: not-there}]
  containers:
  - {name: c, image: "%[1]s/test/busybox:v1", command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}
---
apiVersion: v1
kind: Pod
metadata: {name: anonymous}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "%[1]s/test/busybox:v2", command: ["sh", "-c", "sleep 1000"]}
`, host, secretValue))
	e.waitRunning("authed", testutil.Scaled(60*time.Second))
	e.waitEvent("authed", "FailedToRetrieveImagePullSecret", "c", "default/not-there", testutil.Scaled(10*time.Second))
	e.waitForPod("anonymous", testutil.Scaled(60*time.Second), "a pull without credentials failing", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "c")
		return cs != nil && cs.State.Waiting != nil &&
			(cs.State.Waiting.Reason == "ErrImagePull" || cs.State.Waiting.Reason == "ImagePullBackOff")
	})
	for what, out := range map[string]string{
		"describe authed":    e.podctl("describe", "pod", "authed"),
		"describe anonymous": e.podctl("describe", "pod", "anonymous"),
		"describe secret":    e.podctl("describe", "secret", "regcred"),
		"events":             e.podctl("events"),
		"daemon log":         e.logBuf.String(),
	} {
		if strings.Contains(out, secretValue) {
			t.Errorf("%s shows the registry password:\n%s", what, out)
		}
	}
	e.podctl("delete", "pod", "authed")
	e.podctl("delete", "pod", "anonymous")
	e.waitGone("authed", testutil.Scaled(30*time.Second))
	e.waitGone("anonymous", testutil.Scaled(30*time.Second))
}
