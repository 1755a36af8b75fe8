package hooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/internal/version"
	"github.com/podd-dev/podd/probes/check"
)

// httpGetHandler sends one GET (R53, as R48): status 200–399 succeeds.
type httpGetHandler struct{ req check.HTTPGetRequest }

func newHTTPGetHandler(a *corev1.HTTPGetAction, t Target) (httpGetHandler, error) {
	req, err := check.HTTPGetRequestFor(a, check.HostFor(t.PodIP, t.HostNetwork), t.ContainerPorts, 0)
	if err != nil {
		return httpGetHandler{}, fmt.Errorf("httpGet hook: %w", err)
	}
	if _, ok := req.Headers["User-Agent"]; !ok {
		req.Headers.Set("User-Agent", "kube-lifecycle/"+version.Version)
	}
	return httpGetHandler{req: req}, nil
}

func (h httpGetHandler) String() string { return "httpGet " + h.req.URL().String() }

func (h httpGetHandler) run(ctx context.Context, _ Target, timeout time.Duration) (string, error) {
	req := h.req
	req.Timeout = timeout
	res, out, _, err := check.HTTPGet(ctx, req)
	switch {
	case err != nil:
		return "", err
	case res != check.Success:
		return "", errors.New(out)
	}
	return out, nil
}
