package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultMaxBody is the default limit on a JSON request body.
const DefaultMaxBody = 1 << 20

// DecodeJSON reads exactly one JSON object from r's body into dst. It
// rejects a non-JSON content type, malformed JSON, wrong types, unknown
// fields and trailing data with a 400, and a body over maxBytes with a 413,
// each naming what is wrong.
func DecodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
				"Unsupported media type", "send the body as application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	return decodeJSON(body, maxBytes, dst)
}

func decodeJSON(body io.Reader, maxBytes int64, dst any) error {
	// The whole body is read first (it is bounded by maxBytes): JSON text
	// must be UTF-8, and encoding/json would quietly replace invalid bytes
	// with U+FFFD, storing something other than what was sent.
	data, err := io.ReadAll(body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return TooLarge(maxBytes)
		}
		return BadRequest("the body could not be read")
	}
	if int64(len(data)) > maxBytes {
		return TooLarge(maxBytes)
	}
	if !utf8.Valid(data) {
		return BadRequest("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err, maxBytes)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return TooLarge(maxBytes)
		}
		return BadRequest("the body must hold a single JSON value")
	}
	return nil
}

func jsonProblem(err error, maxBytes int64) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxErr):
		return TooLarge(maxBytes)
	case errors.Is(err, io.EOF):
		return BadRequest("the body is empty; send a JSON object")
	case errors.As(err, &syntaxErr):
		return BadRequest(fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("malformed JSON: the body ends too early")
	case errors.As(err, &typeErr):
		want := jsonTypeName(typeErr.Type)
		if typeErr.Field == "" {
			return BadRequest(fmt.Sprintf("the body must be %s, not %s", want, typeErr.Value))
		}
		p := BadRequest(fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, want, typeErr.Value))
		p.Errors = []FieldError{{Field: typeErr.Field, Detail: "must be " + want}}
		return p
	case errors.As(err, new(*time.ParseError)):
		return BadRequest("times must be RFC 3339 strings, such as 2026-03-01T09:30:00Z")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p := BadRequest(fmt.Sprintf("unknown field %q", field))
		p.Errors = []FieldError{{Field: field, Detail: "unknown field"}}
		return p
	default:
		return BadRequest("malformed JSON: " + err.Error())
	}
}

// jsonTypeName names a Go type as JSON calls it, for error messages that
// make sense to a client in any language.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a value of another type"
}

// WriteJSON answers v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// Page is the shape of every list: the items and, when there are more, the
// opaque cursor that fetches the next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}
