package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/parley-chat/parley/api"
	"github.com/parley-chat/parley/internal/db/dbtest"
)

// The contract, api/openapi.yaml, loaded and validated once per test binary.
var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadContract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.Spec)
		if err != nil {
			contract.err = fmt.Errorf("load api/openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contract.err = fmt.Errorf("api/openapi.yaml is not valid OpenAPI: %w", err)
			return
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			contract.err = fmt.Errorf("route api/openapi.yaml: %w", err)
			return
		}
		contract.doc, contract.router = doc, router
	})
	return contract.doc, contract.router, contract.err
}

// contractOptions validate responses strictly: a status the operation does
// not document is an error, and so is every failed rule, not just the first.
var contractOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	ExcludeRequestBody:    true,
	IncludeResponseStatus: true,
	MultiError:            true,
	SchemaValidationOptions: []openapi3.SchemaValidationOption{
		openapi3.WithStringFormatValidator("email",
			openapi3.NewRegexpFormatValidator(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)),
		openapi3.WithStringFormatValidator("uuid",
			openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
	},
}

// checkContract validates a response against api/openapi.yaml. Every
// /api/v1 request must be an operation of the spec, answered with one of
// the operation's documented statuses, headers and body schemas. A request
// the spec does not know must be one the server does not know either: 404
// not-found, or 405 method-not-allowed with the methods the spec lists.
func checkContract(t *testing.T, req *http.Request, r *response) {
	t.Helper()
	if err := contractError(req, r); err != nil {
		t.Errorf("contract: %s %s → %d: %v\nbody: %s", req.Method, req.URL.RequestURI(), r.status, err, abbreviate(r.body))
	}
}

// contractError is checkContract's verdict: nil when the exchange keeps to
// the contract (or is outside the API).
func contractError(req *http.Request, r *response) error {
	if req.URL.Path != "/api/v1" && !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return nil
	}
	doc, router, err := loadContract()
	if err != nil {
		return err
	}
	// Only the method, URL and headers matter: the body was sent already,
	// and request validation is not the point (tests send bad requests on
	// purpose). HEAD is GET without a body.
	probe := &http.Request{Method: req.Method, URL: req.URL, Header: req.Header, Host: req.Host}
	if probe.Method == http.MethodHead {
		probe.Method = http.MethodGet
	}
	route, params, err := router.FindRoute(probe)
	if err != nil {
		return unroutedError(doc, probe, r, err)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    probe,
			PathParams: params,
			Route:      route,
			Options:    contractOptions,
		},
		Status:  r.status,
		Header:  r.header,
		Options: contractOptions,
	}
	in.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err
	}
	// ValidateResponse skips the body of a response documented without
	// content; such a response must have none.
	if resp := route.Operation.Responses.Status(r.status); resp != nil && len(resp.Value.Content) == 0 && len(r.body) > 0 {
		return fmt.Errorf("status %d is documented without a body, but the response has %d bytes", r.status, len(r.body))
	}
	// A problem quotes the request id the response header carries.
	if r.header.Get("Content-Type") == "application/problem+json" {
		var p struct {
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || p.RequestID != r.header.Get("X-Request-Id") {
			return fmt.Errorf("request_id %q differs from X-Request-Id %q", p.RequestID, r.header.Get("X-Request-Id"))
		}
	}
	return nil
}

