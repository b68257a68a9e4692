// Package httpx holds Parley's HTTP conventions, shared by every domain's
// handlers: RFC 9457 problem responses, strict JSON decoding, request ids,
// the instrumented router, client addresses behind proxies, rate limits and
// cursor pagination.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// ProblemTypePrefix starts every problem type; the suffix is a stable slug
// clients may switch on (documented in api/openapi.yaml).
const ProblemTypePrefix = "urn:parley:problem:"

// Problem is an RFC 9457 problem detail, and an error so that handlers can
// return it.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`

	// RetryAfter, when set, is sent as the Retry-After header (429, 503).
	RetryAfter time.Duration `json:"-"`
	// Extensions are RFC 9457 extension members sent beside the standard
	// ones (a 402's hold and balance); they never replace a standard one.
	Extensions map[string]any `json:"-"`
}

// FieldError names one invalid field of a request body or query.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// NewProblem builds a problem of the given status and slug.
func NewProblem(status int, slug, title, detail string) *Problem {
	return &Problem{Type: ProblemTypePrefix + slug, Title: title, Status: status, Detail: detail}
}

// The problems every API shares. Domain packages add their own with
// NewProblem and a slug of their own.
func BadRequest(detail string) *Problem {
	return NewProblem(http.StatusBadRequest, "bad-request", "Bad request", detail)
}

func Unauthorized(detail string) *Problem {
	return NewProblem(http.StatusUnauthorized, "unauthorized", "Authentication required", detail)
}

func Forbidden(detail string) *Problem {
	return NewProblem(http.StatusForbidden, "forbidden", "Not allowed", detail)
}

// NotFound is also the answer for what the caller may not see: it never
// hints that the resource exists.
func NotFound() *Problem {
	return NewProblem(http.StatusNotFound, "not-found", "Not found", "")
}

func Conflict(slug, detail string) *Problem {
	return NewProblem(http.StatusConflict, slug, "Conflict", detail)
}

func TooLarge(limit int64) *Problem {
	return NewProblem(http.StatusRequestEntityTooLarge, "too-large", "Request body too large",
		fmt.Sprintf("the body must not exceed %d bytes", limit))
}

func TooManyRequests(retryAfter time.Duration) *Problem {
	p := NewProblem(http.StatusTooManyRequests, "rate-limited", "Too many requests",
		"slow down and try again later")
	p.RetryAfter = retryAfter
	return p
}

// Invalid is a 422 for a well-formed request whose fields break the rules.
func Invalid(fields ...FieldError) *Problem {
	p := NewProblem(http.StatusUnprocessableEntity, "validation", "Validation failed",
		"one or more fields are invalid")
	p.Errors = fields
	return p
}

// Validator collects field errors; Err returns nil when there are none.
type Validator struct{ fields []FieldError }

// Check records detail against field when ok is false.
func (v *Validator) Check(ok bool, field, detail string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Detail: detail})
	}
}

// Err returns a 422 problem listing the failed fields, or nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return Invalid(v.fields...)
}

// WriteError answers err as problem+json. A *Problem is the caller's error
// and goes out as it is; anything else is ours: it is logged once with the
// request id, and the client gets a generic 500.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if log == nil {
		log = slog.Default()
	}
	var p *Problem
	if !errors.As(err, &p) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			p = TooLarge(maxErr.Limit)
		} else {
			log.ErrorContext(r.Context(), "internal error", "err", err,
				"method", r.Method, "path", r.URL.Path, "request_id", RequestID(r.Context()))
			p = NewProblem(http.StatusInternalServerError, "internal", "Internal server error",
				"something went wrong on our side; quote the request id when reporting it")
		}
	}
	out := *p
	out.RequestID = RequestID(r.Context())
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(out.Status)
	_ = json.NewEncoder(w).Encode(out.members())
}

// members is the problem as its JSON object: the standard members and
// the extensions beside them.
func (p Problem) members() any {
	if len(p.Extensions) == 0 {
		return p
	}
	b, err := json.Marshal(p)
	if err != nil {
		return p
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return p
	}
	for k, v := range p.Extensions {
		if _, standard := m[k]; !standard && k != "type" && k != "title" && k != "status" && k != "detail" && k != "instance" {
			m[k] = v
		}
	}
	return m
}
