// Package assets holds the dashboard's static files (CSS, vendored JS),
// embedded in the binary and served under content-hashed URLs.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

// FS holds css/, js/ and img/.
//
//go:embed css js img
var FS embed.FS

// Hashes maps each file's path (e.g. "css/app.css") to a short hash of its
// content, used in URLs so files can be cached forever.
func Hashes() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return out, err
}