// unroutedError judges a request for a route the spec does not describe:
// the server must refuse it as unknown, with a valid problem.
func unroutedError(doc *openapi3.T, req *http.Request, r *response, routeErr error) error {
	var want string
	switch {
	case errors.Is(routeErr, routers.ErrPathNotFound):
		if r.status != http.StatusNotFound {
			return fmt.Errorf("the path is not in api/openapi.yaml, yet the server answered %d (want 404 not-found)", r.status)
		}
		want = "not-found"
	case errors.Is(routeErr, routers.ErrMethodNotAllowed):
		if r.status != http.StatusMethodNotAllowed {
			return fmt.Errorf("api/openapi.yaml has no %s on this path, yet the server answered %d (want 405 method-not-allowed)", req.Method, r.status)
		}
		want = "method-not-allowed"
		if err := checkAllow(doc, req.URL.Path, r.header.Get("Allow")); err != nil {
			return err
		}
	default:
		return fmt.Errorf("find the route in api/openapi.yaml: %w", routeErr)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var body any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return fmt.Errorf("the problem is not JSON: %w", err)
	}
	opts := append(slices.Clone(contractOptions.SchemaValidationOptions),
		openapi3.MultiErrors(), openapi3.VisitAsResponse(), openapi3.EnableJSONSchema2020())
	if err := doc.Components.Schemas["Problem"].Value.VisitJSON(body, opts...); err != nil {
		return fmt.Errorf("the problem does not match the Problem schema: %w", err)
	}
	p, _ := body.(map[string]any)
	if p["type"] != "urn:parley:problem:"+want || p["status"] != float64(r.status) {
		return fmt.Errorf("problem type %v, status %v; want urn:parley:problem:%s, %d", p["type"], p["status"], want, r.status)
	}
	if r.header.Get("X-Request-Id") == "" || r.header.Get("X-Request-Id") != p["request_id"] {
		return fmt.Errorf("X-Request-Id %q and request_id %v differ", r.header.Get("X-Request-Id"), p["request_id"])
	}
	return nil
}

// checkAllow compares a 405's Allow header with the methods the spec
// documents for the path.
func checkAllow(doc *openapi3.T, path, allow string) error {
	var item *openapi3.PathItem
	for template, it := range doc.Paths.Map() {
		if pathMatches(template, path) {
			item = it
			break
		}
	}
	if item == nil {
		return fmt.Errorf("no path of api/openapi.yaml matches %s", path)
	}
	var documented, allowed []string
	for method := range item.Operations() {
		documented = append(documented, method)
	}
	for m := range strings.SplitSeq(allow, ",") {
		if m = strings.TrimSpace(m); m != "" {
			allowed = append(allowed, m)
		}
	}
	slices.Sort(documented)
	slices.Sort(allowed)
	if !slices.Equal(documented, allowed) {
		return fmt.Errorf("Allow: %q, but api/openapi.yaml documents %v on this path", allow, documented)
	}
	return nil
}

// pathMatches reports whether path fits a template such as /api/v1/tokens/{id}.
func pathMatches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

func abbreviate(b []byte) string {
	const limit = 2000
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}

func mustContract(t *testing.T) *openapi3.T {
	t.Helper()
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestSpecIsValidOpenAPI(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.Spec)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi: %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("api/openapi.yaml is not valid OpenAPI: %v", err)
	}
}

// TestSpecListsEveryRouteAndNoOther compares the API routes the server
// registers with the operations of api/openapi.yaml.
func TestSpecListsEveryRouteAndNoOther(t *testing.T) {
	doc := mustContract(t)
	e := newEnv(t, dbtest.SQLiteDSN(t))
	served := e.app.Routes()
	if len(served) == 0 {
		t.Fatal("the server lists no API routes")
	}

	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(documented)

	for _, route := range served {
		if !slices.Contains(documented, route) {
			t.Errorf("the server serves %s, which api/openapi.yaml does not describe", route)
		}
		if !strings.Contains(route, " /api/v1/") {
			t.Errorf("API route %s is outside /api/v1", route)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("api/openapi.yaml describes %s, which the server does not serve", op)
		}
	}
}

