//lint:file-ignore SA1019 podd serves v1 Endpoints, as `kubectl get endpoints` shows them (issue 11)

package verb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// ObjectOptions are the inputs of get, describe and delete for the object
// kinds (namespaces, configmaps, secrets, persistentvolumeclaims).
type ObjectOptions struct {
	Streams
	Kind      ObjectKind
	Namespace string
	// AllNamespaces lists every namespace's objects (-A).
	AllNamespaces bool
	// Names are the objects; none means all (get, describe).
	Names []string
	// Output is "", "yaml", "json" or "name" (get).
	Output string
	// Wait returns only once each object is gone (delete).
	Wait bool
	// IgnoreNotFound treats a missing object as deleted (delete).
	IgnoreNotFound bool
	Now            Clock
}

// fetchObjects gets the named objects (reporting each missing one and going
// on, as kubectl does, through forEach) or lists all of them.
func fetchObjects(ctx context.Context, c poddv1.PodServiceClient, opts ObjectOptions) ([]printers.Object, bool, error) {
	ns := namespaceOrDefault(opts.Namespace)
	if len(opts.Names) == 0 {
		listNS := ns
		if opts.AllNamespaces || !opts.Kind.Namespaced {
			listNS = ""
		}
		objs, err := listObjects(ctx, c, opts.Kind, listNS)
		return objs, false, err
	}
	get := func(name string) (printers.Object, error) {
		m, err := c.GetObject(ctx, &poddv1.GetObjectRequest{Resource: opts.Kind.Resource, Namespace: ns, Name: name})
		if err != nil {
			return nil, err
		}
		return decodeObject(m)
	}
	if len(opts.Names) == 1 {
		obj, err := get(opts.Names[0])
		if err != nil {
			return nil, false, err
		}
		return []printers.Object{obj}, false, nil
	}
	var objs []printers.Object
	err := forEach(ctx, opts.ErrOut, opts.Names, func(name string) error {
		obj, err := get(name)
		if err == nil {
			objs = append(objs, obj)
		}
		return err
	})
	failed := errors.Is(err, errReported)
	if err != nil && !failed {
		return nil, false, err
	}
	return objs, failed, nil
}

func noResources(opts ObjectOptions) {
	if opts.AllNamespaces || !opts.Kind.Namespaced {
		fmt.Fprintln(opts.ErrOut, "No resources found")
	} else {
		fmt.Fprintf(opts.ErrOut, "No resources found in %s namespace.\n", namespaceOrDefault(opts.Namespace))
	}
}

// GetObjects prints objects as kubectl get does: a table, YAML, JSON or
// names. A Secret's data appears base64 in YAML and JSON, as in kubectl.
func GetObjects(ctx context.Context, c poddv1.PodServiceClient, opts ObjectOptions) error {
	switch opts.Output {
	case OutputTable, printers.FormatYAML, printers.FormatJSON, printers.FormatName:
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,yaml", opts.Output)
	}
	if opts.AllNamespaces && len(opts.Names) > 0 {
		return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
	}
	objs, failed, err := fetchObjects(ctx, c, opts)
	if err != nil {
		return err
	}
	allNS := opts.AllNamespaces && opts.Kind.Namespaced
	switch {
	case len(objs) == 0 && len(opts.Names) == 0 && (opts.Output == OutputTable || opts.Output == printers.FormatName):
		noResources(opts)
	case opts.Output == OutputTable:
		rows := [][]string{printers.ObjectHeader(opts.Kind.Resource, allNS)}
		now := opts.Now.now()
		for _, o := range objs {
			rows = append(rows, printers.ObjectRow(o, now, allNS))
		}
		if err := printers.NewTable(opts.Out).Write(rows...); err != nil {
			return err
		}
	default:
		if err := printers.WriteObjects(opts.Out, objs, opts.Kind.Kind, opts.Output, len(opts.Names) != 1); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// DescribeObjects prints kubectl-style describe output for each object;
// a Secret shows its keys and sizes only.
func DescribeObjects(ctx context.Context, c poddv1.PodServiceClient, opts ObjectOptions) error {
	objs, failed, err := fetchObjects(ctx, c, opts)
	if err != nil {
		return err
	}
	if len(objs) == 0 && len(opts.Names) == 0 {
		noResources(opts)
		return nil
	}
	for i, o := range objs {
		if i > 0 {
			if _, err := io.WriteString(opts.Out, "\n\n"); err != nil {
				return err
			}
		}
		if svc, ok := o.(*corev1.Service); ok {
			// kubectl shows a Service's endpoints with it.
			ep, err := serviceEndpoints(ctx, c, svc)
			if err != nil {
				return err
			}
			if err := printers.DescribeService(opts.Out, svc, ep); err != nil {
				return err
			}
			continue
		}
		if err := printers.DescribeObject(opts.Out, o); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// serviceEndpoints gets the Endpoints of svc; none (a Service without a
// selector) is nil.
func serviceEndpoints(ctx context.Context, c poddv1.PodServiceClient, svc *corev1.Service) (*corev1.Endpoints, error) {
	m, err := c.GetObject(ctx, &poddv1.GetObjectRequest{Resource: kindEndpoints.Resource, Namespace: svc.Namespace, Name: svc.Name})
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	obj, err := decodeObject(m)
	if err != nil {
		return nil, err
	}
	ep, _ := obj.(*corev1.Endpoints)
	return ep, nil
}

// DeleteObjects deletes the named objects and prints `kind "x" deleted`
// for each, going on past those that cannot be deleted. Deleting a
// namespace deletes everything in it.
func DeleteObjects(ctx context.Context, c poddv1.PodServiceClient, opts ObjectOptions) error {
	if len(opts.Names) == 0 {
		return fmt.Errorf("resource(s) were provided, but no name was specified")
	}
	ns := namespaceOrDefault(opts.Namespace)
	return forEach(ctx, opts.ErrOut, opts.Names, func(name string) error {
		return deleteObject(ctx, c, opts, ns, name)
	})
}

// deleteObject deletes one object of opts.Kind and prints `kind "x" deleted`.
func deleteObject(ctx context.Context, c poddv1.PodServiceClient, opts ObjectOptions, ns, name string) error {
	_, err := c.DeleteObject(ctx, &poddv1.DeleteObjectRequest{Resource: opts.Kind.Resource, Namespace: ns, Name: name, Wait: opts.Wait})
	if opts.IgnoreNotFound && status.Code(err) == codes.NotFound && ctx.Err() == nil {
		return nil
	}
	if err == nil {
		fmt.Fprintf(opts.Out, "%s %q deleted\n", strings.ToLower(opts.Kind.Kind), name)
	}
	return err
}
