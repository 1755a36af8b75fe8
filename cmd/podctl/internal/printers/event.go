package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventSource is the FROM column of podd's events in describe.
const EventSource = "podd"

// SortEvents orders events by the time they were last seen, oldest first,
// keeping the daemon's order for ties (kubectl's SortableEvents).
func SortEvents(events []*poddv1.Event) {
	sort.SliceStable(events, func(i, j int) bool {
		return lastSeen(events[i]).Time.Before(lastSeen(events[j]).Time)
	})
}

// EventInterval is kubectl's age cell of an event: the time since it was
// first seen, or "<last> (xN over <first>)" when it repeated.
func EventInterval(e *poddv1.Event, now time.Time) string {
	first := unixNano(e.GetFirstTimestampUnixNano())
	if first.IsZero() {
		first = lastSeen(e)
	}
	firstAge := Age(first, now)
	if e.GetCount() > 1 {
		return fmt.Sprintf("%s (x%d over %s)", Age(lastSeen(e), now), e.GetCount(), firstAge)
	}
	return firstAge
}

// EventObject names the involved object: "pod/<name>", or
// "pod/<name>/<container>" when the event's field path names a container.
func EventObject(e *poddv1.Event) string {
	obj := "pod/" + e.GetPod()
	if c := ContainerFromFieldPath(e.GetObject()); c != "" {
		obj += "/" + c
	}
	return obj
}

// ContainerFromFieldPath returns the container named by a field path such as
// "spec.containers{web}" or "spec.initContainers{init}", or "".
func ContainerFromFieldPath(path string) string {
	open := strings.IndexByte(path, '{')
	if open < 0 || !strings.HasSuffix(path, "}") {
		return ""
	}
	return path[open+1 : len(path)-1]
}

// EventHeader returns the header of `podctl events` (kubectl events).
func EventHeader(allNamespaces bool) []string {
	h := []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"}
	if allNamespaces {
		h = append([]string{"NAMESPACE"}, h...)
	}
	return h
}

// EventRow returns e's row of `podctl events` at time now.
func EventRow(e *poddv1.Event, now time.Time, allNamespaces bool) []string {
	row := []string{EventInterval(e, now), e.GetType(), e.GetReason(), EventObject(e), strings.TrimSpace(e.GetMessage())}
	if allNamespaces {
		row = append([]string{e.GetNamespace()}, row...)
	}
	return row
}

func lastSeen(e *poddv1.Event) metav1.Time {
	if t := unixNano(e.GetLastTimestampUnixNano()); !t.IsZero() {
		return t
	}
	return unixNano(e.GetFirstTimestampUnixNano())
}

func unixNano(n int64) metav1.Time {
	if n == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(time.Unix(0, n))
}
