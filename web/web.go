// Package web owns Parley's browser app: the HTML, CSS and JavaScript
// modules embedded in the binary, and the handler that serves them. The app
// routes on the client, so any extension-less path the handler does not know
// (a deep link such as /account) gets index.html.
//
// The server sets the Content-Security-Policy for every response; the files
// here keep to it: no inline scripts, inline styles or eval.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// Cache lifetimes. index.html is always revalidated so that an upgrade
// reaches people at once; the modules it loads may be reused for a few
// minutes and are then revalidated by ETag.
const (
	indexCacheControl = "no-cache"
	assetCacheControl = "public, max-age=300"
)

// contentTypes is fixed here rather than taken from the mime package, which
// reads the operating system's tables: a system mapping .js to text/plain
// would stop the browser from running the modules (with nosniff it must
// not guess).
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".json":  "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

type asset struct {
	body        []byte
	etag        string
	contentType string
}

type handler struct {
	assets map[string]asset // by path without the leading slash
	index  asset
}

// Handler serves the embedded app. It answers GET and HEAD only.
func Handler() http.Handler {
	h, err := newHandler(staticFS, "static")
	if err != nil {
		// The files are compiled in; failing here is a build mistake.
		panic(err)
	}
	return h
}

func newHandler(fsys fs.FS, dir string) (*handler, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	h := &handler{assets: map[string]asset{}}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype, ok := contentTypes[path.Ext(name)]
		if !ok {
			ctype = "application/octet-stream"
		}
		h.assets[name] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, contentType: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read %s: %w", dir, err)
	}
	index, ok := h.assets["index.html"]
	if !ok {
		return nil, fmt.Errorf("web: %s/index.html is missing", dir)
	}
	h.index = index
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	// The API has its own routes and its own 404s; an unknown API path must
	// not look like a page.
	if name == "api" || strings.HasPrefix(name, "api/") {
		http.NotFound(w, r)
		return
	}
	if a, ok := h.assets[name]; ok && name != "index.html" {
		h.serve(w, r, a, assetCacheControl)
		return
	}
	// A missing file with an extension is a real miss (a stale module, a
	// typo); anything else is one of the app's own routes.
	if name != "index.html" && path.Ext(name) != "" {
		http.NotFound(w, r)
		return
	}
	h.serve(w, r, h.index, indexCacheControl)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, a asset, cacheControl string) {
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("ETag", a.etag)
	// Embedded files have no modification time; the ETag validates them.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
