package printers

import (
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// objectList is the v1 List kubectl prints for a listing in YAML or JSON.
type objectList struct {
	APIVersion string            `json:"apiVersion"`
	Items      []Object          `json:"items"`
	Kind       string            `json:"kind"`
	Metadata   map[string]string `json:"metadata"`
}

// WriteObjects writes objects of kind in format (yaml, json or name), as
// WritePods does for pods. A Secret's data is written base64, as kubectl
// does.
func WriteObjects(w io.Writer, objs []Object, kind, format string, asList bool) error {
	for _, o := range objs {
		o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: groupOf(kind), Version: "v1", Kind: kind})
	}
	if format == FormatName {
		for _, o := range objs {
			if _, err := fmt.Fprintf(w, "%s/%s\n", QualifiedKind(kind), o.GetName()); err != nil {
				return err
			}
		}
		return nil
	}
	if asList {
		items := objs
		if items == nil {
			items = []Object{}
		}
		return writeObject(w, objectList{APIVersion: "v1", Items: items, Kind: "List",
			Metadata: map[string]string{"resourceVersion": ""}}, format)
	}
	for i, o := range objs {
		if i > 0 && format == FormatYAML {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if err := writeObject(w, o, format); err != nil {
			return err
		}
	}
	return nil
}

// groupOf is the API group of kind ("" for core/v1).
func groupOf(kind string) string {
	switch kind {
	case "Deployment", "ReplicaSet":
		return "apps"
	case "Job":
		return "batch"
	}
	return ""
}

// QualifiedKind is kind as kubectl names it in "kind/name": lower case,
// with its group unless core ("deployment.apps").
func QualifiedKind(kind string) string {
	if g := groupOf(kind); g != "" {
		return strings.ToLower(kind) + "." + g
	}
	return strings.ToLower(kind)
}
