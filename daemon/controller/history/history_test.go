package history

import (
	"reflect"
	"testing"
)

func TestCurrent(t *testing.T) {
	recorded := []Entry{{Name: "a", Hash: "h1", Number: 1}, {Name: "b", Hash: "h2", Number: 2}}
	for _, tc := range []struct {
		name           string
		entries        []Entry
		hash           string
		want           int64
		found, changed bool
	}{
		{"no revision yet: 1", nil, "h1", 1, false, true},
		{"a new template: the next number", recorded, "h3", 3, false, true},
		{"the newest template: unchanged", recorded, "h2", 2, true, false},
		{"back to an older template: it becomes the newest", recorded, "h1", 3, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, found, changed := Current(tc.entries, tc.hash)
			if n != tc.want || found != tc.found || changed != tc.changed {
				t.Errorf("Current = %d, %v, %v; want %d, %v, %v", n, found, changed, tc.want, tc.found, tc.changed)
			}
		})
	}
}

func TestForgetKeepsTheCurrentAndUsedAndTheNewestIdle(t *testing.T) {
	entries := []Entry{{"r4", "h4", 4}, {"r1", "h1", 1}, {"r2", "h2", 2}, {"r3", "h3", 3}, {"r5", "h5", 5}}
	got := Forget(entries, "h5", map[string]bool{"h1": true}, 1)
	if want := []string{"r2", "r3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Forget = %v, want %v", got, want)
	}
	if got := Forget(entries, "h5", nil, 10); got != nil {
		t.Errorf("Forget under the limit = %v", got)
	}
}
