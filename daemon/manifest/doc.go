// Package manifest is podd's one path from user bytes to an accepted Pod: it
// decodes YAML or JSON strictly, applies the Kubernetes defaults, validates
// every field podd acts on (R1, R2, R33, R44) and names the fields it ignores.
package manifest
