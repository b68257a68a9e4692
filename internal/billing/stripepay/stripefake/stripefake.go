// Package stripefake is a stateful stand-in for the parts of Stripe's API
// that Parley uses, for tests: PaymentIntents with manual capture
// (create-and-confirm, retrieve, increment_authorization, capture, cancel),
// refunds with the application fee and the transfer reversed, customers,
// Express accounts and account links. stripe-mock checks request shapes but
// keeps no state; this fake keeps it, so holds, partial captures and
// refunds can be followed end to end. It replays idempotent requests as
// Stripe does: the same key with the same parameters returns the first
// response, the same key with other parameters (or on another endpoint) is
// a 400 idempotency_error.
//
// Test payment methods (as Stripe's test mode names them where it has one):
//
//	pm_card_visa                            approves; incremental authorization available
//	pm_card_chargeDeclined                  declined, generic_decline
//	pm_card_chargeDeclinedInsufficientFunds declined, insufficient_funds
//	pm_card_authenticationRequired          needs 3-D Secure: status requires_action
//	pm_card_incrementDeclined               approves, but refuses every increment (fake only)
//	pm_card_noIncremental                   approves, incremental authorization unavailable (fake only)
//
// Off session (off_session=true) the 3-D Secure card is declined
// (authentication_required); on session with a return_url it answers
// next_action.redirect_to_url to the fake's own 3-D Secure page.
//
// SetupIntents are made (requires_payment_method) and confirmed by
// ConfirmSetup, standing in for Stripe.js, or by the hosted Checkout.
// Stripe's hosted pages — Checkout in setup mode, Express onboarding, 3-D
// Secure — are served under /hosted/ and finish at once, redirecting the
// browser straight back (see hosted.go), so a browser test can walk them.
// Changes made in Stripe's dashboard are simulated too (RefundOutside,
// CancelOutside, OpenDispute, CloseDispute), each recording its event.
// Interrupt makes a request fail on the way, before or after the fake
// acted on it.
package stripefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Intent is the fake's state of one PaymentIntent and its charge.
type Intent struct {
	ID            string
	Customer      string
	PaymentMethod string
	Currency      string
	Destination   string // transfer_data[destination]
	Metadata      map[string]string
	Status        string // requires_action, requires_capture, succeeded, canceled, requires_payment_method
	Incremental   bool   // incremental authorization available
	Amount        int64  // authorized (after increments)
	Capturable    int64
	Received      int64 // captured
	Released      int64 // authorized but not captured, given back at capture or cancel
	Fee           int64 // application fee taken at capture
	Increments    int   // increments that succeeded
	Captures      int   // captures that really happened (not replays)
	Charge        string
	AuthorizedAt  time.Time // the charge's authorization; it lapses 7 days later
	Refunded      int64     // refunded of Received
	FeeRefunded   int64     // application fee given back
	Reversed      int64     // transfer to the destination reversed
	CancelReason  string
	ReturnURL     string // where 3-D Secure sends the payer back
	OffSession    bool
	OnBehalfOf    string
	wantIncr      bool
}

// Request is one request the fake received.
type Request struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
	Replayed                     bool
}

// Server is the fake Stripe; URL is its base URL for stripepay.Config.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	seq       int
	intents   map[string]*Intent
	charges   map[string]string // charge → intent
	accounts  map[string]*Account
	customers map[string]*Customer
	setups    map[string]*Setup
	checkouts map[string]*Checkout
	links     map[string]string // account link → its account
	linkBack  map[string]string // account link → its return_url
	refunds   []*Refund
	disputes  map[string]*Dispute
	// checkoutCard is the card the hosted Checkout saves.
	checkoutCard string
	// pendingRefund and failRefunds make new refunds pending or failed.
	pendingRefund, failRefunds bool
	cuts                       []cut
	keys                       map[string]saved
	requests                   []Request
	events                     [][]byte
	now                        func() time.Time
}

// Setup is the fake's state of one SetupIntent.
type Setup struct {
	ID, Customer, Status, PaymentMethod, ClientSecret string
	Created                                           time.Time
}

