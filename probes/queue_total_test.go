package probes

// total returns how many updates were ever queued.
func (q *queue) total() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pushed
}
