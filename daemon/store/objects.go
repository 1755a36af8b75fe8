package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// Resources of namespaced objects other than pods, as stored and as the API
// names them.
const (
	ResourceConfigMaps = "configmaps"
	ResourceSecrets    = "secrets"
	ResourceClaims     = "persistentvolumeclaims"
	ResourceServices   = "services"
	// ResourceDeployments and ResourceReplicaSets are the Deployments and
	// the revisions of their templates.
	ResourceDeployments = "deployments"
	ResourceReplicaSets = "replicasets"
	// ResourceJobs are the Jobs.
	ResourceJobs = "jobs"
	// ResourceDaemonSets and ResourceControllerRevisions are the
	// DaemonSets and the revisions of their templates.
	ResourceDaemonSets          = "daemonsets"
	ResourceControllerRevisions = "controllerrevisions"
	// ResourceCronJobs are the CronJobs.
	ResourceCronJobs = "cronjobs"
)

// Resources lists the namespaced resources the store keeps, in the order
// they load.
var Resources = []string{ResourceConfigMaps, ResourceSecrets, ResourceClaims, ResourceServices, ResourceDeployments, ResourceReplicaSets, ResourceJobs, ResourceDaemonSets, ResourceControllerRevisions, ResourceCronJobs}

// checkName refuses a name that is not one path element; validation has
// refused it already, this keeps the layout safe whoever calls.
func checkName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%s %q is not a valid name", what, name)
	}
	return nil
}

// SaveNamespace writes a Namespace object atomically, creating its
// directory (0700).
func (s *Store) SaveNamespace(ns *corev1.Namespace) error {
	if err := checkName("namespace", ns.Name); err != nil {
		return err
	}
	if err := os.MkdirAll(s.Layout.NamespaceDir(ns.Name), 0o700); err != nil {
		return fmt.Errorf("save namespace %s: %w", ns.Name, err)
	}
	if err := writeJSON(s.Layout.NamespaceFile(ns.Name), ns); err != nil {
		return fmt.Errorf("save namespace %s: %w", ns.Name, err)
	}
	return nil
}

// SaveObject writes a namespaced object of resource atomically, mode 0600
// (Secrets included: only root reads them). Its namespace must be saved.
func (s *Store) SaveObject(resource, ns, name string, obj any) error {
	if err := errors.Join(checkName("namespace", ns), checkName(resource, name), checkName("resource", resource)); err != nil {
		return err
	}
	if _, err := os.Stat(s.Layout.NamespaceFile(ns)); err != nil {
		return fmt.Errorf("save %s %s/%s: namespace: %w", resource, ns, name, err)
	}
	if err := os.MkdirAll(s.Layout.ObjectsDir(ns, resource), 0o700); err != nil {
		return fmt.Errorf("save %s %s/%s: %w", resource, ns, name, err)
	}
	if err := writeJSON(s.Layout.ObjectFile(ns, resource, name), obj); err != nil {
		return fmt.Errorf("save %s %s/%s: %w", resource, ns, name, err)
	}
	return nil
}

func writeJSON(file string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(file, data, 0o600)
}

// RemoveObject deletes a namespaced object's file (a claim's volume is
// RemoveClaimDir's). A missing file is not an error.
func (s *Store) RemoveObject(resource, ns, name string) error {
	if err := errors.Join(checkName("namespace", ns), checkName(resource, name), checkName("resource", resource)); err != nil {
		return err
	}
	file := s.Layout.ObjectFile(ns, resource, name)
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s %s/%s: %w", resource, ns, name, err)
	}
	return atomicfile.SyncDir(filepath.Dir(file))
}

// EnsureClaimDir creates the local volume of a claim (0700 for the
// directory tree above it, 0777 like an emptyDir for the volume itself so
// that containers running as any user can write it).
func (s *Store) EnsureClaimDir(ns, name string) (string, error) {
	if err := errors.Join(checkName("namespace", ns), checkName("claim", name)); err != nil {
		return "", err
	}
	dir := s.Layout.ClaimDir(ns, name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", fmt.Errorf("create volume of claim %s/%s: %w", ns, name, err)
	}
	if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create volume of claim %s/%s: %w", ns, name, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return "", fmt.Errorf("create volume of claim %s/%s: %w", ns, name, err)
	}
	return dir, nil
}

// RemoveClaimDir deletes a claim's volume and its data.
func (s *Store) RemoveClaimDir(ns, name string) error {
	if err := errors.Join(checkName("namespace", ns), checkName("claim", name)); err != nil {
		return err
	}
	if err := removeTree(s.Layout.ClaimDir(ns, name)); err != nil {
		return fmt.Errorf("remove volume of claim %s/%s: %w", ns, name, err)
	}
	return nil
}

// RemoveNamespace deletes a namespace's directory with every object and
// claim volume in it. Its pods must be gone already.
func (s *Store) RemoveNamespace(ns string) error {
	if err := checkName("namespace", ns); err != nil {
		return err
	}
	if err := removeTree(s.Layout.NamespaceDir(ns)); err != nil {
		return fmt.Errorf("remove namespace %s: %w", ns, err)
	}
	return nil
}

