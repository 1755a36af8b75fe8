package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// parseLogMaxSize reads a containerLogMaxSize such as "10Mi", as the
// kubelet does; it must be a positive whole number of bytes.
func parseLogMaxSize(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return 0, fmt.Errorf("%q must be a positive number of bytes", s)
	}
	return n, nil
}

// quantityFlag is a flag.Value holding a byte count written as a quantity.
type quantityFlag struct{ n *int64 }

func (q quantityFlag) String() string {
	if q.n == nil {
		return ""
	}
	return resource.NewQuantity(*q.n, resource.BinarySI).String()
}

func (q quantityFlag) Set(s string) error {
	n, err := parseLogMaxSize(s)
	if err != nil {
		return err
	}
	*q.n = n
	return nil
}
