package verb

import (
	"context"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// listPods returns every pod of ns ("" for all), following the server's
// pages so that no number of pods is too many for one call.
func listPods(ctx context.Context, c poddv1.PodServiceClient, ns string) ([]*poddv1.Pod, error) {
	var out []*poddv1.Pod
	req := &poddv1.ListPodsRequest{Namespace: ns}
	for {
		resp, err := c.ListPods(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetPods()...)
		if resp.GetContinue() == "" {
			return out, nil
		}
		req.Continue = resp.GetContinue()
	}
}
