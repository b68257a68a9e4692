package app_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
)

// doBody is c.do for bodies that are not JSON: body goes out as it is,
// with contentType (none when empty) and any extra headers. A body that is
// neither a *bytes.Reader nor a *strings.Reader has no known length and
// is sent chunked. The response is checked against the contract.
func (c *client) doBody(method, path, contentType string, body io.Reader, extra http.Header) *response {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	origin := c.origin
	if origin == "" {
		origin = c.e.srv.URL
	}
	req.Header.Set("Origin", origin)
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: c.cookie})
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, body: data}
	checkContract(c.e.t, req, r)
	return r
}

// upload sends data as the raw body of an upload named name.
func (c *client) upload(conv, name string, data []byte) *response {
	c.e.t.Helper()
	path := convPath(conv, "attachments")
	if name != "" {
		path += "?name=" + url.QueryEscape(name)
	}
	return c.doBody("POST", path, "application/octet-stream", bytes.NewReader(data), nil)
}

// uploadForm sends data as the "file" part (field, to test others) of a
// multipart form.
func (c *client) uploadForm(conv, field, filename string, data []byte) *response {
	c.e.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("note", "ignored"); err != nil {
		c.e.t.Fatal(err)
	}
	part, err := w.CreateFormFile(field, filename)
	if err != nil {
		c.e.t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	return c.doBody("POST", convPath(conv, "attachments"), w.FormDataContentType(), &buf, nil)
}

// chunked hides the length of a body, so it is sent chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: uint8(40 * x), G: uint8(60 * y), B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAttachmentsAreForMembersAndServedSafely(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ana, _ := e.signup("ana@example.com", "Ana")
		bo, boU := e.signup("bo@example.com", "Bo")
		cy, _ := e.signup("cy@example.com", "Cy")
		g := ana.group(t, "Design", boU.ID)

		pic := pngImage(t, 3, 2)
		res := ana.upload(g.ID, "../../mockup.png", pic).want(t, 201)
		var a attachment
		res.decode(t, &a)
		if a.Name != "mockup.png" || a.ContentType != "image/png" || a.Size != int64(len(pic)) || a.Width != 3 || a.Height != 2 {
			t.Fatalf("uploaded %+v", a)
		}
		if loc := res.header.Get("Location"); loc != "/api/v1/attachments/"+a.ID {
			t.Fatalf("Location %q", loc)
		}

		// A draft is its uploader's alone.
		ana.do("GET", "/api/v1/attachments/"+a.ID, nil).want(t, 200)
		bo.do("GET", "/api/v1/attachments/"+a.ID, nil).problem(t, 404, "not-found")

		// Someone else cannot send Ana's upload.
		before := e.rows()
		wantFields(t, bo.do("POST", convPath(g.ID, "messages"), map[string]any{"client_id": "steal", "attachments": []string{a.ID}}).
			problem(t, 422, "validation"), "attachments")
		e.wantRows(t, before)

		var m message
		ana.do("POST", convPath(g.ID, "messages"), map[string]any{"client_id": "pic", "attachments": []string{a.ID}}).want(t, 201).decode(t, &m)
		if m.Body != "" || len(m.Attachments) != 1 || m.Attachments[0] != a {
			t.Fatalf("message with the picture: %+v", m)
		}
		// One upload, one message.
		wantFields(t, ana.do("POST", convPath(g.ID, "messages"), map[string]any{"client_id": "again", "attachments": []string{a.ID}}).
			problem(t, 422, "validation"), "attachments")

		got := bo.do("GET", "/api/v1/attachments/"+a.ID, nil).want(t, 200)
		wantHeaders := map[string]string{
			"Content-Type":            "image/png",
			"X-Content-Type-Options":  "nosniff",
			"Content-Disposition":     "inline; filename=mockup.png",
			"Content-Security-Policy": "default-src 'none'; sandbox",
			"Cache-Control":           "private, no-cache",
		}
		for k, v := range wantHeaders {
			if got.header.Get(k) != v {
				t.Errorf("%s: %q, want %q", k, got.header.Get(k), v)
			}
		}
		if !bytes.Equal(got.body, pic) {
			t.Fatal("the downloaded bytes differ from the upload")
		}
		etag := got.header.Get("ETag")
		cy.do("GET", "/api/v1/attachments/"+a.ID, nil).problem(t, 404, "not-found")
		e.client().do("GET", "/api/v1/attachments/"+a.ID, nil).problem(t, 401, "unauthorized")
		bo.do("GET", "/api/v1/attachments/0195a2b4-7c3e-7d12-8f00-123456789abc", nil).problem(t, 404, "not-found")

		// Ranges and revalidation.
		bo.header = http.Header{"Range": {"bytes=0-3"}}
		part := bo.do("GET", "/api/v1/attachments/"+a.ID, nil).want(t, 206)
		if !bytes.Equal(part.body, pic[:4]) || part.header.Get("Content-Range") != fmt.Sprintf("bytes 0-3/%d", len(pic)) {
			t.Fatalf("range: %q, Content-Range %q", part.body, part.header.Get("Content-Range"))
		}
		bo.header = http.Header{"Range": {"bytes=99999-"}}
		if r := bo.do("GET", "/api/v1/attachments/"+a.ID, nil); r.header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(pic)) {
			t.Fatalf("416 Content-Range %q", r.header.Get("Content-Range"))
		} else {
			r.problem(t, 416, "range-not-satisfiable")
		}
		bo.header = http.Header{"If-None-Match": {etag}}
		if r := bo.do("GET", "/api/v1/attachments/"+a.ID, nil).want(t, 304); len(r.body) != 0 {
			t.Fatal("a 304 with a body")
		}
		bo.header = nil

		// HTML, sent as a form: stored as what it is, served as a download
		// that cannot run as a page of ours.
		page := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")
		var h attachment
		ana.uploadForm(g.ID, "file", "invoice.html", page).want(t, 201).decode(t, &h)
		if h.Name != "invoice.html" || !strings.HasPrefix(h.ContentType, "text/html") || h.Width != 0 || h.Size != int64(len(page)) {
			t.Fatalf("HTML upload: %+v", h)
		}
		ana.do("POST", convPath(g.ID, "messages"), map[string]any{"client_id": "html", "body": "the invoice", "attachments": []string{h.ID}}).want(t, 201)
		dl := bo.do("GET", "/api/v1/attachments/"+h.ID, nil).want(t, 200)
		if ct := dl.header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("HTML served as %q", ct)
		}
		if cd := dl.header.Get("Content-Disposition"); cd != "attachment; filename=invoice.html" {
			t.Errorf("HTML served with Content-Disposition %q", cd)
		}
		if dl.header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(dl.body, page) {
			t.Errorf("HTML download: nosniff %q, body %q", dl.header.Get("X-Content-Type-Options"), dl.body)
		}

		// A name nobody gave, a form without the file, a stranger.
		var raw attachment
		ana.upload(g.ID, "", []byte("just some text\n")).want(t, 201).decode(t, &raw)
		if raw.Name != "file" || !strings.HasPrefix(raw.ContentType, "text/plain") {
			t.Fatalf("unnamed upload %+v", raw)
		}
		before = e.rows()
		ana.uploadForm(g.ID, "document", "x.txt", []byte("hello")).problem(t, 400, "bad-request")
		ana.doBody("POST", convPath(g.ID, "attachments"), "multipart/form-data; boundary=nope", strings.NewReader("garbage"), nil).
			problem(t, 400, "bad-request")
		cy.upload(g.ID, "x.png", pic).problem(t, 404, "not-found")
		e.client().upload(g.ID, "x.png", pic).problem(t, 401, "unauthorized")
		e.wantRows(t, before)

		// Deleting the message takes its attachments with it.
		ana.do("DELETE", msgPath(g.ID, m.ID), nil).want(t, 204)
		bo.do("GET", "/api/v1/attachments/"+a.ID, nil).problem(t, 404, "not-found")
		ana.do("GET", "/api/v1/attachments/"+a.ID, nil).problem(t, 404, "not-found")
		if tomb := bo.messages(t, g.ID, "").Items[0]; !tomb.Deleted || len(tomb.Attachments) != 0 {
			t.Fatalf("deleted message still shows %+v", tomb.Attachments)
		}
	})
}