// TestSpecConventions checks the rules every operation of the spec keeps,
// so that a new operation cannot quietly skip them.
func TestSpecConventions(t *testing.T) {
	doc := mustContract(t)
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") {
			t.Errorf("%s: every path is under /api/v1/", path)
		}
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Summary == "" {
				t.Errorf("%s: no summary", name)
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %s is also %s's", name, op.OperationID, other)
			}
			ids[op.OperationID] = name
			public := op.Security != nil && len(*op.Security) == 0
			hasBody := op.RequestBody != nil
			upload := hasBody && isUpload(op.RequestBody.Value.Content)
			sdpBody := hasBody && op.RequestBody.Value.Content.Get("application/sdp") != nil

			want := []string{"401", "429", "500"}
			if hasBody {
				want = append(want, "400", "413")
				if !upload {
					want = append(want, "415") // JSON (or SDP) only
				}
			}
			if method != http.MethodGet {
				want = append(want, "403") // the cross-origin check
			}
			if strings.Contains(path, "{") {
				want = append(want, "404")
			}
			for _, param := range op.Parameters {
				if param.Value.In == openapi3.ParameterInQuery {
					want = append(want, "400") // a bad limit or cursor
				}
			}
			for _, status := range want {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s: status %s is not documented", name, status)
				}
			}
			if public && op.Responses.Value("401") == nil {
				t.Errorf("%s: even a public operation answers 401 to a bad bearer token", name)
			}
			var success []string
			for status, ref := range op.Responses.Map() {
				resp := ref.Value
				if resp.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %s: X-Request-Id is not documented", name, status)
				}
				switch {
				case status == "default":
					t.Errorf("%s: a default response would let any status through", name)
					continue
				case status == "206" || status == "304":
					// Not another outcome but the 200 in part (Range) or
					// not at all (the client's copy is current).
					if method != http.MethodGet || op.Responses.Value("200") == nil {
						t.Errorf("%s %s: only a GET that answers 200 may answer %s", name, status, status)
					}
					if status == "304" && len(resp.Content) > 0 {
						t.Errorf("%s 304: a 304 has no body", name)
					}
					continue
				case status == "101":
					// A GET upgraded to another protocol (WebSocket).
					if method != http.MethodGet || len(resp.Content) > 0 {
						t.Errorf("%s 101: only a GET may switch protocols, and a 101 has no body", name)
					}
					success = append(success, status)
					continue
				case strings.HasPrefix(status, "2"):
					success = append(success, status)
					continue
				}
				if len(resp.Content) != 1 || resp.Content.Get("application/problem+json") == nil {
					t.Errorf("%s %s: an error must be application/problem+json only", name, status)
				}
			}
			slices.Sort(success)
			if createOrFind[op.OperationID] {
				if !slices.Equal(success, []string{"200", "201"}) {
					t.Errorf("%s: success statuses %v, want 200 (found) and 201 (made)", name, success)
				}
			} else if len(success) != 1 {
				t.Errorf("%s: %d success statuses, want 1", name, len(success))
			}
			if op.Responses.Value("429") != nil && op.Responses.Value("429").Value.Headers["Retry-After"] == nil {
				t.Errorf("%s: 429 without Retry-After", name)
			}
			if hasBody && !upload && !sdpBody {
				mt := op.RequestBody.Value.Content.Get("application/json")
				switch {
				case mt == nil || mt.Schema == nil:
					t.Errorf("%s: the request body is not described as application/json", name)
				case mt.Schema.Value.AdditionalProperties.Has == nil || *mt.Schema.Value.AdditionalProperties.Has:
					t.Errorf("%s: the request body must say additionalProperties: false (the server refuses unknown fields)", name)
				}
			}
			if hasBody && !op.RequestBody.Value.Required {
				t.Errorf("%s: the request body must be required", name)
			}
		}
	}
}

// createOrFind lists the only operations with two success statuses: 201
// when they make something, 200 when it was there already.
var createOrFind = map[string]bool{
	"createConversation": true, // a direct conversation is one per pair
	"sendMessage":        true, // a retry with the same client_id
}

