package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// ErrInvalid is wrapped by every error that rejects a manifest (decode or
// validation), so the API edge can map it to InvalidArgument with errors.Is.
var ErrInvalid = errors.New("invalid manifest")

// document is one YAML or JSON document of a manifest, with the line of the
// source it starts on (1-based) so that errors point at the right line.
type document struct {
	data      []byte
	firstLine int
	json      bool
}

// DecodeError rejects one document of a manifest. Doc is 1-based; 0 means the
// manifest as a whole (for example a JSON syntax error before any document).
type DecodeError struct {
	Source string
	Doc    int
	Docs   int
	Errs   []string
}

// Error formats `source: document 2: msg; msg`.
func (e *DecodeError) Error() string {
	return prefix(e.Source, e.Doc, e.Docs) + strings.Join(e.Errs, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *DecodeError) Is(target error) bool { return target == ErrInvalid }

func prefix(source string, doc, docs int) string {
	var b strings.Builder
	if source != "" {
		b.WriteString(source)
		b.WriteString(": ")
	}
	if doc > 0 && docs > 1 {
		fmt.Fprintf(&b, "document %d: ", doc)
	}
	return b.String()
}

// Decode reads every Pod of a manifest; other kinds are skipped. See
// DecodeObjects, which it calls.
func Decode(data []byte, source string) ([]*corev1.Pod, []string, error) {
	docs, warnings, err := DecodeObjects(data, source)
	if err != nil {
		return nil, nil, err
	}
	return podsOf(docs), warnings, nil
}

// DecodeObjects reads every object of a manifest: YAML (multi-document,
// `---`) or JSON (one or more concatenated objects). Empty documents are
// skipped. Decoding is strict: unknown, misplaced, duplicate or wrongly cased
// fields are errors naming each field. Only the kinds of Kinds are accepted,
// with `apiVersion: v1`. It neither defaults nor validates; ParseObjects does
// all three. Warnings name fields that are dropped on decode (status and
// server-set metadata). It is the one decode path of manifests.
func DecodeObjects(data []byte, source string) ([]Document, []string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	docs, err := split(data)
	if err != nil {
		return nil, nil, &DecodeError{Source: source, Errs: []string{err.Error()}}
	}
	var out []Document
	var warnings []string
	for i, d := range docs {
		obj, err := decodeOne(d)
		if err != nil {
			return nil, nil, &DecodeError{Source: source, Doc: i + 1, Docs: len(docs), Errs: splitErrs(err)}
		}
		if obj == nil {
			continue
		}
		for _, w := range stripServerFields(obj) {
			warnings = append(warnings, prefix(source, i+1, len(docs))+w)
		}
		out = append(out, Document{Doc: i + 1, Docs: len(docs), Object: obj})
	}
	return out, warnings, nil
}

// multiError carries several messages of one document.
type multiError []string

func (m multiError) Error() string { return strings.Join(m, "; ") }

func splitErrs(err error) []string {
	var m multiError
	if errors.As(err, &m) {
		return m
	}
	return []string{err.Error()}
}

// split cuts a manifest into documents. JSON input (first non-space byte `{`)
// is read as a stream of objects; anything else as YAML separated by `---`.
func split(data []byte) ([]document, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return splitJSON(data)
	}
	return splitYAML(data), nil
}

func splitJSON(data []byte) ([]document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []document
	for {
		start := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("line %d: %s", lineAt(data, se.Offset), se.Error())
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("line %d: unexpected end of JSON input", lineAt(data, int64(len(data))))
			}
			return nil, err
		}
		docs = append(docs, document{data: raw, firstLine: lineAt(data, start+int64(leadingSpace(data[start:]))), json: true})
	}
}

func leadingSpace(b []byte) int { return len(b) - len(bytes.TrimLeft(b, " \t\r\n")) }

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// splitYAML cuts at lines that start with `---` followed by nothing or a
// blank; text after the marker stays on the next document's first line.
func splitYAML(data []byte) []document {
	lines := strings.SplitAfter(string(data), "\n")
	var docs []document
	var cur strings.Builder
	first := 1
	for i, line := range lines {
		body := strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(body, "---") && (len(body) == 3 || body[3] == ' ' || body[3] == '\t') {
			docs = append(docs, document{data: []byte(cur.String()), firstLine: first})
			cur.Reset()
			first = i + 1
			cur.WriteString("   " + line[3:])
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, document{data: []byte(cur.String()), firstLine: first})
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeOne returns nil, nil for an empty document.
func decodeOne(d document) (Object, error) {
	js := d.data
	if !d.json {
		var err error
		js, err = yaml.YAMLToJSONStrict(d.data)
		if err != nil {
			return nil, yamlError(err, d.firstLine)
		}
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return nil, nil
	}
	if js[0] != '{' {
		return nil, errors.New("not an object: want an object with apiVersion v1 and a kind (" + kindList() + ")")
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion and kind: %w", err)
	}
	if err := checkKind(tm); err != nil {
		return nil, err
	}
	obj := kinds[tm.Kind]()
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return nil, typeError(js, tm.Kind, err)
	}
	if len(strict) > 0 {
		var m multiError
		for _, e := range strict {
			m = append(m, strings.TrimPrefix(e.Error(), "json: "))
		}
		return nil, m
	}
	return obj, nil
}

func yamlError(err error, firstLine int) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = yamlLine.ReplaceAllStringFunc(msg, func(s string) string {
		n, convErr := strconv.Atoi(strings.TrimPrefix(s, "line "))
		if convErr != nil {
			return s
		}
		return "line " + strconv.Itoa(n+firstLine-1)
	})
	msg = strings.Join(strings.Fields(msg), " ")
	return errors.New(msg)
}

