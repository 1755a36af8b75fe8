// Package printers turns core/v1 pods, podd events and images into the text
// that podctl prints: kubectl's pod table (READY, STATUS, RESTARTS, AGE),
// describe output, event tables, image tables and YAML/JSON objects.
package printers
