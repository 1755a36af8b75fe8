package manifest

import (
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// noOwner refuses the file owners podd does not set: volume files are owned
// by root (group fsGroup with a pod fsGroup).
const noOwner = "not supported by podd: volume files are owned by root"

// validateConfigMapVolume checks a configMap volume like the API server:
// a name, items of valid keys and relative paths, modes in range.
func validateConfigMapVolume(c *corev1.ConfigMapVolumeSource, p *field.Path) field.ErrorList {
	errs := objectRef(c.Name, p.Child("name"))
	errs = append(errs, validateMode(c.DefaultMode, p.Child("defaultMode"))...)
	if c.DefaultUser != nil {
		errs = append(errs, field.Forbidden(p.Child("defaultUser"), noOwner))
	}
	return append(errs, validateKeyToPaths(c.Items, p.Child("items"), sets.New[string]())...)
}

func validateSecretVolume(s *corev1.SecretVolumeSource, p *field.Path) field.ErrorList {
	errs := objectRef(s.SecretName, p.Child("secretName"))
	errs = append(errs, validateMode(s.DefaultMode, p.Child("defaultMode"))...)
	if s.DefaultUser != nil {
		errs = append(errs, field.Forbidden(p.Child("defaultUser"), noOwner))
	}
	return append(errs, validateKeyToPaths(s.Items, p.Child("items"), sets.New[string]())...)
}

// validateProjected checks a projected volume: configMap, secret and
// downwardAPI sources, their paths unique across sources.
// serviceAccountToken, clusterTrustBundle and podCertificate need an API
// server podd does not have.
func validateProjected(s *corev1.PodSpec, pv *corev1.ProjectedVolumeSource, p *field.Path) field.ErrorList {
	errs := validateMode(pv.DefaultMode, p.Child("defaultMode"))
	if pv.DefaultUser != nil {
		errs = append(errs, field.Forbidden(p.Child("defaultUser"), noOwner))
	}
	paths := sets.New[string]()
	for i, src := range pv.Sources {
		sp := p.Child("sources").Index(i)
		n := 0
		if src.ConfigMap != nil {
			n++
			errs = append(errs, objectRef(src.ConfigMap.Name, sp.Child("configMap", "name"))...)
			errs = append(errs, validateKeyToPaths(src.ConfigMap.Items, sp.Child("configMap", "items"), paths)...)
		}
		if src.Secret != nil {
			n++
			errs = append(errs, objectRef(src.Secret.Name, sp.Child("secret", "name"))...)
			errs = append(errs, validateKeyToPaths(src.Secret.Items, sp.Child("secret", "items"), paths)...)
		}
		if src.DownwardAPI != nil {
			n++
			d := &corev1.DownwardAPIVolumeSource{Items: src.DownwardAPI.Items}
			errs = append(errs, validateDownwardAPI(s, d, sp.Child("downwardAPI"))...)
			for j, it := range src.DownwardAPI.Items {
				errs = append(errs, uniquePath(paths, it.Path, sp.Child("downwardAPI", "items").Index(j).Child("path"))...)
			}
		}
		const noAPIServer = "not supported by podd: there is no API server to issue it"
		if src.ServiceAccountToken != nil {
			n++
			errs = append(errs, field.Forbidden(sp.Child("serviceAccountToken"), noAPIServer))
		}
		if src.ClusterTrustBundle != nil {
			n++
			errs = append(errs, field.Forbidden(sp.Child("clusterTrustBundle"), noAPIServer))
		}
		if src.PodCertificate != nil {
			n++
			errs = append(errs, field.Forbidden(sp.Child("podCertificate"), noAPIServer))
		}
		switch {
		case n == 0:
			errs = append(errs, field.Required(sp, "must specify exactly 1 of: configMap, secret, downwardAPI"))
		case n > 1:
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

// objectRef requires the name of a ConfigMap or Secret; whether it
// exists is known only when the pod starts.
func objectRef(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return msgs(p, name, validation.IsDNS1123Subdomain(name))
}

// validateKeyToPaths checks items; paths collects the paths of the volume
// (shared by the sources of a projected volume) to refuse duplicates.
func validateKeyToPaths(items []corev1.KeyToPath, p *field.Path, paths sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		ip := p.Index(i)
		if it.Key == "" {
			errs = append(errs, field.Required(ip.Child("key"), ""))
		} else {
			errs = append(errs, msgs(ip.Child("key"), it.Key, validation.IsConfigMapKey(it.Key))...)
		}
		errs = append(errs, relativePath(ip.Child("path"), it.Path, true)...)
		if strings.HasPrefix(it.Path, "..") {
			errs = append(errs, field.Invalid(ip.Child("path"), it.Path, "must not start with '..'"))
		}
		errs = append(errs, uniquePath(paths, it.Path, ip.Child("path"))...)
		errs = append(errs, validateMode(it.Mode, ip.Child("mode"))...)
		if it.User != nil {
			errs = append(errs, field.Forbidden(ip.Child("user"), noOwner))
		}
	}
	return errs
}

func uniquePath(paths sets.Set[string], v string, p *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	c := path.Clean(v)
	if paths.Has(c) {
		return field.ErrorList{field.Duplicate(p, v)}
	}
	paths.Insert(c)
	return nil
}

// validateKeySelector checks an env var's configMapKeyRef or secretKeyRef.
func validateKeySelector(name, key string, p *field.Path) field.ErrorList {
	errs := objectRef(name, p.Child("name"))
	if key == "" {
		return append(errs, field.Required(p.Child("key"), ""))
	}
	return append(errs, msgs(p.Child("key"), key, validation.IsConfigMapKey(key))...)
}
