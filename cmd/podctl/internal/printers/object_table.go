//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package printers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
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
	case "services":
		h = []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}
	case "endpoints":
		h = []string{"NAME", "ENDPOINTS", "AGE"}
	case "deployments":
		h = []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}
	case "replicasets":
		h = []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}
	case "jobs":
		h = []string{"NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"}
	case "daemonsets":
		h = []string{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"}
	case "controllerrevisions":
		h = []string{"NAME", "CONTROLLER", "REVISION", "AGE"}
	case "cronjobs":
		h = []string{"NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"}
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
	case *corev1.Service:
		row = []string{o.Name, string(o.Spec.Type), o.Spec.ClusterIP, "<none>", ServicePorts(o), age}
	case *corev1.Endpoints:
		row = []string{o.Name, EndpointsList(o), age}
	case *appsv1.Deployment:
		row = []string{o.Name, fmt.Sprintf("%d/%d", o.Status.ReadyReplicas, replicasOf(o.Spec.Replicas)),
			strconv.Itoa(int(o.Status.UpdatedReplicas)), strconv.Itoa(int(o.Status.AvailableReplicas)), age}
	case *batchv1.Job:
		row = []string{o.Name, JobStatus(o), fmt.Sprintf("%d/%d", o.Status.Succeeded, replicasOf(o.Spec.Completions)), jobDuration(o, now), age}
	case *appsv1.DaemonSet:
		st := o.Status
		row = []string{o.Name, itoa(st.DesiredNumberScheduled), itoa(st.CurrentNumberScheduled), itoa(st.NumberReady),
			itoa(st.UpdatedNumberScheduled), itoa(st.NumberAvailable), nodeSelector(o.Spec.Template.Spec.NodeSelector), age}
	case *batchv1.CronJob:
		last := "<none>"
		if t := o.Status.LastScheduleTime; t != nil {
			last = Age(*t, now)
		}
		tz := "<none>"
		if o.Spec.TimeZone != nil {
			tz = *o.Spec.TimeZone
		}
		row = []string{o.Name, o.Spec.Schedule, tz, strconv.FormatBool(o.Spec.Suspend != nil && *o.Spec.Suspend),
			strconv.Itoa(len(o.Status.Active)), last, age}
	case *appsv1.ControllerRevision:
		controller := "<none>"
		for _, r := range o.OwnerReferences {
			if r.Controller != nil && *r.Controller {
				controller = strings.ToLower(r.Kind) + ".apps/" + r.Name
			}
		}
		row = []string{o.Name, controller, strconv.FormatInt(o.Revision, 10), age}
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

func itoa(n int32) string { return strconv.Itoa(int(n)) }

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

// JobStatus is kubectl's STATUS of a Job: Complete, Failed or Running.
func JobStatus(j *batchv1.Job) string {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return string(c.Type)
		}
	}
	return "Running"
}

// jobDuration is how long a Job ran (until now while it runs).
func jobDuration(j *batchv1.Job, now time.Time) string {
	if j.Status.StartTime == nil {
		return ""
	}
	end := now
	if j.Status.CompletionTime != nil {
		end = j.Status.CompletionTime.Time
	}
	return Age(metav1.NewTime(j.Status.StartTime.Time), end)
}
