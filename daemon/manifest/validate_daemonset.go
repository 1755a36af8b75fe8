package manifest

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// defaultDaemonSet fills what the API server defaults on an apps/v1
// DaemonSet, its pod template included (as a pod's).
func defaultDaemonSet(d *appsv1.DaemonSet) {
	d.APIVersion, d.Kind = "apps/v1", KindDaemonSet
	s := &d.Spec
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if s.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if s.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
			s.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(1))
		}
		if s.UpdateStrategy.RollingUpdate.MaxSurge == nil {
			s.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(0))
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr(int32(10))
	}
	if d.Namespace == "" {
		d.Namespace = corev1.NamespaceDefault
	}
	pod := templatePod(d.Name, d.Namespace, &s.Template)
	Default(pod)
	s.Template.Spec = pod.Spec
}

// validateDaemonSet checks a defaulted DaemonSet like the API server.
func validateDaemonSet(d *appsv1.DaemonSet, pol Policy) field.ErrorList {
	p := field.NewPath("spec")
	s := &d.Spec
	errs := validateMeta(&d.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative(int64(*s.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	errs = append(errs, validateSelector(s.Selector, s.Template.Labels, p)...)
	errs = append(errs, validateTemplate(d.Name, d.Namespace, &s.Template, p.Child("template"), pol, corev1.RestartPolicyAlways)...)
	st, sp := &s.UpdateStrategy, p.Child("updateStrategy")
	switch st.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		errs = append(errs, validateRollingLimits(st.RollingUpdate.MaxSurge, st.RollingUpdate.MaxUnavailable, sp.Child("rollingUpdate"))...)
	default:
		errs = append(errs, field.NotSupported(sp.Child("type"), st.Type,
			[]string{string(appsv1.OnDeleteDaemonSetStrategyType), string(appsv1.RollingUpdateDaemonSetStrategyType)}))
	}
	return errs
}