type cut struct {
	method, suffix  string
	after, conflict bool
}

type saved struct {
	endpoint, params string
	status           int
	body             []byte
}

// New starts a fake Stripe; Close it when done.
func New() *Server {
	s := &Server{
		intents:   map[string]*Intent{},
		charges:   map[string]string{},
		accounts:  map[string]*Account{},
		customers: map[string]*Customer{},
		setups:    map[string]*Setup{},
		checkouts: map[string]*Checkout{},
		links:     map[string]string{},
		linkBack:  map[string]string{},
		disputes:  map[string]*Dispute{},
		keys:      map[string]saved{},
		now:       time.Now,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Intent returns a copy of a PaymentIntent's state.
func (s *Server) Intent(id string) (Intent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.intents[id]
	if !ok {
		return Intent{}, false
	}
	c := *in
	return c, true
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Events returns the events the fake's state changes would have sent to a
// webhook endpoint, as JSON bodies (unsigned), oldest first.
func (s *Server) Events() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.events...)
}

// Interrupt makes the next request whose method is method and whose path
// ends in suffix fail with a 500: before the fake acts on it (Stripe
// unreachable), or after (it acted, and saved its answer for the
// idempotency key, but the answer was lost on the way back).
func (s *Server) Interrupt(method, suffix string, after bool) {
	s.mu.Lock()
	s.cuts = append(s.cuts, cut{method: method, suffix: suffix, after: after})
	s.mu.Unlock()
}

// Conflict makes the next request whose method is method and whose path
// ends in suffix answer 409, as Stripe does while another request with the
// same idempotency key is in progress; the fake does not act on it.
func (s *Server) Conflict(method, suffix string) {
	s.mu.Lock()
	s.cuts = append(s.cuts, cut{method: method, suffix: suffix, conflict: true})
	s.mu.Unlock()
}

// conflictNow takes a Conflict due for a request (before its key is
// looked at: the request with that key is still in progress).
func (s *Server) conflictNow(method, path string) bool {
	for i, c := range s.cuts {
		if c.conflict && c.method == method && strings.HasSuffix(path, c.suffix) {
			s.cuts = append(s.cuts[:i], s.cuts[i+1:]...)
			return true
		}
	}
	return false
}

func (s *Server) takeCut(method, path string) (cut, bool) {
	for i, c := range s.cuts {
		if !c.conflict && c.method == method && strings.HasSuffix(path, c.suffix) {
			s.cuts = append(s.cuts[:i], s.cuts[i+1:]...)
			return c, true
		}
	}
	return cut{}, false
}

func lost(w http.ResponseWriter) {
	writeJSON(w, 500, map[string]any{"error": map[string]any{"type": "api_error", "message": "the fake lost this request on the way"}})
}

// SetClock sets the fake's clock (objects' and events' created times).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// Customer returns a copy of a customer's state.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return *c, true
}

// Setup returns a copy of a SetupIntent's state.
func (s *Server) Setup(id string) (Setup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.setups[id]
	if !ok {
		return Setup{}, false
	}
	return *si, true
}

// ConfirmSetup does what Stripe.js does when the payer enters a card for a
// SetupIntent: the intent succeeds with paymentMethod, and the event
// setup_intent.succeeded is sent.
func (s *Server) ConfirmSetup(id, paymentMethod string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.setups[id]
	if !ok || si.Status != "requires_payment_method" {
		return false
	}
	si.Status, si.PaymentMethod = "succeeded", paymentMethod
	s.event("setup_intent.succeeded", setupJSON(si))
	return true
}

func setupJSON(si *Setup) map[string]any {
	m := map[string]any{"id": si.ID, "object": "setup_intent", "customer": si.Customer, "status": si.Status, "created": si.Created.Unix(),
		"client_secret": si.ClientSecret, "usage": "off_session", "payment_method_types": []string{"card"}}
	if si.PaymentMethod != "" {
		m["payment_method"] = si.PaymentMethod
	}
	return m
}

