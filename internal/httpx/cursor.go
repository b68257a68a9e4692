package httpx

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
)

// EncodeCursor makes an opaque page cursor from a key of the last item.
func EncodeCursor(key any) string {
	b, err := json.Marshal(key)
	if err != nil {
		panic("httpx: cursor key must marshal: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads the "cursor" query parameter into key. It reports
// false when there is none, and a 400 when it is not one of ours.
func DecodeCursor(r *http.Request, key any) (bool, error) {
	s := r.URL.Query().Get("cursor")
	if s == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, key) != nil {
		return false, BadRequest("the cursor is not valid; use next_cursor from the previous page")
	}
	return true, nil
}

// PageLimit reads the "limit" query parameter: def when absent, 1..max
// otherwise, or a 400.
func PageLimit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		p := BadRequest("limit must be a whole number from 1 to " + strconv.Itoa(max))
		p.Errors = []FieldError{{Field: "limit", Detail: "must be from 1 to " + strconv.Itoa(max)}}
		return 0, p
	}
	return n, nil
}