func TestUploadOverTheLimitIsRefusedAndLeavesNothing(t *testing.T) {
	var dataDir string
	small := func(c *app.Config) {
		c.MaxUploadBytes = 4096
		dataDir = c.DataDir
	}
	eachEngine(t, func(t *testing.T, e *env) {
		files := func() int {
			n := 0
			err := filepath.WalkDir(filepath.Join(dataDir, "files"), func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		ana, _ := e.signup("ana@example.com", "Ana")
		_, boU := e.signup("bo@example.com", "Bo")
		g := ana.group(t, "Design", boU.ID)

		big := bytes.Repeat([]byte("0123456789abcdef"), 5000/16+1)
		// Refused on the declared length, before reading, …
		ana.upload(g.ID, "big.bin", big).problem(t, 413, "too-large")
		// … when the body turns out too large on the way, …
		ana.doBody("POST", convPath(g.ID, "attachments")+"?name=big.bin", "application/octet-stream", chunked{bytes.NewReader(big)}, nil).
			problem(t, 413, "too-large")
		// … and inside a form.
		ana.uploadForm(g.ID, "file", "big.bin", big).problem(t, 413, "too-large")
		ana.doBody("POST", convPath(g.ID, "attachments"), "", chunked{bytes.NewReader(append(big, big...))}, nil).
			problem(t, 413, "too-large")
		if n := e.count("attachments"); n != 0 {
			t.Fatalf("%d attachment rows after refused uploads", n)
		}
		if n := files(); n != 0 {
			t.Fatalf("%d files left after refused uploads", n)
		}

		// The limit itself is allowed.
		var a attachment
		ana.upload(g.ID, "exact.bin", big[:4096]).want(t, 201).decode(t, &a)
		if a.Size != 4096 {
			t.Fatalf("size %d", a.Size)
		}
		if e.count("attachments") != 1 || files() != 1 {
			t.Fatalf("%d rows and %d files after one upload", e.count("attachments"), files())
		}
	}, small)
}