// AddAccount registers a connected account (as if onboarded elsewhere:
// it takes payments and is paid out).
func (s *Server) AddAccount(id string) {
	s.mu.Lock()
	s.accounts[id] = &Account{ID: id, Country: "US", Charges: true, Payouts: true, Details: true}
	s.mu.Unlock()
}

// AddCustomer registers a customer.
func (s *Server) AddCustomer(id string) {
	s.mu.Lock()
	s.customers[id] = &Customer{ID: id}
	s.mu.Unlock()
}

type apiError struct {
	status                         int
	typ, code, decline, msg, param string
	intent                         *Intent
	validation                     bool // refused before executing: not saved for the key
}

func (e *apiError) body(s *Server) map[string]any {
	m := map[string]any{"type": e.typ, "message": e.msg}
	if e.code != "" {
		m["code"] = e.code
	}
	if e.decline != "" {
		m["decline_code"] = e.decline
	}
	if e.param != "" {
		m["param"] = e.param
	}
	if e.intent != nil {
		m["payment_intent"] = s.intentJSON(e.intent)
	}
	return map[string]any{"error": m}
}

func invalid(param, format string, a ...any) *apiError {
	return &apiError{status: 400, typ: "invalid_request_error", param: param, msg: fmt.Sprintf(format, a...), validation: true}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/hosted/") {
		s.hosted(w, r) // Stripe's hosted pages, which a browser visits
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sk_") {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "no API key"}})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, invalid("", "bad form: %v", err).body(s))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	form := r.PostForm
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}
	req := Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: key, Form: form}
	endpoint := r.Method + " " + r.URL.Path
	params := form.Encode() // sorted by key: a canonical form
	if s.conflictNow(r.Method, r.URL.Path) {
		s.requests = append(s.requests, req)
		writeJSON(w, 409, map[string]any{"error": map[string]any{"type": "idempotency_error",
			"message": "There is currently another in-progress request using this Stripe API key (or one of its attached accounts) and idempotency key."}})
		return
	}
	if key != "" && r.Method == http.MethodPost {
		if sv, ok := s.keys[key]; ok {
			req.Replayed = true
			s.requests = append(s.requests, req)
			if sv.endpoint != endpoint || sv.params != params {
				writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "idempotency_error",
					"message": "Keys for idempotent requests can only be used with the same parameters they were first used with."}})
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(sv.status)
			_, _ = w.Write(sv.body)
			return
		}
	}
	c, cutNow := s.takeCut(r.Method, r.URL.Path)
	if cutNow && !c.after {
		s.requests = append(s.requests, req)
		lost(w)
		return
	}
	s.requests = append(s.requests, req)
	status, body := 200, any(nil)
	obj, aerr := s.route(r.Method, r.URL.Path, form)
	if aerr != nil {
		status, body = aerr.status, aerr.body(s)
	} else {
		body = obj
	}
	b, _ := json.MarshalIndent(body, "", "  ")
	if key != "" && r.Method == http.MethodPost && (aerr == nil || !aerr.validation) {
		s.keys[key] = saved{endpoint: endpoint, params: params, status: status, body: b}
	}
	if cutNow {
		lost(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s_fake%06d", prefix, s.seq)
}

func (s *Server) route(method, path string, f url.Values) (any, *apiError) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 || parts[0] != "v1" {
		return nil, &apiError{status: 404, typ: "invalid_request_error", msg: "unrecognized request URL", validation: true}
	}
	switch {
	case method == "POST" && len(parts) == 2 && parts[1] == "payment_intents":
		return s.createIntent(f)
	case len(parts) >= 3 && parts[1] == "payment_intents":
		in, ok := s.intents[parts[2]]
		if method == "POST" && len(parts) == 4 && parts[3] == "confirm" && ok {
			return s.confirmIntent(in, f)
		}
		if !ok {
			return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "intent",
				msg: "No such payment_intent: '" + parts[2] + "'", validation: true}
		}
		switch {
		case method == "GET" && len(parts) == 3:
			m := s.intentJSON(in)
			if in.Charge != "" && f.Get("expand[0]") == "latest_charge" {
				m["latest_charge"] = s.chargeJSON(in)
			}
			return m, nil
		case method == "POST" && len(parts) == 4 && parts[3] == "increment_authorization":
			return s.increment(in, f)
		case method == "POST" && len(parts) == 4 && parts[3] == "capture":
			return s.capture(in, f)
		case method == "POST" && len(parts) == 4 && parts[3] == "cancel":
			return s.cancel(in, f)
		}
	case method == "POST" && len(parts) == 2 && parts[1] == "refunds":
		return s.refund(f)
	case method == "POST" && len(parts) == 2 && parts[1] == "customers":
		c := &Customer{ID: s.id("cus"), Email: f.Get("email"), Name: f.Get("name")}
		s.customers[c.ID] = c
		return c.json(), nil
	case len(parts) == 3 && parts[1] == "customers":
		c := s.customers[parts[2]]
		if c == nil {
			return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "id", msg: "No such customer: '" + parts[2] + "'", validation: true}
		}
		if method == "POST" {
			if pm := f.Get("invoice_settings[default_payment_method]"); pm != "" {
				c.DefaultPaymentMethod = pm
			}
		}
		return c.json(), nil
	case method == "POST" && len(parts) == 3 && parts[1] == "checkout" && parts[2] == "sessions":
		return s.createCheckout(f)
	case method == "GET" && len(parts) == 4 && parts[1] == "checkout" && parts[2] == "sessions":
		return s.checkoutJSON(parts[3], f)
	case method == "GET" && len(parts) == 3 && parts[1] == "payment_methods":
		return paymentMethodJSON(parts[2])
	case method == "GET" && len(parts) == 3 && parts[1] == "accounts":
		a := s.accounts[parts[2]]
		if a == nil {
			return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "account", msg: "No such account: '" + parts[2] + "'", validation: true}
		}
		return a.json(), nil
	case method == "GET" && len(parts) == 2 && parts[1] == "refunds":
		return s.listRefunds(f.Get("charge"), f.Get("payment_intent")), nil
	case method == "GET" && len(parts) == 3 && parts[1] == "setup_intents":
		si := s.setups[parts[2]]
		if si == nil {
			return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "intent", msg: "No such setupintent: '" + parts[2] + "'", validation: true}
		}
		return setupJSON(si), nil
	case method == "POST" && len(parts) == 2 && parts[1] == "setup_intents":
		c := f.Get("customer")
		if s.customers[c] == nil {
			return nil, &apiError{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "customer", msg: "No such customer: '" + c + "'", validation: true}
		}
		si := &Setup{ID: s.id("seti"), Customer: c, Status: "requires_payment_method", Created: s.now()}
		si.ClientSecret = si.ID + "_secret_" + s.id("x")
		s.setups[si.ID] = si
		return setupJSON(si), nil
	case method == "POST" && len(parts) == 2 && parts[1] == "accounts":
		if f.Get("type") == "" && f.Get("controller[stripe_dashboard][type]") == "" {
			return nil, invalid("type", "Missing required param: type.")
		}
		a := &Account{ID: s.id("acct"), Country: f.Get("country"), Email: f.Get("email")}
		s.accounts[a.ID] = a
		return a.json(), nil
	case method == "POST" && len(parts) == 2 && parts[1] == "account_links":
		acct := f.Get("account")
		if s.accounts[acct] == nil {
			return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "account", msg: "No such account: '" + acct + "'", validation: true}
		}
		for _, p := range []string{"type", "return_url", "refresh_url"} {
			if f.Get(p) == "" {
				return nil, invalid(p, "Missing required param: %s.", p)
			}
		}
		link := s.id("link")
		s.links[link], s.linkBack[link] = acct, f.Get("return_url")
		return map[string]any{"object": "account_link", "url": s.URL + "/hosted/onboarding/" + acct + "/" + link,
			"created": s.now().Unix(), "expires_at": s.now().Add(5 * time.Minute).Unix()}, nil
	}
	return nil, &apiError{status: 404, typ: "invalid_request_error", msg: "the fake does not serve " + method + " " + path, validation: true}
}

