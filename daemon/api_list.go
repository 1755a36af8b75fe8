package daemon

// listPageBytes bounds one list response, well under the 4 MiB a gRPC
// client accepts by default, so no set of objects can break listing.
const listPageBytes = 2 << 20

// jsonMessage is a list RPC's item: a message carrying an object's JSON.
type jsonMessage interface{ GetJson() []byte }

// listPage is the one shape of the list RPCs: of items, in key order, it
// encodes those after the continue token after that keep accepts, and stops
// before the page passes limit items (0: no limit) or listPageBytes of JSON
// (a page always holds one item, however large). next is the key of the
// last item sent when more follow, else "".
func listPage[T any, M jsonMessage](items []T, after string, limit int32, key func(T) string, keep func(T) bool, encode func(T) (M, error)) (page []M, next string, err error) {
	size, last := 0, ""
	for _, it := range items {
		k := key(it)
		if k <= after || !keep(it) {
			continue
		}
		m, err := encode(it)
		if err != nil {
			return nil, "", err
		}
		full := limit > 0 && len(page) >= int(limit)
		if len(page) > 0 && (full || size+len(m.GetJson()) > listPageBytes) {
			return page, last, nil
		}
		size, last = size+len(m.GetJson()), k
		page = append(page, m)
	}
	return page, "", nil
}
