package printers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Object is what the object printers take: a *corev1.Namespace,
// *corev1.ConfigMap, *corev1.Secret or *corev1.PersistentVolumeClaim.
type Object interface {
	runtime.Object
	metav1.Object
}

// ObjectHeader is kubectl's `get` header for resource; with allNamespaces
// (namespaced resources only) it starts with NAMESPACE.
func ObjectHeader(resource string, allNamespaces bool) []string {
	var h []string
	switch resource {
	case "namespaces":
		return []string{"NAME", "STATUS", "AGE"}
	case "configmaps":
		h = []string{"NAME", "DATA", "AGE"}
	case "secrets":
		h = []string{"NAME", "TYPE", "DATA", "AGE"}
	case "persistentvolumeclaims":
		h = []string{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"}
	case "deployments":
		h = []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}
	case "replicasets":
		h = []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}
	}
	if allNamespaces {
		h = append([]string{"NAMESPACE"}, h...)
	}
	return h
}

// ObjectRow is one object's row under ObjectHeader. A Secret's row shows
// how many keys it has, never a value.
func ObjectRow(obj Object, now time.Time, allNamespaces bool) []string {
	age := Age(obj.GetCreationTimestamp(), now)
	var row []string
	switch o := obj.(type) {
	case *corev1.Namespace:
		return []string{o.Name, string(o.Status.Phase), age}
	case *corev1.ConfigMap:
		row = []string{o.Name, strconv.Itoa(len(o.Data) + len(o.BinaryData)), age}
	case *corev1.Secret:
		row = []string{o.Name, string(o.Type), strconv.Itoa(len(o.Data)), age}
	case *corev1.PersistentVolumeClaim:
		capacity := ""
		if q, ok := o.Status.Capacity[corev1.ResourceStorage]; ok {
			capacity = q.String()
		}
		row = []string{o.Name, string(o.Status.Phase), ClaimVolume(o), capacity, AccessModes(o.Status.AccessModes),
			orUnset(o.Spec.StorageClassName), orUnset(o.Spec.VolumeAttributesClassName), age}
	case *appsv1.Deployment:
		row = []string{o.Name, fmt.Sprintf("%d/%d", o.Status.ReadyReplicas, replicasOf(o.Spec.Replicas)),
			strconv.Itoa(int(o.Status.UpdatedReplicas)), strconv.Itoa(int(o.Status.AvailableReplicas)), age}
	case *appsv1.ReplicaSet:
		row = []string{o.Name, strconv.Itoa(int(replicasOf(o.Spec.Replicas))), strconv.Itoa(int(o.Status.Replicas)),
			strconv.Itoa(int(o.Status.ReadyReplicas)), age}
	}
	if allNamespaces {
		row = append([]string{obj.GetNamespace()}, row...)
	}
	return row
}

// ClaimVolume names a claim's local volume as a dynamic provisioner names
// its volume: pvc-<uid>.
func ClaimVolume(c *corev1.PersistentVolumeClaim) string {
	if c.Spec.VolumeName != "" {
		return c.Spec.VolumeName
	}
	if c.UID == "" {
		return ""
	}
	return "pvc-" + string(c.UID)
}

// AccessModes abbreviates access modes as kubectl does (RWO,ROX,RWX,RWOP).
func AccessModes(modes []corev1.PersistentVolumeAccessMode) string {
	short := map[corev1.PersistentVolumeAccessMode]string{
		corev1.ReadWriteOnce: "RWO", corev1.ReadOnlyMany: "ROX", corev1.ReadWriteMany: "RWX", corev1.ReadWriteOncePod: "RWOP",
	}
	var out []string
	for _, m := range modes {
		if s, ok := short[m]; ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func replicasOf(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func orUnset(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