func positive(f url.Values, name string, required bool) (int64, bool, *apiError) {
	v := f.Get(name)
	if v == "" {
		if required {
			return 0, false, invalid(name, "Missing required param: %s.", name)
		}
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, invalid(name, "Invalid integer: %s", v)
	}
	return n, true, nil
}

func (s *Server) createIntent(f url.Values) (any, *apiError) {
	amount, _, aerr := positive(f, "amount", true)
	if aerr != nil {
		return nil, aerr
	}
	if amount < 50 {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "amount_too_small", param: "amount",
			msg: "Amount must be at least 50 cents", validation: true}
	}
	if f.Get("currency") == "" {
		return nil, invalid("currency", "Missing required param: currency.")
	}
	if f.Get("capture_method") != "manual" || f.Get("confirm") != "true" {
		return nil, invalid("capture_method", "the fake serves only capture_method=manual with confirm=true")
	}
	if f.Get("off_session") == "true" && f.Get("return_url") != "" {
		return nil, invalid("return_url", "return_url cannot be used with off_session")
	}
	if c := f.Get("customer"); s.customers[c] == nil {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "customer", msg: "No such customer: '" + c + "'", validation: true}
	}
	if d := f.Get("transfer_data[destination]"); d != "" && s.accounts[d] == nil {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "transfer_data[destination]",
			msg: "No such destination: '" + d + "'", validation: true}
	}
	if fee, ok, aerr := positive(f, "application_fee_amount", false); aerr != nil || (ok && fee > amount) {
		return nil, invalid("application_fee_amount", "application_fee_amount must not exceed amount")
	}
	in := &Intent{
		ID: s.id("pi"), Customer: f.Get("customer"), PaymentMethod: f.Get("payment_method"),
		Currency: f.Get("currency"), Destination: f.Get("transfer_data[destination]"), Amount: amount,
		Metadata: map[string]string{}, ReturnURL: f.Get("return_url"), OffSession: f.Get("off_session") == "true",
		OnBehalfOf: f.Get("on_behalf_of"),
	}
	for k, v := range f {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			in.Metadata[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	wantIncr := f.Get("payment_method_options[card][request_incremental_authorization]") == "if_available"
	s.intents[in.ID] = in
	decline := func(code string) (any, *apiError) {
		in.Status = "requires_payment_method"
		return nil, &apiError{status: 402, typ: "card_error", code: "card_declined", decline: code,
			msg: "Your card was declined.", param: "", intent: in}
	}
	switch in.PaymentMethod {
	case "pm_card_visa", "pm_card_incrementDeclined", "pm_card_noIncremental":
		in.Status, in.Capturable = "requires_capture", amount
		in.Incremental = wantIncr && in.PaymentMethod != "pm_card_noIncremental"
		in.Charge, in.AuthorizedAt = s.id("ch"), s.now()
		s.charges[in.Charge] = in.ID
		s.event("payment_intent.amount_capturable_updated", s.intentJSON(in))
	case "pm_card_chargeDeclined":
		return decline("generic_decline")
	case "pm_card_chargeDeclinedInsufficientFunds":
		return decline("insufficient_funds")
	case "pm_card_authenticationRequired":
		if in.OffSession {
			// Off session nobody can authenticate: Stripe declines.
			in.Status = "requires_payment_method"
			return nil, &apiError{status: 402, typ: "card_error", code: "authentication_required", decline: "authentication_required",
				msg: "Your card was declined. This transaction requires authentication.", intent: in}
		}
		in.Status, in.wantIncr = "requires_action", wantIncr
	default:
		delete(s.intents, in.ID)
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "payment_method",
			msg: "No such PaymentMethod: '" + in.PaymentMethod + "'", validation: true}
	}
	return s.intentJSON(in), nil
}