// isUpload reports whether a request body is a file: raw bytes or a
// multipart form, and no JSON. The server takes the bytes whatever their
// Content-Type, so such a body is never refused with 415.
func isUpload(content openapi3.Content) bool {
	if len(content) == 0 {
		return false
	}
	for mt := range content {
		if mt != "application/octet-stream" && mt != "multipart/form-data" {
			return false
		}
	}
	return true
}

// TestContractCatchesMistakes makes sure the contract check is not a rubber
// stamp: each exchange here breaks the spec in one way and must be refused.
func TestContractCatchesMistakes(t *testing.T) {
	mustContract(t)
	const (
		id   = "0195a2b4-7c3e-7d12-8f00-123456789abc"
		when = "2026-03-01T12:00:00Z"
	)
	user := `{"id":"` + id + `","email":"ada@example.com","name":"Ada","role":"admin","created_at":"` + when + `"}`
	hdr := func(kv ...string) http.Header {
		h := http.Header{"X-Request-Id": {"REQ1"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	jsonHdr := hdr("Content-Type", "application/json")
	problemHdr := hdr("Content-Type", "application/problem+json")
	problem := func(status int, slug string) string {
		return fmt.Sprintf(`{"type":"urn:parley:problem:%s","title":"T","status":%d,"request_id":"REQ1"}`, slug, status)
	}
	type exchange struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
	}
	// The messenger's shapes depend on their kind; a few of each.
	msg := `{"id":"` + id + `","conversation_id":"` + id + `","seq":2,"sender_id":"` + id + `","client_id":"c1","body":"hi",` +
		`"reply_to":null,"mentions":[],"attachments":[],"reactions":[],"created_at":"` + when + `","edited_at":null,"deleted":false}`
	tombstone := strings.Replace(strings.Replace(msg, `"hi"`, `""`, 1), `"deleted":false`, `"deleted":true`, 1)
	messages := func(items ...string) string { return `{"items":[` + strings.Join(items, ",") + `],"more":false}` }
	group := `{"id":"` + id + `","kind":"group","title":"Design","created_by":"` + id + `","created_at":"` + when + `","last_seq":1,` +
		`"last_activity_at":"` + when + `","member_count":2,"read_seq":1,"unread":0,"role":"admin"}`
	events := func(ev string) string {
		return `{"items":[{"conversation_id":"` + id + `","seq":2,"actor_id":"` + id + `","at":"` + when + `",` + ev + `}],"more":false}`
	}
	download := func(contentType string) http.Header {
		return hdr("Content-Type", contentType, "Content-Disposition", "attachment; filename=a.bin", "X-Content-Type-Options", "nosniff",
			"Content-Security-Policy", "default-src 'none'; sandbox", "Cache-Control", "private, no-cache", "ETag", `"`+id+`"`,
			"Last-Modified", "Sun, 01 Mar 2026 12:00:00 GMT", "Accept-Ranges", "bytes")
	}
	upgraded := hdr("Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
	msgsPath, convPath, eventsPath := "/api/v1/conversations/"+id+"/messages", "/api/v1/conversations/"+id, "/api/v1/conversations/"+id+"/events"

	good := []exchange{
		{"me", "GET", "/api/v1/me", 200, jsonHdr, user},
		{"messages", "GET", msgsPath, 200, jsonHdr, messages(msg, tombstone)},
		{"group", "GET", convPath, 200, jsonHdr, group},
		{"member event", "GET", eventsPath, 200, jsonHdr, events(`"type":"member.added","user_id":"` + id + `","role":"member"`)},
		{"download", "GET", "/api/v1/attachments/" + id, 200, download("application/octet-stream"), "<html>"},
		{"websocket", "GET", "/api/v1/ws", 101, upgraded, ""},
		{"not found", "DELETE", "/api/v1/tokens/" + id, 404, problemHdr, problem(404, "not-found")},
		{"no content", "DELETE", "/api/v1/tokens/" + id, 204, hdr(), ""},
		{"unknown path", "GET", "/api/v1/nope", 404, problemHdr, problem(404, "not-found")},
		{"wrong method", "PUT", "/api/v1/me", 405, hdr("Content-Type", "application/problem+json", "Allow", "GET"), problem(405, "method-not-allowed")},
		{"outside the API", "GET", "/healthz", 200, hdr(), "anything"},
	}
	bad := []exchange{
		{"undocumented status", "GET", "/api/v1/me", 404, problemHdr, problem(404, "not-found")},
		{"missing field", "GET", "/api/v1/me", 200, jsonHdr, strings.Replace(user, `"name":"Ada",`, "", 1)},
		{"extra field", "GET", "/api/v1/me", 200, jsonHdr, strings.Replace(user, `}`, `,"password_hash":"x"}`, 1)},
		{"bad date-time", "GET", "/api/v1/me", 200, jsonHdr, strings.Replace(user, when, "yesterday", 1)},
		{"bad uuid", "GET", "/api/v1/me", 200, jsonHdr, strings.Replace(user, id, "42", 1)},
		{"bad role", "GET", "/api/v1/me", 200, jsonHdr, strings.Replace(user, `"admin"`, `"root"`, 1)},
		{"wrong content type", "GET", "/api/v1/me", 200, hdr("Content-Type", "text/plain"), user},
		{"no request id", "GET", "/api/v1/me", 200, http.Header{"Content-Type": {"application/json"}}, user},
		{"wrong problem type", "DELETE", "/api/v1/tokens/" + id, 404, problemHdr, problem(404, "gone")},
		{"problem status differs", "DELETE", "/api/v1/tokens/" + id, 404, problemHdr, problem(410, "not-found")},
		{"body on 204", "DELETE", "/api/v1/tokens/" + id, 204, jsonHdr, "{}"},
		{"undocumented route served", "GET", "/api/v1/secret", 200, jsonHdr, "{}"},
		{"undocumented method served", "DELETE", "/api/v1/me", 204, hdr(), ""},
		{"Allow differs", "PUT", "/api/v1/me", 405, hdr("Content-Type", "application/problem+json", "Allow", "GET, DELETE"), problem(405, "method-not-allowed")},
		{"429 without Retry-After", "GET", "/api/v1/me", 429, problemHdr, problem(429, "rate-limited")},
		{"request_id differs", "GET", "/api/v1/me", 401, problemHdr, strings.Replace(problem(401, "unauthorized"), "REQ1", "REQ2", 1)},
		{"no Set-Cookie on sign-in", "POST", "/api/v1/auth/login", 200, jsonHdr, user},
		{"tombstone with text", "GET", msgsPath, 200, jsonHdr, messages(strings.Replace(tombstone, `"body":""`, `"body":"secret"`, 1))},
		{"group without a title", "GET", convPath, 200, jsonHdr, strings.Replace(group, `"Design"`, `""`, 1)},
		{"event without its fields", "GET", eventsPath, 200, jsonHdr, events(`"type":"member.added"`)},
		{"attachment served as HTML", "GET", "/api/v1/attachments/" + id, 200, download("text/html"), "<html>"},
		{"upgrade without request id", "GET", "/api/v1/ws", 101, func() http.Header { h := upgraded.Clone(); h.Del("X-Request-Id"); return h }(), ""},
	}
	run := func(x exchange) error {
		u, err := url.Parse("http://127.0.0.1:1" + x.path)
		if err != nil {
			t.Fatal(err)
		}
		req := &http.Request{Method: x.method, URL: u, Header: http.Header{}, Host: u.Host}
		return contractError(req, &response{status: x.status, header: x.header, body: bytes.Clone([]byte(x.body))})
	}
	for _, x := range good {
		if err := run(x); err != nil {
			t.Errorf("%s: refused a good exchange: %v", x.name, err)
		}
	}
	for _, x := range bad {
		if err := run(x); err == nil {
			t.Errorf("%s: the contract check let it through", x.name)
		}
	}
}