// Objects is everything LoadObjects read back.
type Objects struct {
	// Services hold their cluster IPs and node ports: what was allocated
	// is read back with them.
	Services    []*corev1.Service
	Namespaces  []*corev1.Namespace
	ConfigMaps  []*corev1.ConfigMap
	Secrets     []*corev1.Secret
	Claims      []*corev1.PersistentVolumeClaim
	Deployments []*appsv1.Deployment
	ReplicaSets []*appsv1.ReplicaSet
	Jobs        []*batchv1.Job
	DaemonSets  []*appsv1.DaemonSet
	Revisions   []*appsv1.ControllerRevision
	CronJobs    []*batchv1.CronJob
	// Bad are files that did not decode, moved aside.
	Bad []Quarantined
}

// LoadObjects reads every namespace and the objects in it. A namespace
// directory without its namespace.json (a crash before the first write
// finished) is skipped with what it holds; a file that does not decode, or
// names another object than its path, is moved aside (Quarantine) and
// reported, and the others load.
func (s *Store) LoadObjects() (*Objects, error) {
	out := &Objects{}
	ents, err := os.ReadDir(s.Layout.NamespacesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load namespaces: %w", err)
	}
	if err := sweepTrash(s.Layout.NamespacesDir()); err != nil {
		return nil, fmt.Errorf("load namespaces: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || isTrash(e.Name()) {
			continue
		}
		if err := sweepTrash(s.Layout.ClaimsDir(e.Name())); err != nil {
			return nil, fmt.Errorf("load namespace %s: %w", e.Name(), err)
		}
		ns := &corev1.Namespace{}
		ok, err := s.loadOne(s.Layout.NamespaceFile(e.Name()), "namespace-"+e.Name(), ns, "", e.Name(), out)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out.Namespaces = append(out.Namespaces, ns)
		for _, r := range Resources {
			if err := s.loadResource(ns.Name, r, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *Store) loadResource(ns, resource string, out *Objects) error {
	ents, err := os.ReadDir(s.Layout.ObjectsDir(ns, resource))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s of namespace %s: %w", resource, ns, err)
	}
	for _, e := range ents {
		name, isJSON := strings.CutSuffix(e.Name(), ".json")
		if e.IsDir() || !isJSON {
			continue // a temp file of an interrupted write
		}
		file := s.Layout.ObjectFile(ns, resource, name)
		qid := resource + "-" + ns + "-" + name
		switch resource {
		case ResourceConfigMaps:
			err = loadInto(s, file, qid, ns, name, out, &out.ConfigMaps)
		case ResourceSecrets:
			err = loadInto(s, file, qid, ns, name, out, &out.Secrets)
		case ResourceClaims:
			err = loadInto(s, file, qid, ns, name, out, &out.Claims)
		case ResourceServices:
			err = loadInto(s, file, qid, ns, name, out, &out.Services)
		case ResourceDeployments:
			err = loadInto(s, file, qid, ns, name, out, &out.Deployments)
		case ResourceReplicaSets:
			err = loadInto(s, file, qid, ns, name, out, &out.ReplicaSets)
		case ResourceJobs:
			err = loadInto(s, file, qid, ns, name, out, &out.Jobs)
		case ResourceDaemonSets:
			err = loadInto(s, file, qid, ns, name, out, &out.DaemonSets)
		case ResourceControllerRevisions:
			err = loadInto(s, file, qid, ns, name, out, &out.Revisions)
		case ResourceCronJobs:
			err = loadInto(s, file, qid, ns, name, out, &out.CronJobs)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// loadInto reads one object of type T and appends it to dst when it loaded.
func loadInto[T any, PT interface {
	*T
	named
}](s *Store, file, qid, ns, name string, out *Objects, dst *[]PT) error {
	o := PT(new(T))
	ok, err := s.loadOne(file, qid, o, ns, name, out)
	if ok {
		*dst = append(*dst, o)
	}
	return err
}

// named is what loadOne checks of an object read back.
type named interface {
	GetNamespace() string
	GetName() string
}

// loadOne reads file into obj; false without error means missing or
// quarantined under qid.
func (s *Store) loadOne(file, qid string, obj named, ns, name string, out *Objects) (bool, error) {
	err := readJSON(file, obj)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err == nil && (obj.GetNamespace() != ns || obj.GetName() != name):
		err = &corruptError{file: file, err: fmt.Errorf("it names %q/%q", obj.GetNamespace(), obj.GetName())}
	}
	if err == nil {
		return true, nil
	}
	q, qerr := s.Quarantine(qid, file, err)
	if qerr != nil {
		return false, fmt.Errorf("load %s: %w (and %w)", file, err, qerr)
	}
	out.Bad = append(out.Bad, q)
	return false, nil
}
