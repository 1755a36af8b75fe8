package verb

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

const (
	labelTemplateHash  = appsv1.DefaultDeploymentUniqueLabelKey
	annotationRevision = "deployment.kubernetes.io/revision"
	annotationCause    = "kubernetes.io/change-cause"
)

// RolloutOptions are the inputs of scale and rollout status|history|undo
// on one Deployment (rollout status on a DaemonSet too).
type RolloutOptions struct {
	Streams
	Namespace string
	// Kind is the kind of Name: KindDeployment, or KindDaemonSet for
	// rollout status.
	Kind ObjectKind
	Name string
	// Replicas is scale's --replicas.
	Replicas int32
	// ToRevision is undo's --to-revision (0: the previous one).
	ToRevision int64
	// Watch keeps rollout status waiting until the rollout ends.
	Watch bool
	// Timeout bounds rollout status's wait (0: no bound).
	Timeout time.Duration
	// Poll is how often rollout status reads the Deployment.
	Poll time.Duration
}

// ParseDeploymentArg reads "deployment/NAME" or "deployment NAME".
func ParseDeploymentArg(args []string) (string, error) {
	_, name, err := ParseRolloutArg(args, KindDeployment)
	return name, err
}

// ParseRolloutArg reads "KIND/NAME" or "KIND NAME" for one object of one
// of kinds.
func ParseRolloutArg(args []string, kinds ...ObjectKind) (ObjectKind, string, error) {
	kind, names, ok, err := ParseObjectArgs(args)
	var plural, spelled []string
	known := false
	for _, k := range kinds {
		plural = append(plural, k.Resource)
		spelled = append(spelled, strings.ToLower(k.Kind)+"/NAME")
		known = known || (ok && kind == k)
	}
	switch {
	case err != nil:
		return ObjectKind{}, "", err
	case !known:
		return ObjectKind{}, "", fmt.Errorf("%q: podctl supports %s only (%s)", strings.Join(args, " "), strings.Join(plural, " and "), strings.Join(spelled, ", "))
	case len(names) != 1:
		return ObjectKind{}, "", fmt.Errorf("one %s is required, as %s/NAME", strings.ToLower(kind.Kind), strings.ToLower(kind.Kind))
	}
	return kind, names[0], nil
}

func getDeployment(ctx context.Context, c poddv1.PodServiceClient, ns, name string) (*appsv1.Deployment, error) {
	m, err := c.GetObject(ctx, &poddv1.GetObjectRequest{Resource: KindDeployment.Resource, Namespace: ns, Name: name})
	if err != nil {
		return nil, err
	}
	d := &appsv1.Deployment{}
	if err := json.Unmarshal(m.GetJson(), d); err != nil {
		return nil, fmt.Errorf("decode deployment %q from daemon: %w", name, err)
	}
	return d, nil
}

// applyWorkload sends a Deployment or DaemonSet back as a manifest,
// without what the daemon sets.
func applyWorkload(ctx context.Context, c poddv1.PodServiceClient, obj printers.Object, source string) error {
	obj = obj.DeepCopyObject().(printers.Object)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.APIVersion, o.Kind, o.Status = "apps/v1", "Deployment", appsv1.DeploymentStatus{}
	case *appsv1.DaemonSet:
		o.APIVersion, o.Kind, o.Status = "apps/v1", "DaemonSet", appsv1.DaemonSetStatus{}
	}
	obj.SetUID("")
	obj.SetResourceVersion("")
	obj.SetGeneration(0)
	obj.SetCreationTimestamp(metav1.Time{})
	obj.SetManagedFields(nil)
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = c.Apply(ctx, &poddv1.ApplyRequest{Manifest: data, Source: source})
	return err
}