func unexpectedState(in *Intent, action string) *apiError {
	return &apiError{status: 400, typ: "invalid_request_error", code: "payment_intent_unexpected_state", intent: in,
		msg: fmt.Sprintf("You cannot %s this PaymentIntent because it has a status of %s.", action, in.Status)}
}

func (s *Server) increment(in *Intent, f url.Values) (any, *apiError) {
	amount, _, aerr := positive(f, "amount", true)
	if aerr != nil {
		return nil, aerr
	}
	if in.Status != "requires_capture" {
		return nil, unexpectedState(in, "increment the authorization of")
	}
	if !in.Incremental {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "incremental_authorization_unavailable" /* sic: no stripe-go constant */, intent: in,
			msg: "This PaymentIntent is not eligible for incremental authorization."}
	}
	if amount <= in.Amount {
		return nil, &apiError{status: 400, typ: "invalid_request_error", param: "amount",
			msg: fmt.Sprintf("The amount (%d) must be greater than the currently authorized amount (%d).", amount, in.Amount)}
	}
	if in.PaymentMethod == "pm_card_incrementDeclined" {
		return nil, &apiError{status: 402, typ: "card_error", code: "card_declined", decline: "insufficient_funds",
			msg: "Your card has insufficient funds.", intent: in}
	}
	in.Amount, in.Capturable = amount, amount
	in.Increments++
	s.event("payment_intent.amount_capturable_updated", s.intentJSON(in))
	return s.intentJSON(in), nil
}

