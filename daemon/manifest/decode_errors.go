package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var structFieldErr = regexp.MustCompile(`cannot unmarshal (\S+) into Go struct field [A-Za-z0-9_]+\.(\S+) of type (\S+)`)

// typeError turns a decoder error into one that names the field: a value of
// the wrong JSON type, or a quantity that does not parse (whose decoder error
// names no field, so the document is searched for it).
func typeError(js []byte, kind string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if m := structFieldErr.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s: Invalid type: got %s, want %s", jsonPath(m[2]), m[1], m[3])
	}
	if strings.Contains(msg, "quantities must match") {
		var doc any
		if json.Unmarshal(js, &doc) == nil {
			if bad := badQuantities(doc, nil); len(bad) > 0 {
				return multiError(bad)
			}
		}
	}
	if strings.Contains(msg, "illegal base64 data") {
		var doc any
		if json.Unmarshal(js, &doc) == nil {
			if bad := badBase64(doc); len(bad) > 0 {
				return multiError(bad)
			}
		}
	}
	return errors.New("decode " + kind + ": " + msg)
}

// jsonPath drops the Go names of embedded structs (VolumeSource,
// ProbeHandler) that the decoder puts in a field path since Go 1.24: a
// manifest's field names are lower camel case, Go's are capitalised.
func jsonPath(p string) string {
	parts := strings.Split(p, ".")
	kept := parts[:0]
	for _, s := range parts {
		if s != "" && !unicode.IsUpper(rune(s[0])) {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, ".")
}

// quantityParents are the fields whose members are quantities.
var quantityParents = map[string]bool{"limits": true, "requests": true, "overhead": true}

// badQuantities walks a decoded document and reports every string that sits
// where a quantity belongs but does not parse.
func badQuantities(v any, path *field.Path) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := v[k]
			var cp *field.Path
			if path != nil && quantityParents[lastName(path)] {
				cp = path.Key(k)
			} else if path == nil {
				cp = field.NewPath(k)
			} else {
				cp = path.Child(k)
			}
			s, isString := child.(string)
			if isString && (quantityParents[lastName(path)] || k == "sizeLimit" || k == "divisor") {
				if _, err := resource.ParseQuantity(s); err != nil {
					out = append(out, field.Invalid(cp, s, resource.ErrFormatWrong.Error()).Error())
				}
				continue
			}
			out = append(out, badQuantities(child, cp)...)
		}
	case []any:
		for i, item := range v {
			out = append(out, badQuantities(item, path.Index(i))...)
		}
	}
	return out
}

// lastName is the last plain field name of a path ("" for nil).
func lastName(p *field.Path) string {
	if p == nil {
		return ""
	}
	s := p.String()
	if i := strings.LastIndexAny(s, ".]"); i >= 0 && s[i] == '.' {
		return s[i+1:]
	}
	if !strings.ContainsAny(s, ".[") {
		return s
	}
	return ""
}