// Scale sets a Deployment's replicas, as kubectl scale does.
func Scale(ctx context.Context, c poddv1.PodServiceClient, opts RolloutOptions) error {
	if opts.Replicas < 0 {
		return fmt.Errorf("the --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
	}
	ns := namespaceOrDefault(opts.Namespace)
	d, err := getDeployment(ctx, c, ns, opts.Name)
	if err != nil {
		return err
	}
	d.Spec.Replicas = &opts.Replicas
	if err := applyWorkload(ctx, c, d, "scale"); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "deployment.apps/%s scaled\n", opts.Name)
	return nil
}

// revision is one recorded template of a workload, as rollout history and
// undo read it.
type revision struct {
	number   int64
	cause    string
	template *corev1.PodTemplateSpec
}

// workload is a Deployment or DaemonSet with its revisions, oldest first.
type workload struct {
	obj printers.Object
	// template points into obj.
	template  *corev1.PodTemplateSpec
	revisions []revision
}

// getWorkload reads a Deployment (its revisions are ReplicaSets) or a
// DaemonSet (ControllerRevisions) and the revisions it owns.
func getWorkload(ctx context.Context, c poddv1.PodServiceClient, kind ObjectKind, ns, name string) (*workload, error) {
	m, err := c.GetObject(ctx, &poddv1.GetObjectRequest{Resource: kind.Resource, Namespace: ns, Name: name})
	if err != nil {
		return nil, err
	}
	obj, err := decodeObject(m)
	if err != nil {
		return nil, err
	}
	w := &workload{obj: obj}
	revKind := kindReplicaSet
	switch o := obj.(type) {
	case *appsv1.Deployment:
		w.template = &o.Spec.Template
	case *appsv1.DaemonSet:
		w.template, revKind = &o.Spec.Template, kindControllerRevision
	default:
		return nil, fmt.Errorf("%s %q has no rollout history", kind.Resource, name)
	}
	objs, err := listObjects(ctx, c, revKind, ns)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if !ownedByUID(o.GetOwnerReferences(), obj.GetUID()) {
			continue
		}
		r := revision{cause: o.GetAnnotations()[annotationCause]}
		switch rev := o.(type) {
		case *appsv1.ReplicaSet:
			r.number, _ = strconv.ParseInt(rev.Annotations[annotationRevision], 10, 64)
			r.template = rev.Spec.Template.DeepCopy()
			delete(r.template.Labels, labelTemplateHash)
		case *appsv1.ControllerRevision:
			var data struct {
				Spec struct {
					Template *corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(rev.Data.Raw, &data); err != nil || data.Spec.Template == nil {
				return nil, fmt.Errorf("revision %s of daemonset %q holds no pod template: %v", rev.Name, name, err)
			}
			r.number, r.template = rev.Revision, data.Spec.Template
		}
		w.revisions = append(w.revisions, r)
	}
	sort.SliceStable(w.revisions, func(i, j int) bool { return w.revisions[i].number < w.revisions[j].number })
	return w, nil
}

func ownedByUID(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

// qualified is kubectl's name of a workload in messages: deployment.apps/web.
func qualified(kind ObjectKind, name string) string {
	return strings.ToLower(kind.Kind) + ".apps/" + name
}

// RolloutHistory prints a workload's revisions and their change causes.
func RolloutHistory(ctx context.Context, c poddv1.PodServiceClient, opts RolloutOptions) error {
	kind := kindOrDeployment(opts.Kind)
	w, err := getWorkload(ctx, c, kind, namespaceOrDefault(opts.Namespace), opts.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "%s \n", qualified(kind, opts.Name))
	tw := tabwriter.NewWriter(opts.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "REVISION\tCHANGE-CAUSE\n")
	for _, r := range w.revisions {
		cause := r.cause
		if cause == "" {
			cause = "<none>"
		}
		fmt.Fprintf(tw, "%d\t%s\n", r.number, cause)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.Out)
	return err
}

// RolloutUndo puts back the template of an earlier revision (the previous
// one unless ToRevision), as kubectl rollout undo does.
func RolloutUndo(ctx context.Context, c poddv1.PodServiceClient, opts RolloutOptions) error {
	kind := kindOrDeployment(opts.Kind)
	w, err := getWorkload(ctx, c, kind, namespaceOrDefault(opts.Namespace), opts.Name)
	if err != nil {
		return err
	}
	var target *revision
	switch {
	case opts.ToRevision > 0:
		for i := range w.revisions {
			if w.revisions[i].number == opts.ToRevision {
				target = &w.revisions[i]
			}
		}
		if target == nil {
			return fmt.Errorf("unable to find specified revision %d in history", opts.ToRevision)
		}
	case len(w.revisions) < 2:
		return fmt.Errorf("no rollout history found for %s %q", strings.ToLower(kind.Kind), opts.Name)
	default:
		target = &w.revisions[len(w.revisions)-2]
	}
	if templatesEqual(target.template, w.template) {
		fmt.Fprintf(opts.Out, "%s skipped rollback (current template already matches revision %d)\n", qualified(kind, opts.Name), target.number)
		return nil
	}
	*w.template = *target.template
	if err := applyWorkload(ctx, c, w.obj, "rollout undo"); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "%s rolled back\n", qualified(kind, opts.Name))
	return nil
}

func kindOrDeployment(k ObjectKind) ObjectKind {
	if k == (ObjectKind{}) {
		return KindDeployment
	}
	return k
}

func templatesEqual(a, b *corev1.PodTemplateSpec) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && string(ja) == string(jb)
}

