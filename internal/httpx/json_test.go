package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type signupBody struct {
	Email string    `json:"email"`
	Age   int       `json:"age"`
	Tags  []string  `json:"tags"`
	When  time.Time `json:"when"`
}

func decodeString(t testing.TB, body string, limit int64) (signupBody, error) {
	t.Helper()
	var dst signupBody
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return dst, DecodeJSON(httptest.NewRecorder(), r, limit, &dst)
}

func TestDecodeJSONAnswersEachMistakeWithItsProblem(t *testing.T) {
	cases := []struct {
		body   string
		status int
		field  string
	}{
		{`{"email":"a@b.c","age":3}`, 0, ""},
		{`{"email":"a@b.c"`, 400, ""},
		{`{"email":"a@b.c",}`, 400, ""},
		{`{"age":"three"}`, 400, "age"},
		{`{"tags":"x"}`, 400, "tags"},
		{`{"nope":1}`, 400, "nope"},
		{`{"when":"tomorrow"}`, 400, ""},
		{`[1]`, 400, ""},
		{`{} {}`, 400, ""},
		{`{} x`, 400, ""},
		{``, 400, ""},
		{`null`, 0, ""},
		{`{"email":"` + strings.Repeat("a", 200) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		_, err := decodeString(t, tc.body, 128)
		if tc.status == 0 {
			if err != nil {
				t.Errorf("%q: unexpected error %v", tc.body, err)
			}
			continue
		}
		var p *Problem
		if !errors.As(err, &p) || p.Status != tc.status {
			t.Errorf("%q: got %v, want a %d problem", tc.body, err, tc.status)
			continue
		}
		if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
			t.Errorf("%q: field errors %+v, want %q", tc.body, p.Errors, tc.field)
		}
	}
}

func TestWriteErrorHidesInternalErrors(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	WriteError(w, r, nil, errors.New("pq: password authentication failed for user secret"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("internal error leaked: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
}

// FuzzDecodeJSON: whatever arrives, decoding never panics, and every
// failure is a 400 or 413 problem that encodes as valid problem+json.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"email":"a"}`, `{"age":1e400}`, `{"tags":[1]}`, `{`, `[]`, `"x"`, "\xff", `{"email":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := decodeString(t, body, 1024)
		if err == nil {
			return
		}
		var p *Problem
		if !errors.As(err, &p) || (p.Status != http.StatusBadRequest && p.Status != http.StatusRequestEntityTooLarge) {
			t.Fatalf("%q: %v is not a 400/413 problem", body, err)
		}
		w := httptest.NewRecorder()
		WriteError(w, httptest.NewRequest("POST", "/", nil), nil, p)
		var back Problem
		if err := json.Unmarshal(w.Body.Bytes(), &back); err != nil || back.Status != p.Status || back.Type == "" {
			t.Fatalf("problem response does not round-trip: %s", w.Body)
		}
	})
}
