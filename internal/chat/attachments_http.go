package chat

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// multipartSlack is what a multipart body may carry besides the file:
// boundaries, part headers, a few small fields.
const multipartSlack = 64 << 10

// uploadAttachment takes the file as the raw body (its name in ?name=) or
// as the "file" part of a multipart/form-data body. Either way the
// client's Content-Type is ignored: the type is sniffed.
func (h *HTTP) uploadAttachment(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	limit := h.MaxUpload
	if limit <= 0 {
		limit = DefaultMaxUpload
	}
	name := r.URL.Query().Get("name")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isMultipart := mt == "multipart/form-data"
	maxBody := limit
	if isMultipart {
		maxBody += multipartSlack
	}
	// A declared length over the limit is refused before a byte is read
	// (a client sending Expect: 100-continue never sends the body).
	if r.ContentLength > maxBody {
		return httpx.TooLarge(limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)

	var body io.Reader = r.Body
	if isMultipart {
		part, err := filePart(r, limit)
		if err != nil {
			return err
		}
		body = part
		if name == "" {
			name = part.FileName()
		}
	}

	a, err := h.svc.Upload(r.Context(), p.User.ID, r.PathValue("id"), name, body, limit, h.Blobs)
	switch {
	case errors.Is(err, ErrTooLarge):
		return httpx.TooLarge(limit)
	case errors.Is(err, ErrUploadInterrupted):
		return httpx.BadRequest("the upload ended early or was malformed; send it again")
	case err != nil:
		return mapError(err)
	}
	w.Header().Set("Location", "/api/v1/attachments/"+a.ID)
	return httpx.WriteJSON(w, http.StatusCreated, a)
}

// filePart skips to the multipart body's "file" part. It does not buffer:
// the part is read straight into the store.
func filePart(r *http.Request, limit int64) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, httpx.BadRequest("malformed multipart body: " + err.Error())
	}
	for {
		part, err := mr.NextPart()
		var maxErr *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return nil, httpx.BadRequest(`send the file in a form part named "file"`)
		case errors.As(err, &maxErr):
			return nil, httpx.TooLarge(limit)
		case err != nil:
			return nil, httpx.BadRequest("malformed multipart body")
		}
		if part.FormName() == "file" {
			return part, nil
		}
	}
}

// downloadAttachment serves the bytes with ranges and conditional
// requests. Nothing an attachment holds may run as a page of our origin:
// nosniff, a sandboxing CSP, and only raster images are shown inline —
// everything else is a download, and textual types are sent as
// application/octet-stream.
func (h *HTTP) downloadAttachment(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	a, f, created, err := h.svc.OpenAttachment(r.Context(), p.User.ID, r.PathValue("id"), h.Blobs)
	if err != nil {
		return mapError(err)
	}
	defer f.Close()
	contentType, inline := servedAs(a.ContentType)
	disposition := "attachment"
	if inline {
		disposition = "inline"
	}
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	// Membership can end and messages can be deleted: browsers may keep a
	// copy but must ask again (a cheap 304) before using it.
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("ETag", `"`+a.ID+`"`)
	if cd := mime.FormatMediaType(disposition, map[string]string{"filename": a.Name}); cd != "" {
		hd.Set("Content-Disposition", cd)
	} else {
		hd.Set("Content-Disposition", disposition)
	}
	http.ServeContent(&rangeProblems{ResponseWriter: w, r: r}, r, "", created, f)
	return nil
}

// rangeProblems turns the plain-text 416 that http.ServeContent writes for
// an unsatisfiable Range into the API's problem+json.
type rangeProblems struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (w *rangeProblems) WriteHeader(code int) {
	if code != http.StatusRequestedRangeNotSatisfiable {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallow = true
	h := w.Header()
	for _, k := range []string{"Content-Disposition", "Content-Security-Policy", "ETag", "X-Content-Type-Options", "Content-Length"} {
		h.Del(k)
	}
	httpx.WriteError(w.ResponseWriter, w.r, nil, httpx.NewProblem(code, "range-not-satisfiable",
		"Range not satisfiable", "the requested range lies outside the file"))
}

func (w *rangeProblems) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
