package history

import "sort"

// Entry is one recorded revision: its object's name, the hash of its
// template and its number.
type Entry struct {
	Name   string
	Hash   string
	Number int64
}

// Current decides the number of the revision of template hash among
// entries: the next one when it is not recorded (found false), the next
// one too when it is recorded under an older number (a rollback to it),
// its own otherwise. changed says whether it must be saved.
func Current(entries []Entry, hash string) (number int64, found, changed bool) {
	var max, own int64
	for _, e := range entries {
		if e.Number > max {
			max = e.Number
		}
		if e.Hash == hash {
			found, own = true, e.Number
		}
	}
	switch {
	case !found:
		return max + 1, false, true
	case own < max:
		return max + 1, true, true
	}
	return own, true, false
}

// Forget names the revisions beyond limit that are idle (not the current
// template's, and no pod uses them), oldest first.
func Forget(entries []Entry, current string, used map[string]bool, limit int) []string {
	var idle []Entry
	for _, e := range entries {
		if e.Hash != current && !used[e.Hash] {
			idle = append(idle, e)
		}
	}
	sort.SliceStable(idle, func(i, j int) bool { return idle[i].Number < idle[j].Number })
	var out []string
	for i := 0; i < len(idle)-limit; i++ {
		out = append(out, idle[i].Name)
	}
	return out
}
