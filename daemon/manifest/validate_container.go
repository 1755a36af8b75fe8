package manifest

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podContext is what a container's validation needs to know about its pod.
type podContext struct {
	spec    *corev1.PodSpec
	volumes sets.Set[string] // defined volume names
	names   sets.Set[string] // every container name, init and app
	policy  Policy
}

func validateContainer(ctx *podContext, c *corev1.Container, p *field.Path, isInit bool) field.ErrorList {
	errs := label(p.Child("name"), c.Name)
	switch {
	case c.Image == "":
		errs = append(errs, field.Required(p.Child("image"), ""))
	case strings.TrimSpace(c.Image) != c.Image:
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	sidecar := false
	if c.RestartPolicy != nil {
		switch {
		case !isInit:
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may only be set for init containers"))
		case *c.RestartPolicy != corev1.ContainerRestartPolicyAlways:
			errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy,
				[]corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
		default:
			sidecar = true
		}
	}
	if len(c.RestartPolicyRules) > 0 {
		errs = append(errs, field.Forbidden(p.Child("restartPolicyRules"), "not supported by podd"))
	}
	if c.WorkingDir != "" && !path.IsAbs(c.WorkingDir) {
		errs = append(errs, field.Invalid(p.Child("workingDir"), c.WorkingDir, "must be an absolute path"))
	}
	errs = append(errs, validatePorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateEnv(ctx, c.Env, p.Child("env"))...)
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateMounts(ctx, c, p)...)
	if len(c.VolumeDevices) > 0 {
		errs = append(errs, field.Forbidden(p.Child("volumeDevices"), "block volumes are not supported by podd"))
	}
	errs = append(errs, validateProbesAndHooks(c, p, isInit && !sidecar)...)
	errs = append(errs, validateContainerSecurity(c.SecurityContext, p.Child("securityContext"))...)
	errs = append(errs, validateCapabilities(c.SecurityContext, p.Child("securityContext"), ctx.policy)...)
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, field.NotSupported(p.Child("imagePullPolicy"), c.ImagePullPolicy,
			[]corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	default:
		errs = append(errs, field.NotSupported(p.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}))
	}
	if !path.IsAbs(c.TerminationMessagePath) {
		errs = append(errs, field.Invalid(p.Child("terminationMessagePath"), c.TerminationMessagePath, "must be an absolute path"))
	}
	return errs
}

func validatePorts(ports []corev1.ContainerPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		pp := p.Index(i)
		if port.Name != "" {
			errs = append(errs, msgs(pp.Child("name"), port.Name, validation.IsValidPortName(port.Name))...)
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(pp.Child("containerPort"), ""))
		} else {
			errs = append(errs, msgs(pp.Child("containerPort"), port.ContainerPort, validation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, msgs(pp.Child("hostPort"), port.HostPort, validation.IsValidPortNum(int(port.HostPort)))...)
		}
		switch port.Protocol {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol,
				[]corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}))
		}
		if port.HostIP != "" {
			errs = append(errs, ip(pp.Child("hostIP"), port.HostIP)...)
		}
	}
	return errs
}

func validateEnvFrom(from []corev1.EnvFromSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range from {
		fp := p.Index(i)
		if f.Prefix != "" {
			errs = append(errs, msgs(fp.Child("prefix"), f.Prefix, validation.IsEnvVarName(f.Prefix))...)
		}
		switch {
		case f.ConfigMapRef != nil && f.SecretRef != nil:
			errs = append(errs, field.Invalid(fp, "", "may not have more than one field specified at a time"))
		case f.ConfigMapRef != nil:
			errs = append(errs, objectRef(f.ConfigMapRef.Name, fp.Child("configMapRef", "name"))...)
		case f.SecretRef != nil:
			errs = append(errs, objectRef(f.SecretRef.Name, fp.Child("secretRef", "name"))...)
		default:
			errs = append(errs, field.Required(fp, "must specify a source"))
		}
	}
	return errs
}

// envFieldPaths are the fieldRef paths an env var may read; labels and
// annotations also take a ['key'] subscript.
var envFieldPaths = sets.New(
	"metadata.name", "metadata.namespace", "metadata.uid",
	"spec.nodeName", "spec.serviceAccountName",
	"status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs",
)

func validateEnv(ctx *podContext, env []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range env {
		ep := p.Index(i)
		if e.Name == "" {
			errs = append(errs, field.Required(ep.Child("name"), ""))
		} else {
			errs = append(errs, msgs(ep.Child("name"), e.Name, validation.IsEnvVarName(e.Name))...)
		}
		if e.ValueFrom == nil {
			continue
		}
		vp := ep.Child("valueFrom")
		if e.Value != "" {
			errs = append(errs, field.Invalid(vp, "", "may not be specified when `value` is not empty"))
		}
		errs = append(errs, validateEnvSource(ctx, e.ValueFrom, vp)...)
	}
	return errs
}