func (s *Server) capture(in *Intent, f url.Values) (any, *apiError) {
	amount, ok, aerr := positive(f, "amount_to_capture", false)
	if aerr != nil {
		return nil, aerr
	}
	fee, _, aerr := positive(f, "application_fee_amount", false)
	if aerr != nil {
		return nil, aerr
	}
	if in.Status != "requires_capture" {
		return nil, unexpectedState(in, "capture")
	}
	if !ok {
		amount = in.Capturable
	}
	if amount == 0 || amount > in.Capturable {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "amount_too_large", param: "amount_to_capture",
			msg: fmt.Sprintf("The amount_to_capture (%d) must be less than or equal to the PaymentIntent's amount_capturable (%d).", amount, in.Capturable)}
	}
	if amount < 50 {
		// Stripe refuses a capture below its minimum charge, too.
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "amount_too_small", param: "amount_to_capture",
			msg: "Amount must be at least 50 cents", validation: true}
	}
	if fee > amount {
		return nil, &apiError{status: 400, typ: "invalid_request_error", param: "application_fee_amount",
			msg: "application_fee_amount must be less than or equal to the amount captured"}
	}
	in.Status, in.Received, in.Fee = "succeeded", amount, fee
	in.Released, in.Capturable = in.Amount-amount, 0
	in.Captures++
	return s.intentJSON(in), nil
}

func (s *Server) cancel(in *Intent, f url.Values) (any, *apiError) {
	switch in.Status {
	case "requires_capture", "requires_action", "requires_payment_method", "requires_confirmation":
	default:
		return nil, unexpectedState(in, "cancel")
	}
	in.Released += in.Capturable
	in.Status, in.Capturable, in.CancelReason = "canceled", 0, f.Get("cancellation_reason")
	s.event("payment_intent.canceled", s.intentJSON(in))
	return s.intentJSON(in), nil
}

