package verb

import (
	"context"
	"fmt"
	"sort"
	"strings"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// forceWarning is kubectl's warning for an immediate (forced) deletion.
const forceWarning = "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely."

// DeleteOptions are the inputs of `podctl delete`.
type DeleteOptions struct {
	Streams
	Namespace string
	// Names are the pods to delete.
	Names []string
	// Files name manifests whose pods are deleted (-f).
	Files []string
	// GracePeriod overrides the pod's grace period when >= 0.
	GracePeriod int64
	// Force deletes at once (grace 0 unless given) and also removes a
	// static pod's manifest.
	Force bool
	// Wait returns only once each pod is gone.
	Wait bool
	// IgnoreNotFound treats a missing pod as deleted.
	IgnoreNotFound bool
}

// Delete deletes pods and prints `pod "x" deleted` for each, going on past
// pods that cannot be deleted (each reported) as kubectl does. Up to
// deletesAtOnce deletions are in flight at once; the output keeps the
// targets' order.
func Delete(ctx context.Context, c poddv1.PodServiceClient, opts DeleteOptions) error {
	targets, err := deleteTargets(opts)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("resource(s) were provided, but no name was specified")
	}
	grace := opts.GracePeriod
	if opts.Force && grace < 0 {
		grace = 0
	}
	verb := "deleted"
	if opts.Force && grace == 0 {
		verb = "force deleted"
		fmt.Fprintln(opts.ErrOut, forceWarning)
	}
	one := func(t objectRef, s Streams) error {
		o := opts
		o.Streams = s
		if t.Kind != "Pod" {
			return deleteObjectTarget(ctx, c, o, t)
		}
		req := &poddv1.DeletePodRequest{Namespace: t.Namespace, Name: t.Name, Wait: o.Wait, Force: o.Force}
		if grace >= 0 {
			req.GracePeriodSeconds = &grace
		}
		if _, err := c.DeletePod(ctx, req); err != nil {
			if o.IgnoreNotFound && status.Code(err) == codes.NotFound && ctx.Err() == nil {
				return nil
			}
			return err
		}
		fmt.Fprintf(o.Out, "pod %q %s\n", t.Name, verb)
		return nil
	}
	// Objects of one rank are deleted (and waited for) together, as
	// kubectl deletes them all before it waits; a rank starts once the one
	// before it is done (claims after their pods, namespaces last).
	var failed error
	for len(targets) > 0 {
		n := 1
		for n < len(targets) && deleteRank(targets[n].Kind) == deleteRank(targets[0].Kind) {
			n++
		}
		err := forEachAtOnce(ctx, opts.Streams, targets[:n], deletesAtOnce, one)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			failed = err
		}
		targets = targets[n:]
	}
	return failed
}

// deletesAtOnce is how many deletions podctl asks for at once.
const deletesAtOnce = 16

// deleteTargets lists what to delete: the pods named, then the objects of
// the -f manifests (their own namespace, else opts.Namespace), claims
// after pods and namespaces last so that what is in them is deleted by name
// first.
func deleteTargets(opts DeleteOptions) ([]objectRef, error) {
	ns := namespaceOrDefault(opts.Namespace)
	var targets []objectRef
	for _, n := range opts.Names {
		targets = append(targets, objectRef{Kind: "Pod", Namespace: ns, Name: n})
	}
	if len(opts.Files) == 0 {
		return targets, nil
	}
	files, err := readManifests(opts.Files, opts.In)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		refs, err := objectRefs(f.Data)
		if err != nil {
			return nil, fmt.Errorf("read pods from %s: %w", f.Source, err)
		}
		for _, r := range refs {
			if _, ok := objectTypeNames[strings.ToLower(r.Kind)]; r.Kind != "Pod" && !ok {
				return nil, fmt.Errorf("%s: kind %q is not supported", f.Source, r.Kind)
			}
			if r.Name == "" {
				return nil, fmt.Errorf("%s: a %s has no metadata.name", f.Source, r.Kind)
			}
			if r.Namespace == "" {
				r.Namespace = ns
			}
			targets = append(targets, r)
		}
	}
	sort.SliceStable(targets, func(i, j int) bool { return deleteRank(targets[i].Kind) < deleteRank(targets[j].Kind) })
	return targets, nil
}

// deleteRank orders -f deletes: claims after the pods that may use them
// (the daemon refuses to delete a claim in use), namespaces last.
func deleteRank(kind string) int {
	switch kind {
	case "PersistentVolumeClaim":
		return 1
	case "Namespace":
		return 2
	}
	return 0
}

// deleteObjectTarget deletes an object of a -f manifest other than a pod.
func deleteObjectTarget(ctx context.Context, c poddv1.PodServiceClient, opts DeleteOptions, t objectRef) error {
	kind := objectTypeNames[strings.ToLower(t.Kind)]
	return deleteObject(ctx, c, ObjectOptions{Streams: opts.Streams, Kind: kind, Wait: opts.Wait, IgnoreNotFound: opts.IgnoreNotFound}, t.Namespace, t.Name)
}