func validateEnvSource(ctx *podContext, s *corev1.EnvVarSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if s.FieldRef != nil {
		n++
		errs = append(errs, validateFieldRef(s.FieldRef, p.Child("fieldRef"), envFieldPaths, false)...)
	}
	if s.ResourceFieldRef != nil {
		n++
		errs = append(errs, validateResourceFieldRef(ctx, s.ResourceFieldRef, p.Child("resourceFieldRef"), false)...)
	}
	if s.ConfigMapKeyRef != nil {
		n++
		r := s.ConfigMapKeyRef
		errs = append(errs, validateKeySelector(r.Name, r.Key, p.Child("configMapKeyRef"))...)
	}
	if s.SecretKeyRef != nil {
		n++
		r := s.SecretKeyRef
		errs = append(errs, validateKeySelector(r.Name, r.Key, p.Child("secretKeyRef"))...)
	}
	if s.FileKeyRef != nil {
		n++
		errs = append(errs, field.Forbidden(p.Child("fileKeyRef"), "not supported by podd"))
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(p, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case n > 1:
		errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// validateFieldRef checks a downward API field path. wholeMaps allows bare
// metadata.labels / metadata.annotations (volumes only).
func validateFieldRef(f *corev1.ObjectFieldSelector, p *field.Path, allowed sets.Set[string], wholeMaps bool) field.ErrorList {
	var errs field.ErrorList
	if f.APIVersion != "v1" {
		errs = append(errs, field.NotSupported(p.Child("apiVersion"), f.APIVersion, []string{"v1"}))
	}
	fp := p.Child("fieldPath")
	if f.FieldPath == "" {
		return append(errs, field.Required(fp, ""))
	}
	if allowed.Has(f.FieldPath) {
		return errs
	}
	for _, m := range []string{"metadata.labels", "metadata.annotations"} {
		if f.FieldPath == m && wholeMaps {
			return errs
		}
		if key, ok := subscript(f.FieldPath, m); ok {
			return append(errs, msgs(fp, f.FieldPath, validation.IsQualifiedName(strings.ToLower(key)))...)
		}
	}
	supported := sets.List(allowed)
	supported = append(supported, "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']")
	if wholeMaps {
		supported = append(supported, "metadata.labels", "metadata.annotations")
	}
	return append(errs, field.NotSupported(fp, f.FieldPath, supported))
}

// subscript splits `metadata.labels['key']` into its key.
func subscript(fieldPath, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(fieldPath, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

var resourceFields = []string{
	"limits.cpu", "limits.memory", "limits.ephemeral-storage",
	"requests.cpu", "requests.memory", "requests.ephemeral-storage",
}

func validateResourceFieldRef(ctx *podContext, r *corev1.ResourceFieldSelector, p *field.Path, needContainer bool) field.ErrorList {
	var errs field.ErrorList
	switch {
	case r.ContainerName == "" && needContainer:
		errs = append(errs, field.Required(p.Child("containerName"), ""))
	case r.ContainerName != "" && !ctx.names.Has(r.ContainerName):
		errs = append(errs, field.NotFound(p.Child("containerName"), r.ContainerName))
	}
	if !sets.New(resourceFields...).Has(r.Resource) {
		errs = append(errs, field.NotSupported(p.Child("resource"), r.Resource, resourceFields))
		return errs
	}
	if r.Divisor.IsZero() {
		return errs
	}
	valid := []string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}
	if strings.HasSuffix(r.Resource, ".cpu") {
		valid = []string{"1m", "1"}
	}
	for _, v := range valid {
		if r.Divisor.Cmp(resource.MustParse(v)) == 0 {
			return errs
		}
	}
	return append(errs, field.NotSupported(p.Child("divisor"), r.Divisor.String(), valid))
}

func validateResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(list corev1.ResourceList, lp *field.Path) {
		for name, q := range list {
			rp := lp.Key(string(name))
			switch {
			case name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage:
			case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
				errs = append(errs, field.Forbidden(rp, "hugepages are not supported by podd"))
				continue
			default:
				errs = append(errs, field.NotSupported(rp, name,
					[]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}))
				continue
			}
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(rp, q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	check(r.Limits, p.Child("limits"))
	check(r.Requests, p.Child("requests"))
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(p.Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		}
	}
	if len(r.Claims) > 0 {
		errs = append(errs, field.Forbidden(p.Child("claims"), "dynamic resource allocation is not supported by podd"))
	}
	return errs
}

func validateContainerSecurity(sc *corev1.SecurityContext, p *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	errs := ids(p, sc.RunAsUser, sc.RunAsGroup)
	privileged := sc.Privileged != nil && *sc.Privileged
	if ape := sc.AllowPrivilegeEscalation; ape != nil && !*ape {
		if privileged {
			errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		if sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				if strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_") == "SYS_ADMIN" {
					errs = append(errs, field.Invalid(p, sc, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
				}
			}
		}
	}
	if pm := sc.ProcMount; pm != nil && *pm != corev1.DefaultProcMount {
		errs = append(errs, field.NotSupported(p.Child("procMount"), *pm, []corev1.ProcMountType{corev1.DefaultProcMount}))
	}
	return errs
}