// rolloutState is kubectl's reading of a Deployment's or DaemonSet's
// status: a message, whether the rollout is done, and an error when it
// failed.
func rolloutState(obj any) (string, bool, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return deploymentRolloutState(o)
	case *appsv1.DaemonSet:
		return daemonSetRolloutState(o)
	}
	return "", false, fmt.Errorf("rollout status serves deployments and daemonsets, not %T", obj)
}

func deploymentRolloutState(d *appsv1.Deployment) (string, bool, error) {
	if d.Generation > d.Status.ObservedGeneration {
		return "Waiting for deployment spec update to be observed...\n", false, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", d.Name, s.UpdatedReplicas, want), false, nil
	case s.Replicas > s.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", d.Name, s.Replicas-s.UpdatedReplicas), false, nil
	case s.AvailableReplicas < s.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", d.Name, s.AvailableReplicas, s.UpdatedReplicas), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out\n", d.Name), true, nil
}

func daemonSetRolloutState(ds *appsv1.DaemonSet) (string, bool, error) {
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		return "", true, fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateDaemonSetStrategyType)
	}
	if ds.Generation > ds.Status.ObservedGeneration {
		return "Waiting for daemon set spec update to be observed...\n", false, nil
	}
	s := ds.Status
	switch {
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled:
		return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...\n", ds.Name, s.UpdatedNumberScheduled, s.DesiredNumberScheduled), false, nil
	case s.NumberAvailable < s.DesiredNumberScheduled:
		return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...\n", ds.Name, s.NumberAvailable, s.DesiredNumberScheduled), false, nil
	}
	return fmt.Sprintf("daemon set %q successfully rolled out\n", ds.Name), true, nil
}

// RolloutStatus prints the rollout's progress until it completes (or
// fails, or the timeout passes), as kubectl rollout status does.
func RolloutStatus(ctx context.Context, c poddv1.PodServiceClient, opts RolloutOptions) error {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	poll := opts.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	ns, last := namespaceOrDefault(opts.Namespace), ""
	for {
		kind := kindOrDeployment(opts.Kind)
		m, err := c.GetObject(ctx, &poddv1.GetObjectRequest{Resource: kind.Resource, Namespace: ns, Name: opts.Name})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("timed out waiting for the condition")
			}
			return err
		}
		obj, err := decodeObject(m)
		if err != nil {
			return err
		}
		msg, done, err := rolloutState(obj)
		if err != nil {
			return err
		}
		if msg != last {
			fmt.Fprint(opts.Out, msg)
			last = msg
		}
		if done || !opts.Watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for the condition")
		case <-time.After(poll):
		}
	}
}