func checkKind(tm metav1.TypeMeta) error {
	switch {
	case tm.Kind == "" && tm.APIVersion == "":
		return errors.New("apiVersion and kind are required: want apiVersion: v1 and a kind (" + kindList() + ")")
	case tm.Kind == "":
		return errors.New("kind is required: want one of " + kindList())
	case kinds[tm.Kind] == nil:
		return fmt.Errorf("kind %q is not supported: podd accepts %s", tm.Kind, kindList())
	case tm.APIVersion != APIVersionOf(tm.Kind):
		return fmt.Errorf("apiVersion %q is not supported for kind %s: want %s", tm.APIVersion, tm.Kind, APIVersionOf(tm.Kind))
	}
	return nil
}

// stripServerFields drops what the user cannot set (status, server-set
// metadata) and says so.
func stripServerFields(obj Object) []string {
	var w []string
	drop := func(set bool, field string) {
		if set {
			w = append(w, field+" is set by podd; the given value is ignored")
		}
	}
	drop(obj.GetUID() != "", "metadata.uid")
	drop(obj.GetResourceVersion() != "", "metadata.resourceVersion")
	drop(obj.GetGeneration() != 0, "metadata.generation")
	drop(!obj.GetCreationTimestamp().Time.IsZero(), "metadata.creationTimestamp")
	drop(obj.GetDeletionTimestamp() != nil, "metadata.deletionTimestamp")
	drop(obj.GetDeletionGracePeriodSeconds() != nil, "metadata.deletionGracePeriodSeconds")
	drop(obj.GetSelfLink() != "", "metadata.selfLink")
	drop(len(obj.GetManagedFields()) > 0, "metadata.managedFields")
	obj.SetUID("")
	obj.SetResourceVersion("")
	obj.SetGeneration(0)
	obj.SetSelfLink("")
	obj.SetCreationTimestamp(metav1.Time{})
	obj.SetDeletionTimestamp(nil)
	obj.SetDeletionGracePeriodSeconds(nil)
	obj.SetManagedFields(nil)
	if len(obj.GetOwnerReferences()) > 0 {
		w = append(w, "metadata.ownerReferences is ignored: podd sets the owner references of what its controllers make")
		obj.SetOwnerReferences(nil)
	}
	if len(obj.GetFinalizers()) > 0 {
		w = append(w, "metadata.finalizers is ignored: podd runs no finalizers")
		obj.SetFinalizers(nil)
	}
	if stripStatus(obj) {
		w = append(w, "status is ignored: podd computes it")
	}
	return w
}

// stripStatus clears the status of the kinds that have one and reports
// whether it was set.
func stripStatus(obj Object) bool {
	// empty is the type's zero status: a DaemonSet's marshals its counts.
	var status, empty any
	switch o := obj.(type) {
	case *corev1.Pod:
		status, o.Status = o.Status, corev1.PodStatus{}
	case *corev1.Namespace:
		status, o.Status = o.Status, corev1.NamespaceStatus{}
	case *corev1.PersistentVolumeClaim:
		status, o.Status = o.Status, corev1.PersistentVolumeClaimStatus{}
	case *appsv1.Deployment:
		status, o.Status = o.Status, appsv1.DeploymentStatus{}
	case *batchv1.Job:
		status, o.Status = o.Status, batchv1.JobStatus{}
	case *appsv1.DaemonSet:
		status, o.Status, empty = o.Status, appsv1.DaemonSetStatus{}, appsv1.DaemonSetStatus{}
	case *batchv1.CronJob:
		status, o.Status = o.Status, batchv1.CronJobStatus{}
	default:
		return false
	}
	b, err := json.Marshal(status)
	e, _ := json.Marshal(empty)
	return err == nil && string(b) != "{}" && string(b) != string(e)
}

// podsOf keeps the pods of docs, in order.
func podsOf(docs []Document) []*corev1.Pod {
	var pods []*corev1.Pod
	for _, d := range docs {
		if pod, ok := d.Object.(*corev1.Pod); ok {
			pods = append(pods, pod)
		}
	}
	return pods
}
