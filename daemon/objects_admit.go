package daemon

import (
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podd-dev/podd/daemon/manifest"
	"github.com/podd-dev/podd/daemon/podworker"
)

// admitObjects refuses, before anything changes, a manifest whose objects
// cannot all be applied: a static manifest with other kinds than Pod, an
// object (an API pod too) in a namespace that does not exist or is
// terminating, an update the API server forbids. The caller holds applyMu.
func (d *Daemon) admitObjects(docs []manifest.Document, source, static string) error {
	creating := map[string]bool{}
	var admitted []*corev1.Service
	for _, doc := range docs {
		if ns, ok := doc.Object.(*corev1.Namespace); ok {
			if err := d.objects.checkNamespace(ns.Name, nil); err != nil && !isNotFound(err) {
				return err
			}
			creating[ns.Name] = true
		}
	}
	for _, doc := range docs {
		obj := doc.Object
		kind := manifest.KindOf(obj)
		if _, controller := staticControllers[kind]; static != "" && !controller {
			if kind != manifest.KindPod {
				return classed(ErrInvalidArgument, "%s: document %d: kind %s: a static manifest holds Pods, Deployments, DaemonSets, Jobs and CronJobs only", source, doc.Doc, kind)
			}
			// Static pods run whatever their namespace, as the kubelet's do.
			continue
		}
		if kind == manifest.KindNamespace {
			continue
		}
		if err := d.objects.checkNamespace(obj.GetNamespace(), creating); err != nil {
			return err
		}
		if kind == manifest.KindPod {
			continue
		}
		if svc, ok := obj.(*corev1.Service); ok {
			if err := d.admitService(svc, doc, source, admitted); err != nil {
				return err
			}
			admitted = append(admitted, svc)
		}
		old, ok := d.objects.get(resourceOf(kind), obj.GetNamespace(), obj.GetName())
		if !ok {
			continue
		}
		if err := checkStaticSource(old, static, kind); err != nil {
			return err
		}
		if errs := validateUpdate(old, obj); len(errs) > 0 {
			return classed(ErrInvalidArgument, "%v", &manifest.InvalidError{Source: source, Doc: doc.Doc, Docs: doc.Docs, Kind: kind,
				Namespace: obj.GetNamespace(), Name: obj.GetName(), Errs: errs})
		}
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// validateUpdate is what the API server refuses on update: the data of an
// immutable ConfigMap or Secret, a claim's spec other than a larger
// storage request.
func validateUpdate(old, obj manifest.Object) field.ErrorList {
	var errs field.ErrorList
	immutable := func(was *bool, changed bool) {
		if was != nil && *was && changed {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		p := old.(*corev1.ConfigMap)
		immutable(p.Immutable, !sameJSON(p.Data, o.Data) || !sameJSON(p.BinaryData, o.BinaryData) || !sameJSON(p.Immutable, o.Immutable))
	case *corev1.Secret:
		p := old.(*corev1.Secret)
		immutable(p.Immutable, !sameJSON(p.Data, o.Data) || !sameJSON(p.Immutable, o.Immutable))
		if p.Type != o.Type {
			errs = append(errs, field.Invalid(field.NewPath("type"), o.Type, "field is immutable"))
		}
	case *appsv1.Deployment:
		errs = append(errs, manifest.ValidateDeploymentUpdate(old.(*appsv1.Deployment), o)...)
	case *batchv1.Job:
		errs = append(errs, manifest.ValidateJobUpdate(old.(*batchv1.Job), o)...)
	case *appsv1.DaemonSet:
		errs = append(errs, manifest.ValidateDaemonSetUpdate(old.(*appsv1.DaemonSet), o)...)
	case *corev1.PersistentVolumeClaim:
		p := old.(*corev1.PersistentVolumeClaim)
		storage := field.NewPath("spec", "resources", "requests").Key(string(corev1.ResourceStorage))
		was, now := p.Spec.Resources.Requests[corev1.ResourceStorage], o.Spec.Resources.Requests[corev1.ResourceStorage]
		if now.Cmp(was) < 0 {
			errs = append(errs, field.Forbidden(storage, fmt.Sprintf("field can not be less than previous value (%s)", was.String())))
		}
		a, b := p.Spec.DeepCopy(), o.Spec.DeepCopy()
		a.Resources, b.Resources = corev1.VolumeResourceRequirements{}, corev1.VolumeResourceRequirements{}
		if !sameJSON(a, b) {
			errs = append(errs, field.Forbidden(field.NewPath("spec"), "spec is immutable after creation except resources.requests"))
		}
	}
	return errs
}

// checkStaticSource refuses to replace an object of one static manifest
// (or of the API: "") from another source.
func checkStaticSource(old manifest.Object, static, kind string) error {
	was := old.GetAnnotations()[podworker.AnnotationStaticSource]
	switch {
	case was == static:
		return nil
	case was != "":
		return classed(ErrFailedPrecondition, "%s %q is from the static manifest %s: edit that file instead", strings.ToLower(kind), old.GetName(), was)
	}
	return classed(ErrAlreadyExists, "%s %q exists and is not from %s", strings.ToLower(kind), old.GetName(), static)
}
