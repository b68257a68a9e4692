package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesIndexAndFallsBackForAppRoutes(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/", "/index.html", "/settings", "/account", "/signup?invite=abc", "/a/deep/link"} {
		t.Run(target, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if !strings.Contains(rec.Body.String(), `<script type="module" src="/js/main.js"></script>`) {
				t.Errorf("body is not index.html:\n%s", rec.Body.String())
			}
		})
	}
}

func TestHandlerAnswersMissingFilesWith404(t *testing.T) {
	h := Handler()
	for _, target := range []string{"/missing.js", "/js/missing.js", "/app.css.map", "/api/v1/nothing-here", "/api"} {
		t.Run(target, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, target, nil)
			if rec.Code != http.StatusNotFound {
				t.Fatalf("status %d, want 404", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "<html") {
				t.Errorf("a missing file was answered with the app")
			}
		})
	}
}

func TestHandlerServesAssetsWithTypesAndShortCaching(t *testing.T) {
	h := Handler()
	for target, ctype := range map[string]string{
		"/js/main.js":  "text/javascript; charset=utf-8",
		"/app.css":     "text/css; charset=utf-8",
		"/favicon.svg": "image/svg+xml",
	} {
		t.Run(target, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, target, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != ctype {
				t.Errorf("Content-Type %q, want %q", got, ctype)
			}
			if got := rec.Header().Get("Cache-Control"); !strings.Contains(got, "max-age=") || strings.Contains(got, "no-cache") {
				t.Errorf("Cache-Control %q, want a short max-age", got)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			etag := rec.Header().Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := get(t, h, http.MethodGet, target, http.Header{"If-None-Match": {etag}})
			if again.Code != http.StatusNotModified {
				t.Errorf("revalidation: status %d, want 304", again.Code)
			}
		})
	}
}

func TestHandlerRefusesMethodsOtherThanGetAndHead(t *testing.T) {
	h := Handler()
	if rec := get(t, h, http.MethodHead, "/", nil); rec.Code != http.StatusOK {
		t.Errorf("HEAD: status %d, want 200", rec.Code)
	}
	rec := get(t, h, http.MethodPost, "/", nil)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d, want 405", rec.Code)
	}
	if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q", got)
	}
}

// The server's Content-Security-Policy forbids inline scripts, inline
// styles, event-handler attributes and eval; this catches a file that would
// break under it, and markup built from strings, before a browser does.
func TestStaticFilesKeepToTheContentSecurityPolicy(t *testing.T) {
	var (
		scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
		styleTag     = regexp.MustCompile(`(?i)<style\b`)
		styleAttr    = regexp.MustCompile(`(?i)\sstyle\s*=`)
		setStyleAttr = regexp.MustCompile(`(?i)setAttribute\(\s*['"]style['"]`)
		handlerAttr  = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
		evalCall     = regexp.MustCompile(`\beval\s*\(|\bnew\s+Function\s*\(|document\.write`)
		htmlSinks    = regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|createContextualFragment`)
		jsURL        = regexp.MustCompile(`(?i)javascript:`)
	)
	files, err := fs.Sub(staticFS, "static")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		text := string(body)
		checked++
		for _, m := range scriptTag.FindAllStringSubmatch(text, -1) {
			if strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline <script> body", name)
			}
			if !strings.Contains(m[1], "src=") {
				t.Errorf("%s: <script> without src", name)
			}
		}
		for re, what := range map[*regexp.Regexp]string{
			styleTag:     "a <style> element",
			styleAttr:    "a style= attribute",
			setStyleAttr: "a style attribute set from script",
			handlerAttr:  "an inline event handler",
			evalCall:     "eval, new Function or document.write",
			htmlSinks:    "an HTML-parsing sink (use textContent)",
			jsURL:        "a javascript: URL",
		} {
			if loc := re.FindStringIndex(text); loc != nil {
				line := strings.Count(text[:loc[0]], "\n") + 1
				t.Errorf("%s:%d: %s", name, line, what)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 5 {
		t.Fatalf("checked only %d files; is static/ embedded?", checked)
	}
}
