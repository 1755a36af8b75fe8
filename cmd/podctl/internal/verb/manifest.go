package verb

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// manifestExts are the file extensions read from a directory given to -f.
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// manifestFile is one manifest read from -f.
type manifestFile struct {
	// Source is the file name ("-" for standard input).
	Source string
	Data   []byte
}

// readManifests reads every -f argument in order: "-" is stdin, a directory
// contributes its *.yaml, *.yml and *.json files in name order (not
// recursive), anything else is read as a file.
func readManifests(paths []string, stdin io.Reader) ([]manifestFile, error) {
	var files []manifestFile
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read manifest from stdin: %w", err)
			}
			files = append(files, manifestFile{Source: "-", Data: data})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("the path %q does not exist", p)
		}
		names := []string{p}
		if info.IsDir() {
			if names, err = manifestsInDir(p); err != nil {
				return nil, err
			}
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				return nil, fmt.Errorf("read manifest %q: %w", name, err)
			}
			files = append(files, manifestFile{Source: name, Data: data})
		}
	}
	return files, nil
}

func manifestsInDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read manifest directory %q: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && manifestExts[strings.ToLower(filepath.Ext(e.Name()))] {
			names = append(names, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(names)
	return names, nil
}

// objectRef is what podctl needs to know of a manifest document.
type objectRef struct {
	Kind      string
	Namespace string
	Name      string
}

// objectRefs returns kind, namespace and name of every non-empty document
// of a YAML or JSON manifest, without validating anything else.
func objectRefs(data []byte) ([]objectRef, error) {
	var refs []objectRef
	for i, doc := range splitDocuments(data) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("decode document %d: %w", i+1, err)
		}
		if head.Kind == "" && head.Metadata.Name == "" {
			continue
		}
		refs = append(refs, objectRef{Kind: head.Kind, Namespace: head.Metadata.Namespace, Name: head.Metadata.Name})
	}
	return refs, nil
}

// splitDocuments splits a multi-document YAML stream at "---" lines.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		line := sc.Text()
		if trimmed := strings.TrimRight(line, " \t\r"); trimmed == "---" || strings.HasPrefix(trimmed, "--- ") {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	var out [][]byte
	for _, d := range docs {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}