func (s *Server) refund(f url.Values) (any, *apiError) {
	var in *Intent
	if id := f.Get("payment_intent"); id != "" {
		in = s.intents[id]
	} else if ch := f.Get("charge"); ch != "" {
		in = s.intents[s.charges[ch]]
	}
	if in == nil {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "payment_intent",
			msg: "No such payment_intent", validation: true}
	}
	amount, ok, aerr := positive(f, "amount", false)
	if aerr != nil {
		return nil, aerr
	}
	if in.Status != "succeeded" {
		return nil, unexpectedState(in, "refund")
	}
	left := in.Received - in.Refunded
	if left == 0 {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "charge_already_refunded",
			msg: fmt.Sprintf("Charge %s has already been refunded.", in.Charge)}
	}
	if !ok {
		amount = left
	}
	if amount == 0 || amount > left {
		return nil, &apiError{status: 400, typ: "invalid_request_error", param: "amount",
			msg: fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, left)}
	}
	md := map[string]string{}
	for k, v := range f {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			md[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	return s.refundIntent(in, amount, f.Get("refund_application_fee") == "true", f.Get("reverse_transfer") == "true", md).json(), nil
}

// refundIntent refunds amount of a captured intent, as Parley asks for it
// or as an operator does in Stripe's dashboard.
func (s *Server) refundIntent(in *Intent, amount int64, fee, reverse bool, md map[string]string) *Refund {
	if s.failRefunds {
		r := &Refund{ID: s.id("re"), Amount: amount, Currency: in.Currency, Intent: in.ID, Charge: in.Charge, Metadata: md, Status: "failed"}
		s.refunds = append(s.refunds, r)
		return r
	}
	in.Refunded += amount
	if fee {
		// In proportion, rounded half up, and the rest of it when the
		// charge is refunded in full.
		total := in.Fee
		if in.Refunded < in.Received {
			total = (in.Fee*in.Refunded + in.Received/2) / in.Received
		}
		in.FeeRefunded = total
	}
	if reverse && in.Destination != "" {
		in.Reversed += amount // the whole charge was transferred; the fee came back from it
	}
	r := &Refund{ID: s.id("re"), Amount: amount, Currency: in.Currency, Intent: in.ID, Charge: in.Charge, Metadata: md}
	if s.pendingRefund {
		r.Status = "pending"
	}
	s.refunds = append(s.refunds, r)
	s.event("charge.refunded", s.chargeJSON(in))
	return r
}

func (s *Server) intentJSON(in *Intent) map[string]any {
	m := map[string]any{
		"id": in.ID, "object": "payment_intent", "amount": in.Amount, "amount_capturable": in.Capturable,
		"amount_received": in.Received, "currency": in.Currency, "customer": in.Customer,
		"payment_method": in.PaymentMethod, "capture_method": "manual", "status": in.Status,
		"metadata": in.Metadata, "payment_method_types": []string{"card"},
		"payment_method_options": map[string]any{"card": map[string]any{"request_incremental_authorization": "if_available"}},
	}
	if in.Destination != "" {
		m["transfer_data"] = map[string]any{"destination": in.Destination}
	}
	if in.Fee > 0 {
		m["application_fee_amount"] = in.Fee
	}
	if in.Charge != "" {
		m["latest_charge"] = in.Charge
	}
	if in.Status == "canceled" {
		m["cancellation_reason"] = in.CancelReason
	}
	if in.OnBehalfOf != "" {
		m["on_behalf_of"] = in.OnBehalfOf
	}
	if in.Status == "requires_action" {
		if in.ReturnURL != "" {
			m["next_action"] = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{
				"url": s.URL + "/hosted/3ds/" + in.ID, "return_url": in.ReturnURL}}
		} else {
			m["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{}}
		}
	}
	return m
}

func (s *Server) chargeJSON(in *Intent) map[string]any {
	return map[string]any{
		"id": in.Charge, "object": "charge", "amount": in.Amount, "amount_captured": in.Received,
		"amount_refunded": in.Refunded, "refunded": in.Refunded == in.Received, "captured": in.Received > 0,
		"currency": in.Currency, "payment_intent": in.ID, "metadata": in.Metadata,
		"application_fee_amount": in.Fee,
		"payment_method_details": map[string]any{"type": "card", "card": map[string]any{
			"capture_before":            in.AuthorizedAt.Add(7 * 24 * time.Hour).Unix(),
			"incremental_authorization": map[string]any{"status": map[bool]string{true: "available", false: "unavailable"}[in.Incremental]},
		}},
	}
}

func (s *Server) event(typ string, obj map[string]any) {
	b, _ := json.Marshal(map[string]any{
		"id": s.id("evt"), "object": "event", "api_version": stripe.APIVersion, "created": s.now().Unix(),
		"type": typ, "livemode": false, "data": map[string]any{"object": obj},
	})
	s.events = append(s.events, b)
}
