//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package printers

import (
	"io"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// DescribeObject writes kubectl-style `describe` output for a Namespace,
// ConfigMap, Secret or PersistentVolumeClaim. A Secret shows its keys and
// their sizes in bytes, never a value.
func DescribeObject(out io.Writer, obj Object) error {
	if s, ok := obj.(*corev1.Service); ok {
		return DescribeService(out, s, nil)
	}
	w := &prefixWriter{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)}
	w.write(level0, "Name:\t%s\n", obj.GetName())
	if _, ok := obj.(*corev1.Namespace); !ok {
		w.write(level0, "Namespace:\t%s\n", obj.GetNamespace())
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		describeNamespace(w, o)
	case *corev1.ConfigMap:
		describeConfigMap(w, o)
	case *corev1.Secret:
		describeSecret(w, o)
	case *corev1.PersistentVolumeClaim:
		describeClaim(w, o)
	case *corev1.Endpoints:
		describeEndpoints(w, o)
	case *appsv1.Deployment:
		describeDeployment(w, o)
	case *batchv1.Job:
		describeJob(w, o)
	case *appsv1.DaemonSet:
		describeDaemonSet(w, o)
	case *batchv1.CronJob:
		describeCronJob(w, o)
	}
	w.flush()
	return w.err
}

func describeNamespace(w *prefixWriter, n *corev1.Namespace) {
	writeLabels(w, "Labels", n.Labels)
	writeAnnotations(w, "Annotations", n.Annotations)
	w.write(level0, "Status:\t%s\n", n.Status.Phase)
	w.write(level0, "\nNo resource quota.\n")
	w.write(level0, "\nNo LimitRange resource.\n")
}

func describeConfigMap(w *prefixWriter, cm *corev1.ConfigMap) {
	writeLabels(w, "Labels", cm.Labels)
	writeAnnotations(w, "Annotations", cm.Annotations)
	w.flush()
	w.write(level0, "\nData\n====\n")
	for _, k := range sortedKeys(cm.Data) {
		w.write(level0, "%s:\n----\n", k)
		w.write(level0, "%s\n\n", cm.Data[k])
	}
	w.write(level0, "\nBinaryData\n====\n")
	for _, k := range sortedByteKeys(cm.BinaryData) {
		w.write(level0, "%s: %d bytes\n", k, len(cm.BinaryData[k]))
	}
	w.write(level0, "\n")
	writeEvents(w, nil, time.Time{})
}

func describeSecret(w *prefixWriter, s *corev1.Secret) {
	writeLabels(w, "Labels", s.Labels)
	writeAnnotations(w, "Annotations", s.Annotations)
	w.write(level0, "\nType:\t%s\n", s.Type)
	w.flush()
	w.write(level0, "\nData\n====\n")
	for _, k := range sortedByteKeys(s.Data) {
		w.write(level0, "%s:\t%d bytes\n", k, len(s.Data[k]))
	}
}

func describeClaim(w *prefixWriter, c *corev1.PersistentVolumeClaim) {
	sc := ""
	if c.Spec.StorageClassName != nil {
		sc = *c.Spec.StorageClassName
	}
	w.write(level0, "StorageClass:\t%s\n", sc)
	w.write(level0, "Status:\t%s\n", c.Status.Phase)
	w.write(level0, "Volume:\t%s\n", ClaimVolume(c))
	writeLabels(w, "Labels", c.Labels)
	writeAnnotations(w, "Annotations", c.Annotations)
	w.write(level0, "Finalizers:\t%v\n", c.Finalizers)
	capacity := ""
	if q, ok := c.Status.Capacity[corev1.ResourceStorage]; ok {
		capacity = q.String()
	}
	w.write(level0, "Capacity:\t%s\n", capacity)
	w.write(level0, "Access Modes:\t%s\n", AccessModes(c.Status.AccessModes))
	mode := corev1.PersistentVolumeFilesystem
	if c.Spec.VolumeMode != nil {
		mode = *c.Spec.VolumeMode
	}
	w.write(level0, "VolumeMode:\t%s\n", mode)
	w.write(level0, "Used By:\t<none>\n")
	writeEvents(w, nil, time.Time{})
}

func sortedByteKeys(m map[string][]byte) []string {
	keys := make(map[string]string, len(m))
	for k := range m {
		keys[k] = ""
	}
	return sortedKeys(keys)
}
