package printers

import (
	"encoding/json"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Output formats for objects (-o).
const (
	FormatYAML = "yaml"
	FormatJSON = "json"
	FormatName = "name"
)

// podList is the v1 List kubectl prints for a list in YAML or JSON.
type podList struct {
	APIVersion string            `json:"apiVersion"`
	Items      []corev1.Pod      `json:"items"`
	Kind       string            `json:"kind"`
	Metadata   map[string]string `json:"metadata"`
}

// WritePods writes pods in format (yaml, json or name). With asList the
// pods are wrapped in a v1 List, as kubectl does for a listing; otherwise
// each pod is written on its own (YAML documents separated by "---").
func WritePods(w io.Writer, pods []corev1.Pod, format string, asList bool) error {
	for i := range pods {
		pods[i].APIVersion = "v1"
		pods[i].Kind = "Pod"
	}
	if format == FormatName {
		for _, p := range pods {
			if _, err := fmt.Fprintf(w, "pod/%s\n", p.Name); err != nil {
				return err
			}
		}
		return nil
	}
	if asList {
		items := pods
		if items == nil {
			items = []corev1.Pod{}
		}
		return writeObject(w, podList{APIVersion: "v1", Items: items, Kind: "List",
			Metadata: map[string]string{"resourceVersion": ""}}, format)
	}
	for i := range pods {
		if i > 0 && format == FormatYAML {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if err := writeObject(w, &pods[i], format); err != nil {
			return err
		}
	}
	return nil
}

func writeObject(w io.Writer, obj any, format string) error {
	var data []byte
	var err error
	switch format {
	case FormatJSON:
		data, err = json.MarshalIndent(obj, "", "    ")
		data = append(data, '\n')
	case FormatYAML:
		data, err = yaml.Marshal(obj)
	default:
		return fmt.Errorf("unknown output format %q", format)
	}
	if err != nil {
		return fmt.Errorf("encode %s: %w", format, err)
	}
	_, err = w.Write(data)
	return err
}
