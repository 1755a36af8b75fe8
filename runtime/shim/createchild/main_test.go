package createchild

import (
	"slices"
	"testing"
)

// A ready child's descriptors arrive in order, one per stream its request
// sets; each goes to its stream's place, and a count that does not match
// the request is an error.
func TestPlaceDescriptors(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []int
		set  []bool
		want []int
		err  bool
	}{
		{"stdio", []int{7, 8, 9}, []bool{true, true, true, false}, []int{7, 8, 9, -1}, false},
		{"console only", []int{7}, []bool{false, false, false, true}, []int{-1, -1, -1, 7}, false},
		{"no stdin", []int{7, 8}, []bool{false, true, true, false}, []int{-1, 7, 8, -1}, false},
		{"none", nil, []bool{false, false, false, false}, []int{-1, -1, -1, -1}, false},
		{"too few", []int{7}, []bool{true, true, false, false}, nil, true},
		{"too many", []int{7, 8}, []bool{true, false, false, false}, nil, true},
	} {
		got, err := placeDescriptors(tc.got, tc.set)
		if (err != nil) != tc.err || (!tc.err && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: placeDescriptors(%v, %v) = %v, %v; want %v (error %v)", tc.name, tc.got, tc.set, got, err, tc.want, tc.err)
		}
	}
}
