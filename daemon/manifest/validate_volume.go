package manifest

import (
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// source is one member of a VolumeSource: its JSON name and whether it is set.
type source struct {
	name string
	set  bool
}

func sources(v *corev1.VolumeSource) []source {
	return []source{
		{"emptyDir", v.EmptyDir != nil}, {"hostPath", v.HostPath != nil}, {"downwardAPI", v.DownwardAPI != nil},
		{"configMap", v.ConfigMap != nil}, {"secret", v.Secret != nil}, {"projected", v.Projected != nil},
		{"persistentVolumeClaim", v.PersistentVolumeClaim != nil}, {"ephemeral", v.Ephemeral != nil},
		{"csi", v.CSI != nil}, {"image", v.Image != nil}, {"nfs", v.NFS != nil}, {"iscsi", v.ISCSI != nil},
		{"gitRepo", v.GitRepo != nil}, {"gcePersistentDisk", v.GCEPersistentDisk != nil},
		{"awsElasticBlockStore", v.AWSElasticBlockStore != nil}, {"glusterfs", v.Glusterfs != nil},
		{"rbd", v.RBD != nil}, {"flexVolume", v.FlexVolume != nil}, {"cinder", v.Cinder != nil},
		{"cephfs", v.CephFS != nil}, {"flocker", v.Flocker != nil}, {"fc", v.FC != nil},
		{"azureFile", v.AzureFile != nil}, {"vsphereVolume", v.VsphereVolume != nil}, {"quobyte", v.Quobyte != nil},
		{"azureDisk", v.AzureDisk != nil}, {"photonPersistentDisk", v.PhotonPersistentDisk != nil},
		{"portworxVolume", v.PortworxVolume != nil}, {"scaleIO", v.ScaleIO != nil}, {"storageos", v.StorageOS != nil},
	}
}

// validateVolumes returns the names of the pod's volumes and their errors
// (R92: emptyDir, hostPath, downwardAPI, persistentVolumeClaim, configMap,
// secret and projected only).
func validateVolumes(s *corev1.PodSpec, p *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range s.Volumes {
		v := &s.Volumes[i]
		vp := p.Index(i)
		errs = append(errs, label(vp.Child("name"), v.Name)...)
		if names.Has(v.Name) {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		names.Insert(v.Name)
		n := 0
		for _, src := range sources(&v.VolumeSource) {
			if !src.set {
				continue
			}
			n++
			sp := vp.Child(src.name)
			if n > 1 {
				errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type"))
				continue
			}
			switch src.name {
			case "emptyDir":
				errs = append(errs, validateEmptyDir(v.EmptyDir, sp)...)
			case "hostPath":
				errs = append(errs, validateHostPath(v.HostPath, sp)...)
			case "downwardAPI":
				errs = append(errs, validateDownwardAPI(s, v.DownwardAPI, sp)...)
			case "persistentVolumeClaim":
				errs = append(errs, validateClaimSource(v.PersistentVolumeClaim, sp)...)
			case "configMap":
				errs = append(errs, validateConfigMapVolume(v.ConfigMap, sp)...)
			case "secret":
				errs = append(errs, validateSecretVolume(v.Secret, sp)...)
			case "projected":
				errs = append(errs, validateProjected(s, v.Projected, sp)...)
			default:
				errs = append(errs, field.Forbidden(sp, src.name+" volumes are not supported by podd: use emptyDir, hostPath, "+
					"downwardAPI, persistentVolumeClaim, configMap, secret or projected"))
			}
		}
		if n == 0 {
			errs = append(errs, field.Required(vp, "must specify a volume type"))
		}
	}
	return names, errs
}

func validateEmptyDir(e *corev1.EmptyDirVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e.Medium != corev1.StorageMediumDefault && e.Medium != corev1.StorageMediumMemory {
		errs = append(errs, field.NotSupported(p.Child("medium"), e.Medium,
			[]corev1.StorageMedium{corev1.StorageMediumDefault, corev1.StorageMediumMemory}))
	}
	if e.SizeLimit != nil && e.SizeLimit.Sign() < 0 {
		errs = append(errs, field.Invalid(p.Child("sizeLimit"), e.SizeLimit.String(), "must be greater than or equal to 0"))
	}
	if e.Mode != nil {
		errs = append(errs, field.Forbidden(p.Child("mode"), "not supported by podd: an emptyDir directory is 0777"))
	}
	return errs
}

var hostPathTypes = []corev1.HostPathType{
	corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
	corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev,
}

func validateHostPath(h *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case h.Path == "":
		errs = append(errs, field.Required(p.Child("path"), ""))
	case !path.IsAbs(h.Path):
		errs = append(errs, field.Invalid(p.Child("path"), h.Path, "must be an absolute path"))
	case hasDotDot(h.Path):
		errs = append(errs, field.Invalid(p.Child("path"), h.Path, "must not contain '..'"))
	}
	if h.Type != nil && !sets.New(hostPathTypes...).Has(*h.Type) {
		errs = append(errs, field.NotSupported(p.Child("type"), *h.Type, hostPathTypes))
	}
	return errs
}

// validateClaimSource requires the name of a claim in the pod's namespace;
// whether the claim exists is known only when the pod starts.
func validateClaimSource(c *corev1.PersistentVolumeClaimVolumeSource, p *field.Path) field.ErrorList {
	if c.ClaimName == "" {
		return field.ErrorList{field.Required(p.Child("claimName"), "")}
	}
	return msgs(p.Child("claimName"), c.ClaimName, validation.IsDNS1123Subdomain(c.ClaimName))
}

var volumeFieldPaths = sets.New("metadata.name", "metadata.namespace", "metadata.uid")

func validateDownwardAPI(s *corev1.PodSpec, d *corev1.DownwardAPIVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateMode(d.DefaultMode, p.Child("defaultMode"))...)
	if d.DefaultUser != nil {
		errs = append(errs, field.Forbidden(p.Child("defaultUser"), noOwner))
	}
	ctx := &podContext{spec: s, names: sets.New[string]()}
	for _, c := range append(append([]corev1.Container{}, s.InitContainers...), s.Containers...) {
		ctx.names.Insert(c.Name)
	}
	paths := sets.New[string]()
	for i, it := range d.Items {
		ip := p.Child("items").Index(i)
		errs = append(errs, relativePath(ip.Child("path"), it.Path, true)...)
		if paths.Has(path.Clean(it.Path)) {
			errs = append(errs, field.Duplicate(ip.Child("path"), it.Path))
		}
		paths.Insert(path.Clean(it.Path))
		errs = append(errs, validateMode(it.Mode, ip.Child("mode"))...)
		if it.User != nil {
			errs = append(errs, field.Forbidden(ip.Child("user"), noOwner))
		}
		switch {
		case it.FieldRef != nil && it.ResourceFieldRef != nil:
			errs = append(errs, field.Invalid(ip, "", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		case it.FieldRef != nil:
			errs = append(errs, validateFieldRef(it.FieldRef, ip.Child("fieldRef"), volumeFieldPaths, true)...)
		case it.ResourceFieldRef != nil:
			errs = append(errs, validateResourceFieldRef(ctx, it.ResourceFieldRef, ip.Child("resourceFieldRef"), true)...)
		default:
			errs = append(errs, field.Required(ip, "must specify one of: `fieldRef`, `resourceFieldRef`"))
		}
	}
	return errs
}

func validateMode(m *int32, p *field.Path) field.ErrorList {
	if m != nil && (*m < 0 || *m > 0o777) {
		return field.ErrorList{field.Invalid(p, *m, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

func hasDotDot(p string) bool {
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

// relativePath requires a relative path without `..` elements.
func relativePath(p *field.Path, v string, required bool) field.ErrorList {
	switch {
	case v == "" && required:
		return field.ErrorList{field.Required(p, "")}
	case path.IsAbs(v):
		return field.ErrorList{field.Invalid(p, v, "must be a relative path")}
	case hasDotDot(v):
		return field.ErrorList{field.Invalid(p, v, "must not contain '..'")}
	}
	return nil
}

// kernelFS returns the kernel filesystem (/proc, /sys, /dev) that the
// cleaned path p is or lies below, or "": a volume there would hide or
// replace what the runtime mounts.
func kernelFS(p string) string {
	p = path.Clean(p)
	for _, fs := range []string{"/proc", "/sys", "/dev"} {
		if p == fs || strings.HasPrefix(p, fs+"/") {
			return fs
		}
	}
	return ""
}

// validateMounts checks a container's volumeMounts: the volume exists, the
// mountPath is absolute, unique and not on /proc, /sys or /dev, subPath stays inside the volume.
func validateMounts(ctx *podContext, c *corev1.Container, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	privileged := c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged
	paths := sets.New[string]()
	for i, m := range c.VolumeMounts {
		mp := p.Child("volumeMounts").Index(i)
		switch {
		case m.Name == "":
			errs = append(errs, field.Required(mp.Child("name"), ""))
		case !ctx.volumes.Has(m.Name):
			errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
		}
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(mp.Child("mountPath"), ""))
		case !path.IsAbs(m.MountPath):
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be an absolute path"))
		case paths.Has(path.Clean(m.MountPath)):
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be unique"))
		case kernelFS(m.MountPath) != "":
			errs = append(errs, field.Forbidden(mp.Child("mountPath"),
				"must not be "+kernelFS(m.MountPath)+" or below it: the runtime mounts it"))
		}
		paths.Insert(path.Clean(m.MountPath))
		errs = append(errs, relativePath(mp.Child("subPath"), m.SubPath, false)...)
		errs = append(errs, relativePath(mp.Child("subPathExpr"), m.SubPathExpr, false)...)
		if m.SubPath != "" && m.SubPathExpr != "" {
			errs = append(errs, field.Invalid(mp.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
		}
		errs = append(errs, validatePropagation(m, mp, privileged)...)
		if len(m.BindMountOptions) > 0 {
			errs = append(errs, field.Forbidden(mp.Child("bindMountOptions"), "not supported by podd"))
		}
	}
	return errs
}

func validatePropagation(m corev1.VolumeMount, p *field.Path, privileged bool) field.ErrorList {
	var errs field.ErrorList
	prop := corev1.MountPropagationNone
	if m.MountPropagation != nil {
		prop = *m.MountPropagation
	}
	switch prop {
	case corev1.MountPropagationNone, corev1.MountPropagationHostToContainer:
	case corev1.MountPropagationBidirectional:
		if !privileged {
			errs = append(errs, field.Forbidden(p.Child("mountPropagation"), "Bidirectional mount propagation is available only to privileged containers"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("mountPropagation"), prop, []corev1.MountPropagationMode{
			corev1.MountPropagationNone, corev1.MountPropagationHostToContainer, corev1.MountPropagationBidirectional}))
	}
	if rro := m.RecursiveReadOnly; rro != nil {
		switch *rro {
		case corev1.RecursiveReadOnlyDisabled:
		case corev1.RecursiveReadOnlyIfPossible, corev1.RecursiveReadOnlyEnabled:
			if !m.ReadOnly {
				errs = append(errs, field.Forbidden(p.Child("recursiveReadOnly"), "may only be specified when readOnly is true"))
			}
			if prop != corev1.MountPropagationNone {
				errs = append(errs, field.Forbidden(p.Child("recursiveReadOnly"), "may only be specified when mountPropagation is None or not specified"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("recursiveReadOnly"), *rro, []corev1.RecursiveReadOnlyMode{
				corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyIfPossible, corev1.RecursiveReadOnlyEnabled}))
		}
	}
	return errs
}
