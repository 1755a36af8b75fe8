package verb

import (
	"context"
	"errors"
	"fmt"
	"io"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	corev1 "k8s.io/api/core/v1"
)

// fetchedPod is a pod as the daemon sent it (with what the manifest does
// not carry, such as its static source) and its decoded manifest.
type fetchedPod struct {
	msg *poddv1.Pod
	pod *corev1.Pod
}

// getPod fetches pod name of namespace ns and decodes it: the one way the
// verbs read a pod.
func getPod(ctx context.Context, c poddv1.PodServiceClient, ns, name string) (fetchedPod, error) {
	p, err := c.GetPod(ctx, &poddv1.GetPodRequest{Namespace: ns, Name: name})
	if err != nil {
		return fetchedPod{}, err
	}
	pod, err := DecodePod(p)
	if err != nil {
		return fetchedPod{}, err
	}
	return fetchedPod{msg: p, pod: pod}, nil
}

// getPodContainer fetches a pod and picks the container a command works on
// (ContainerFor), telling errOut when it chose among several.
func getPodContainer(ctx context.Context, c poddv1.PodServiceClient, ns, name, container string, errOut io.Writer) (*corev1.Pod, string, error) {
	fp, err := getPod(ctx, c, ns, name)
	if err != nil {
		return nil, "", err
	}
	container, notice, err := ContainerFor(fp.pod, container)
	if err != nil {
		return nil, "", err
	}
	if notice != "" {
		fmt.Fprintln(errOut, notice)
	}
	return fp.pod, container, nil
}

// getPods fetches the named pods of ns, reporting on errOut each one that
// cannot be had and going on, as kubectl does (the error of a single name
// is returned); failed says one was reported. With no names it lists
// every pod of listNS ("" for all namespaces).
func getPods(ctx context.Context, c poddv1.PodServiceClient, ns string, names []string, listNS string, errOut io.Writer) (_ []fetchedPod, failed bool, _ error) {
	if len(names) == 0 {
		all, err := listPods(ctx, c, listNS)
		if err != nil {
			return nil, false, err
		}
		out := make([]fetchedPod, 0, len(all))
		for _, p := range all {
			pod, err := DecodePod(p)
			if err != nil {
				return nil, false, err
			}
			out = append(out, fetchedPod{msg: p, pod: pod})
		}
		return out, false, nil
	}
	if len(names) == 1 {
		fp, err := getPod(ctx, c, ns, names[0])
		if err != nil {
			return nil, false, err
		}
		return []fetchedPod{fp}, false, nil
	}
	var out []fetchedPod
	err := forEach(ctx, errOut, names, func(name string) error {
		fp, err := getPod(ctx, c, ns, name)
		if err == nil {
			out = append(out, fp)
		}
		return err
	})
	failed = errors.Is(err, errReported)
	if err != nil && !failed {
		return nil, false, err
	}
	return out, failed, nil
}

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
