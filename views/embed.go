// Package views holds the dashboard's HTML templates, embedded in the binary.
package views

import "embed"

// FS holds layouts/, partials/ and pages/.
//
//go:embed layouts partials pages
var FS embed.FS
