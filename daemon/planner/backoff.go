package planner

import "time"

// withDefaults fills the zero fields of c with the defaults.
func (c Config) withDefaults() Config {
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffReset <= 0 {
		c.BackoffReset = DefaultBackoffReset
	}
	return c
}

// next returns the back-off after one more failure at time at (R41): the base for the
// first failure or when the last one is older than BackoffReset, else twice the current
// delay, never more than BackoffMax.
func (b Backoff) next(at time.Time, c Config) Backoff {
	d := c.BackoffBase
	if b.Delay > 0 && at.Sub(b.UpdatedAt) <= c.BackoffReset {
		d = 2 * b.Delay
	}
	return Backoff{Delay: min(d, c.BackoffMax), UpdatedAt: at}
}
