package manifest

import (
	"encoding/base64"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Object is one decoded manifest document: a *corev1.Pod, *corev1.Namespace,
// *corev1.ConfigMap, *corev1.Secret, *corev1.PersistentVolumeClaim or
// *corev1.Service.
type Object interface {
	runtime.Object
	metav1.Object
}

// Document is an object with the place it came from, for messages.
type Document struct {
	// Doc is the 1-based document number, Docs the documents of the source.
	Doc, Docs int
	Object    Object
}

// The kinds a manifest may hold (apiVersion v1 unless apiVersions says otherwise).
const (
	KindPod                   = "Pod"
	KindNamespace             = "Namespace"
	KindConfigMap             = "ConfigMap"
	KindSecret                = "Secret"
	KindPersistentVolumeClaim = "PersistentVolumeClaim"
	KindService               = "Service"
	KindDeployment            = "Deployment"
	KindJob                   = "Job"
	KindDaemonSet             = "DaemonSet"
	KindCronJob               = "CronJob"
)

// apiVersions are the apiVersions of the kinds that are not v1.
var apiVersions = map[string]string{
	KindDeployment: "apps/v1",
	KindJob:        "batch/v1",
	KindDaemonSet:  "apps/v1",
	KindCronJob:    "batch/v1",
}

// APIVersionOf is the apiVersion of kind.
func APIVersionOf(kind string) string {
	if v, ok := apiVersions[kind]; ok {
		return v
	}
	return "v1"
}

var kinds = map[string]func() Object{
	KindPod:                   func() Object { return &corev1.Pod{} },
	KindNamespace:             func() Object { return &corev1.Namespace{} },
	KindConfigMap:             func() Object { return &corev1.ConfigMap{} },
	KindSecret:                func() Object { return &corev1.Secret{} },
	KindPersistentVolumeClaim: func() Object { return &corev1.PersistentVolumeClaim{} },
	KindService:               func() Object { return &corev1.Service{} },
	KindDeployment:            func() Object { return &appsv1.Deployment{} },
	KindJob:                   func() Object { return &batchv1.Job{} },
	KindDaemonSet:             func() Object { return &appsv1.DaemonSet{} },
	KindCronJob:               func() Object { return &batchv1.CronJob{} },
}

func kindList() string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// KindOf names the kind of a decoded object.
func KindOf(obj Object) string {
	switch obj.(type) {
	case *corev1.Pod:
		return KindPod
	case *corev1.Namespace:
		return KindNamespace
	case *corev1.ConfigMap:
		return KindConfigMap
	case *corev1.Secret:
		return KindSecret
	case *corev1.PersistentVolumeClaim:
		return KindPersistentVolumeClaim
	case *corev1.Service:
		return KindService
	case *appsv1.Deployment:
		return KindDeployment
	case *batchv1.Job:
		return KindJob
	case *appsv1.DaemonSet:
		return KindDaemonSet
	case *batchv1.CronJob:
		return KindCronJob
	}
	return ""
}

// badBase64 finds the values of a Secret's data that are not base64, which
// the decoder reports without naming the field.
func badBase64(doc any) []string {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	data, ok := m["data"].(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		s, ok := data[k].(string)
		if !ok {
			continue
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			out = append(out, field.Invalid(field.NewPath("data").Key(k), "<secret value>", "must be base64 encoded: "+err.Error()).Error())
		}
	}
	return out
}
