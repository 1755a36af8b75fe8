package printers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func writeVolumes(w *prefixWriter, volumes []corev1.Volume) {
	if len(volumes) == 0 {
		w.write(level0, "Volumes:\t<none>\n")
		return
	}
	w.write(level0, "Volumes:\n")
	for _, v := range volumes {
		w.write(level1, "%s:\n", v.Name)
		src := v.VolumeSource
		switch {
		case src.HostPath != nil:
			hpType := "<none>"
			if src.HostPath.Type != nil {
				hpType = string(*src.HostPath.Type)
			}
			w.write(level2, "Type:\tHostPath (bare host directory volume)\n    Path:\t%v\n    HostPathType:\t%v\n",
				src.HostPath.Path, hpType)
		case src.EmptyDir != nil:
			limit := "<unset>"
			if l := src.EmptyDir.SizeLimit; l != nil && l.Cmp(resource.Quantity{}) > 0 {
				limit = l.String()
			}
			w.write(level2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t%v\n    SizeLimit:\t%v\n",
				src.EmptyDir.Medium, limit)
		case src.Secret != nil:
			w.write(level2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t%v\n    Optional:\t%v\n",
				src.Secret.SecretName, src.Secret.Optional != nil && *src.Secret.Optional)
		case src.ConfigMap != nil:
			w.write(level2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t%v\n    Optional:\t%v\n",
				src.ConfigMap.Name, src.ConfigMap.Optional != nil && *src.ConfigMap.Optional)
		case src.DownwardAPI != nil:
			w.write(level2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
			for _, item := range src.DownwardAPI.Items {
				if item.FieldRef != nil {
					w.write(level3, "%v -> %v\n", item.FieldRef.FieldPath, item.Path)
				}
				if item.ResourceFieldRef != nil {
					w.write(level3, "%v -> %v\n", item.ResourceFieldRef.Resource, item.Path)
				}
			}
		case src.Projected != nil:
			writeProjected(w, src.Projected)
		case src.PersistentVolumeClaim != nil:
			w.write(level2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t%v\n    ReadOnly:\t%v\n",
				src.PersistentVolumeClaim.ClaimName, src.PersistentVolumeClaim.ReadOnly)
		default:
			w.write(level1, "<unknown>\n")
		}
	}
}

func writeProjected(w *prefixWriter, p *corev1.ProjectedVolumeSource) {
	w.write(level2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
	for _, s := range p.Sources {
		switch {
		case s.Secret != nil:
			w.write(level2, "SecretName:\t%v\n    Optional:\t%v\n", s.Secret.Name, s.Secret.Optional != nil && *s.Secret.Optional)
		case s.DownwardAPI != nil:
			w.write(level2, "DownwardAPI:\ttrue\n")
		case s.ConfigMap != nil:
			w.write(level2, "ConfigMapName:\t%v\n    Optional:\t%v\n", s.ConfigMap.Name, s.ConfigMap.Optional != nil && *s.ConfigMap.Optional)
		case s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds != nil:
			w.write(level2, "TokenExpirationSeconds:\t%d\n", *s.ServiceAccountToken.ExpirationSeconds)
		}
	}
}
