package manifest

import (
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// redacted stands for a secret's value in messages: no error names one.
const redacted = "<secret contents redacted>"

// MaxDataBytes bounds the data of a ConfigMap or Secret, as the API server
// does (corev1.MaxSecretSize).
const MaxDataBytes = corev1.MaxSecretSize

// DefaultObject fills in what the API server defaults on a decoded object
// other than a Pod: the namespace of namespaced kinds, a Secret's type (and
// stringData folded into data, as the API server does), a claim's volume
// mode. It returns warnings for fields it drops.
func DefaultObject(obj Object) []string {
	var warns []string
	switch o := obj.(type) {
	case *corev1.Namespace:
		o.APIVersion, o.Kind = "v1", KindNamespace
		if o.Namespace != "" {
			warns = append(warns, "metadata.namespace is ignored: a Namespace is not namespaced")
			o.Namespace = ""
		}
		o.Spec = corev1.NamespaceSpec{}
		if o.Name != "" {
			// The API server labels every namespace with its name.
			if o.Labels == nil {
				o.Labels = map[string]string{}
			}
			o.Labels[corev1.LabelMetadataName] = o.Name
		}
		return warns
	case *corev1.ConfigMap:
		o.APIVersion, o.Kind = "v1", KindConfigMap
	case *corev1.Secret:
		o.APIVersion, o.Kind = "v1", KindSecret
		if o.Type == "" {
			o.Type = corev1.SecretTypeOpaque
		}
	case *corev1.PersistentVolumeClaim:
		o.APIVersion, o.Kind = "v1", KindPersistentVolumeClaim
		if o.Spec.VolumeMode == nil {
			m := corev1.PersistentVolumeFilesystem
			o.Spec.VolumeMode = &m
		}
	case *corev1.Service:
		o.APIVersion, o.Kind = "v1", KindService
		defaultService(o)
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(corev1.NamespaceDefault)
	}
	return warns
}

// ValidateObject checks a defaulted object other than a Pod like the API
// server does and returns every problem with its field path. A Secret's
// stringData is folded into its data once it is valid.
func ValidateObject(obj Object) field.ErrorList {
	switch o := obj.(type) {
	case *corev1.Namespace:
		errs := msgsOrRequired(field.NewPath("metadata", "name"), o.Name, validation.IsDNS1123Label)
		errs = append(errs, metav1validation.ValidateLabels(o.Labels, field.NewPath("metadata", "labels"))...)
		return append(errs, apivalidation.ValidateAnnotations(o.Annotations, field.NewPath("metadata", "annotations"))...)
	case *corev1.ConfigMap:
		return append(validateMeta(&o.ObjectMeta, field.NewPath("metadata")), validateConfigMap(o)...)
	case *corev1.Secret:
		return append(validateMeta(&o.ObjectMeta, field.NewPath("metadata")), validateSecret(o)...)
	case *corev1.PersistentVolumeClaim:
		return append(validateMeta(&o.ObjectMeta, field.NewPath("metadata")), validateClaim(&o.Spec, field.NewPath("spec"))...)
	case *corev1.Service:
		return validateService(o)
	}
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("unknown kind %T", obj))}
}

func msgsOrRequired(p *field.Path, v string, check func(string) []string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return msgs(p, v, check(v))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func validateKeys[V any](m map[string]V, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(m) {
		errs = append(errs, msgs(p.Key(k), k, validation.IsConfigMapKey(k))...)
	}
	return errs
}

func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	errs := validateKeys(cm.Data, field.NewPath("data"))
	errs = append(errs, validateKeys(cm.BinaryData, field.NewPath("binaryData"))...)
	size := 0
	for _, k := range sortedKeys(cm.Data) {
		size += len(cm.Data[k])
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, "duplicate of key present in binaryData"))
		}
	}
	for _, v := range cm.BinaryData {
		size += len(v)
	}
	if size > MaxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", MaxDataBytes))
	}
	return errs
}

// secretTypes are the Secret types podd accepts.
var secretTypes = sets.New(string(corev1.SecretTypeOpaque), string(corev1.SecretTypeDockerConfigJson))

func validateSecret(s *corev1.Secret) field.ErrorList {
	errs := validateKeys(s.Data, field.NewPath("data"))
	errs = append(errs, validateKeys(s.StringData, field.NewPath("stringData"))...)
	if !secretTypes.Has(string(s.Type)) {
		errs = append(errs, field.NotSupported(field.NewPath("type"), s.Type, sets.List(secretTypes)))
	}
	if len(errs) > 0 {
		return errs
	}
	// The API server folds stringData into data (stringData wins) before
	// it validates the rest.
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
	size := 0
	for _, v := range s.Data {
		size += len(v)
	}
	if size > MaxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", MaxDataBytes))
	}
	if s.Type == corev1.SecretTypeDockerConfigJson {
		p := field.NewPath("data").Key(corev1.DockerConfigJsonKey)
		v, ok := s.Data[corev1.DockerConfigJsonKey]
		if !ok {
			return append(errs, field.Required(p, ""))
		}
		var cfg map[string]any
		if err := json.Unmarshal(v, &cfg); err != nil {
			errs = append(errs, field.Invalid(p, redacted, err.Error()))
		}
	}
	return errs
}

// claimModes are the access modes of a claim; on one node each is a
// local directory.
var claimModes = sets.New(string(corev1.ReadWriteOnce), string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany), string(corev1.ReadWriteOncePod))

func validateClaim(s *corev1.PersistentVolumeClaimSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.AccessModes) == 0 {
		errs = append(errs, field.Required(p.Child("accessModes"), "at least 1 access mode is required"))
	}
	for i, m := range s.AccessModes {
		if !claimModes.Has(string(m)) {
			errs = append(errs, field.NotSupported(p.Child("accessModes").Index(i), m, sets.List(claimModes)))
		}
		if m == corev1.ReadWriteOncePod && len(s.AccessModes) > 1 {
			errs = append(errs, field.Forbidden(p.Child("accessModes"), "may not use ReadWriteOncePod with other access modes"))
		}
	}
	storage := p.Child("resources").Key(string(corev1.ResourceStorage))
	q, ok := s.Resources.Requests[corev1.ResourceStorage]
	switch {
	case !ok:
		errs = append(errs, field.Required(storage, ""))
	case q.Sign() <= 0:
		errs = append(errs, field.Invalid(storage, q.String(), "must be greater than zero"))
	}
	for name := range s.Resources.Requests {
		if name != corev1.ResourceStorage {
			errs = append(errs, field.NotSupported(p.Child("resources", "requests").Key(string(name)), name, []string{string(corev1.ResourceStorage)}))
		}
	}
	if s.VolumeMode != nil && *s.VolumeMode != corev1.PersistentVolumeFilesystem {
		errs = append(errs, field.NotSupported(p.Child("volumeMode"), *s.VolumeMode, []string{string(corev1.PersistentVolumeFilesystem)}))
	}
	forbid := func(set bool, name string) {
		if set {
			errs = append(errs, field.Forbidden(p.Child(name), "podd provisions local volumes only"))
		}
	}
	forbid(s.Selector != nil, "selector")
	forbid(s.VolumeName != "", "volumeName")
	forbid(s.DataSource != nil, "dataSource")
	forbid(s.DataSourceRef != nil, "dataSourceRef")
	return errs
}
