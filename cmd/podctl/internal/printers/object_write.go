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
		o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: kind})
	}
	if format == FormatName {
		for _, o := range objs {
			if _, err := fmt.Fprintf(w, "%s/%s\n", strings.ToLower(kind), o.GetName()); err != nil {
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
