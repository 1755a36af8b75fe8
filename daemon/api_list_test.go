package daemon

import (
	"errors"
	"strings"
	"testing"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// listPage, the shape of ListPods and ListObjects: items after the continue
// key that keep accepts, cut at the limit or before listPageBytes, a page
// never empty while items are left, next set only when more follow.
func TestListPage(t *testing.T) {
	big := strings.Repeat("x", listPageBytes/3+1) // three pass the bound
	type item struct{ key, json string }
	small := []item{{"a/1", "1"}, {"a/2", "2"}, {"b/1", "3"}, {"b/2", "4"}}
	bigs := []item{{"a/1", big}, {"a/2", big}, {"a/3", big}, {"a/4", big}}
	huge := []item{{"a/1", big + big + big + big}, {"a/2", "x"}}
	all := func(item) bool { return true }
	for _, tc := range []struct {
		name     string
		items    []item
		after    string
		limit    int32
		keep     func(item) bool
		want     []string
		wantNext string
	}{
		{"everything", small, "", 0, all, []string{"a/1", "a/2", "b/1", "b/2"}, ""},
		{"limit 3", small, "", 3, all, []string{"a/1", "a/2", "b/1"}, "b/1"},
		{"limit equals the rest", small, "a/2", 2, all, []string{"b/1", "b/2"}, ""},
		{"after the continue key", small, "a/2", 0, all, []string{"b/1", "b/2"}, ""},
		{"kept only", small, "", 1, func(i item) bool { return strings.HasSuffix(i.key, "/2") }, []string{"a/2"}, "a/2"},
		{"nothing kept", small, "", 0, func(item) bool { return false }, nil, ""},
		{"stops before listPageBytes", bigs, "", 0, all, []string{"a/1", "a/2"}, "a/2"},
		{"the second page of those", bigs, "a/2", 0, all, []string{"a/3", "a/4"}, ""},
		{"one item over listPageBytes is a page", huge, "", 0, all, []string{"a/1"}, "a/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, next, err := listPage(tc.items, tc.after, tc.limit,
				func(i item) string { return i.key }, tc.keep,
				func(i item) (*poddv1.Object, error) { return &poddv1.Object{Kind: i.key, Json: []byte(i.json)}, nil })
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range page {
				got = append(got, m.Kind)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || next != tc.wantNext {
				t.Fatalf("page %v next %q, want %v next %q", got, next, tc.want, tc.wantNext)
			}
		})
	}
}

// An item that cannot be encoded fails the list; no partial page is sent.
func TestListPageEncodeError(t *testing.T) {
	boom := errors.New("boom")
	page, next, err := listPage([]string{"a", "b"}, "", 0,
		func(s string) string { return s }, func(string) bool { return true },
		func(s string) (*poddv1.Object, error) {
			if s == "b" {
				return nil, boom
			}
			return &poddv1.Object{Json: []byte(s)}, nil
		})
	if !errors.Is(err, boom) || page != nil || next != "" {
		t.Fatalf("listPage = %v, %q, %v; want the encode error alone", page, next, err)
	}
}
