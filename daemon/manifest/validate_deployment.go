package manifest

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// defaultDeployment fills what the API server defaults on an apps/v1
// Deployment, its pod template included (as a pod's).
func defaultDeployment(d *appsv1.Deployment) {
	d.APIVersion, d.Kind = "apps/v1", KindDeployment
	s := &d.Spec
	if s.Replicas == nil {
		s.Replicas = ptr(int32(1))
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if s.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		quarter := intstr.FromString("25%")
		if s.Strategy.RollingUpdate.MaxSurge == nil {
			s.Strategy.RollingUpdate.MaxSurge = ptr(quarter)
		}
		if s.Strategy.RollingUpdate.MaxUnavailable == nil {
			s.Strategy.RollingUpdate.MaxUnavailable = ptr(quarter)
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr(int32(10))
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = ptr(int32(600))
	}
	if d.Namespace == "" {
		d.Namespace = corev1.NamespaceDefault
	}
	pod := templatePod(d.Name, d.Namespace, &s.Template)
	Default(pod)
	s.Template.Spec = pod.Spec
}

// templatePod is the pod a template makes, named like the longest name a
// controller gives its pods (<name>-<10 character hash>-<5 character suffix>).
func templatePod(name, ns string, t *corev1.PodTemplateSpec) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: KindPod},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-xxxxxxxxxx-xxxxx", Namespace: ns, Labels: t.Labels, Annotations: t.Annotations},
		Spec:       *t.Spec.DeepCopy(),
	}
}

// validateTemplate checks a pod template as the pod it makes, with the
// paths under at (spec.template), and a restartPolicy in allowed.
func validateTemplate(name, ns string, t *corev1.PodTemplateSpec, at *field.Path, pol Policy, allowed ...corev1.RestartPolicy) field.ErrorList {
	var errs field.ErrorList
	for _, e := range Validate(templatePod(name, ns, t), pol) {
		if strings.HasPrefix(e.Field, "metadata.name") {
			continue // the object's own name is checked as such
		}
		e.Field = at.String() + "." + e.Field
		errs = append(errs, e)
	}
	ok := false
	for _, a := range allowed {
		ok = ok || t.Spec.RestartPolicy == a
	}
	if !ok {
		vals := make([]string, len(allowed))
		for i, a := range allowed {
			vals[i] = string(a)
		}
		errs = append(errs, field.NotSupported(at.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, vals))
	}
	if t.Name != "" || t.Namespace != "" {
		errs = append(errs, field.Forbidden(at.Child("metadata"), "name and namespace of a pod template are set by podd"))
	}
	return errs
}

// validateSelector checks a workload's selector: required, well formed,
// and matching its template's labels.
func validateSelector(sel *metav1.LabelSelector, tmplLabels map[string]string, p *field.Path) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(p.Child("selector"), "")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))
	if len(errs) > 0 {
		return errs
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	switch {
	case err != nil:
		return field.ErrorList{field.Invalid(p.Child("selector"), sel, err.Error())}
	case s.Empty():
		return field.ErrorList{field.Invalid(p.Child("selector"), sel, "empty selector is invalid for deployment")}
	case !s.Matches(labels.Set(tmplLabels)):
		return field.ErrorList{field.Invalid(p.Child("template", "metadata", "labels"), tmplLabels, "`selector` does not match template `labels`")}
	}
	return nil
}

// validateDeployment checks a defaulted Deployment like the API server,
// and refuses what podd cannot honour (paused).
func validateDeployment(d *appsv1.Deployment, pol Policy) field.ErrorList {
	p := field.NewPath("spec")
	s := &d.Spec
	errs := validateMeta(&d.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, nonNegative(int64(*s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	errs = append(errs, nonNegative(int64(*s.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	if *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
		errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), *s.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
	}
	if s.Paused {
		errs = append(errs, field.Forbidden(p.Child("paused"), "podd does not pause Deployments"))
	}
	errs = append(errs, validateSelector(s.Selector, s.Template.Labels, p)...)
	errs = append(errs, validateTemplate(d.Name, d.Namespace, &s.Template, p.Child("template"), pol, corev1.RestartPolicyAlways)...)
	return append(errs, validateStrategy(&s.Strategy, p.Child("strategy"))...)
}

func nonNegative(v int64, p *field.Path) field.ErrorList {
	if v < 0 {
		return field.ErrorList{field.Invalid(p, v, "must be greater than or equal to 0")}
	}
	return nil
}

func validateStrategy(st *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
	default:
		return field.ErrorList{field.NotSupported(p.Child("type"), st.Type, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
	return validateRollingLimits(st.RollingUpdate.MaxSurge, st.RollingUpdate.MaxUnavailable, p.Child("rollingUpdate"))
}

// validateRollingLimits checks a rolling update's maxSurge and
// maxUnavailable (a Deployment's or a DaemonSet's) under p (rollingUpdate).
func validateRollingLimits(surge, unavailable *intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, intOrPercent(surge, p.Child("maxSurge"))...)
	errs = append(errs, intOrPercent(unavailable, p.Child("maxUnavailable"))...)
	if len(errs) > 0 {
		return errs
	}
	if unavailable.Type == intstr.String {
		if v, _ := intstr.GetScaledValueFromIntOrPercent(unavailable, 100, false); v > 100 {
			errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavailable.String(), "must not be greater than 100%"))
		}
	}
	if isZero(surge) && isZero(unavailable) {
		errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavailable.String(), "may not be 0 when `maxSurge` is 0"))
	}
	return errs
}

func intOrPercent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v.Type == intstr.Int {
		return nonNegative(int64(v.IntValue()), p)
	}
	n, ok := strings.CutSuffix(v.StrVal, "%")
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return field.ErrorList{field.Invalid(p, v.StrVal, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')")}
	}
	return nil
}

func isZero(v *intstr.IntOrString) bool {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, 100, true)
	return err == nil && n == 0
}

// ValidateDeploymentUpdate is what the API server refuses when a
// Deployment is replaced: a changed selector.
func ValidateDeploymentUpdate(old, d *appsv1.Deployment) field.ErrorList {
	return validateSelectorUpdate(old.Spec.Selector, d.Spec.Selector)
}

// ValidateDaemonSetUpdate is what the API server refuses when a DaemonSet
// is replaced: a changed selector.
func ValidateDaemonSetUpdate(old, d *appsv1.DaemonSet) field.ErrorList {
	return validateSelectorUpdate(old.Spec.Selector, d.Spec.Selector)
}

func validateSelectorUpdate(old, sel *metav1.LabelSelector) field.ErrorList {
	a, _ := metav1.LabelSelectorAsMap(old)
	b, _ := metav1.LabelSelectorAsMap(sel)
	if labels.Set(a).String() != labels.Set(b).String() || len(old.MatchExpressions) != len(sel.MatchExpressions) {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), sel, "field is immutable")}
	}
	return nil
}
