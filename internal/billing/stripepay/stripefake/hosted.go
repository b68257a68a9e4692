package stripefake

import (
	"cmp"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
)

// Account is the fake's state of one connected account.
type Account struct {
	ID, Country, Email        string
	Charges, Payouts, Details bool // charges_enabled, payouts_enabled, details_submitted
}

func (a *Account) json() map[string]any {
	return map[string]any{"id": a.ID, "object": "account", "type": "express", "email": a.Email, "country": a.Country,
		"charges_enabled": a.Charges, "payouts_enabled": a.Payouts, "details_submitted": a.Details,
		"requirements": map[string]any{"currently_due": map[bool][]string{true: {}, false: {"external_account"}}[a.Details]}}
}

// Customer is the fake's state of one customer.
type Customer struct {
	ID, Email, Name      string
	DefaultPaymentMethod string // invoice_settings[default_payment_method]
}

func (c *Customer) json() map[string]any {
	m := map[string]any{"id": c.ID, "object": "customer", "email": c.Email, "name": c.Name}
	if c.DefaultPaymentMethod != "" {
		m["invoice_settings"] = map[string]any{"default_payment_method": c.DefaultPaymentMethod}
	}
	return m
}

// Checkout is the fake's state of one Checkout Session (mode setup).
type Checkout struct {
	ID, Customer, SetupIntent, SuccessURL, CancelURL string
	Status                                           string // open, complete, expired
}

// Refund is one refund, Parley's or one made in the dashboard (no
// metadata).
type Refund struct {
	ID, Currency, Intent, Charge string
	Amount                       int64
	Metadata                     map[string]string
	Status                       string // "" is succeeded
}

func (r *Refund) json() map[string]any {
	md := r.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{"id": r.ID, "object": "refund", "amount": r.Amount, "currency": r.Currency,
		"payment_intent": r.Intent, "charge": r.Charge, "status": cmp.Or(r.Status, "succeeded"), "metadata": md}
}

// RefundOutsidePending refunds as the dashboard does, but the refund stays
// pending (some cards' refunds take days) until SettleRefund.
func (s *Server) RefundOutsidePending(intent string, amount int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intents[intent]
	if in == nil || in.Status != "succeeded" || amount <= 0 || amount > in.Received-in.Refunded {
		return ""
	}
	s.pendingRefund = true
	defer func() { s.pendingRefund = false }()
	return s.refundIntent(in, amount, true, true, nil).ID
}

// SettleRefund finishes a refund (pending, or — rarely — one that had
// succeeded): succeeded, or failed or canceled (the money stays with the
// merchant: the intent's refunded total goes back).
// Stripe says so with charge.refund.updated.
func (s *Server) SettleRefund(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refunds {
		if r.ID != id || r.Status == "failed" || r.Status == "canceled" {
			continue
		}
		r.Status = status
		if status != "succeeded" {
			if in := s.intents[r.Intent]; in != nil {
				in.Refunded -= r.Amount
			}
		}
		s.event("charge.refund.updated", r.json())
		return true
	}
	return false
}

// FailRefunds makes the refunds asked for from now on answer failed
// (status "failed"), as Stripe does for a card that cannot take one.
func (s *Server) FailRefunds(fail bool) {
	s.mu.Lock()
	s.failRefunds = fail
	s.mu.Unlock()
}

// Dispute is one dispute (chargeback) of a captured payment.
type Dispute struct {
	ID, Intent, Charge, Currency, Reason, Status string
	Amount                                       int64
}

func (d *Dispute) json() map[string]any {
	return map[string]any{"id": d.ID, "object": "dispute", "amount": d.Amount, "currency": d.Currency, "charge": d.Charge,
		"payment_intent": d.Intent, "reason": d.Reason, "status": d.Status}
}

// Cards the fake knows, as a saved payment method shows them.
var cards = map[string]struct {
	brand, last4 string
}{
	"pm_card_visa":                            {"visa", "4242"},
	"pm_card_mastercard":                      {"mastercard", "4444"},
	"pm_card_chargeDeclined":                  {"visa", "0002"},
	"pm_card_chargeDeclinedInsufficientFunds": {"visa", "9995"},
	"pm_card_authenticationRequired":          {"visa", "3184"},
	"pm_card_incrementDeclined":               {"visa", "1111"},
	"pm_card_noIncremental":                   {"visa", "5556"},
}

func paymentMethodJSON(id string) (any, *apiError) {
	c, ok := cards[id]
	if !ok {
		return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "payment_method",
			msg: "No such PaymentMethod: '" + id + "'", validation: true}
	}
	return map[string]any{"id": id, "object": "payment_method", "type": "card", "card": map[string]any{
		"brand": c.brand, "last4": c.last4, "exp_month": 12, "exp_year": 2034, "country": "US", "funding": "credit"}}, nil
}

func (s *Server) createCheckout(f url.Values) (any, *apiError) {
	if f.Get("mode") != "setup" {
		return nil, invalid("mode", "the fake serves only mode=setup")
	}
	c := f.Get("customer")
	if s.customers[c] == nil {
		return nil, &apiError{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "customer", msg: "No such customer: '" + c + "'", validation: true}
	}
	for _, p := range []string{"success_url", "cancel_url"} {
		if f.Get(p) == "" {
			return nil, invalid(p, "Missing required param: %s.", p)
		}
	}
	si := &Setup{ID: s.id("seti"), Customer: c, Status: "requires_payment_method", Created: s.now()}
	si.ClientSecret = si.ID + "_secret_" + s.id("x")
	s.setups[si.ID] = si
	cs := &Checkout{ID: s.id("cs_test"), Customer: c, SetupIntent: si.ID, SuccessURL: f.Get("success_url"), CancelURL: f.Get("cancel_url"), Status: "open"}
	s.checkouts[cs.ID] = cs
	return s.checkoutObject(cs, false), nil
}

func (s *Server) checkoutObject(cs *Checkout, expand bool) map[string]any {
	m := map[string]any{"id": cs.ID, "object": "checkout.session", "mode": "setup", "status": cs.Status, "customer": cs.Customer,
		"setup_intent": cs.SetupIntent, "success_url": cs.SuccessURL, "cancel_url": cs.CancelURL, "url": s.URL + "/hosted/checkout/" + cs.ID}
	if expand {
		m["setup_intent"] = setupJSON(s.setups[cs.SetupIntent])
	}
	return m
}

func (s *Server) checkoutJSON(id string, f url.Values) (any, *apiError) {
	cs := s.checkouts[id]
	if cs == nil {
		return nil, &apiError{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "session", msg: "No such checkout.session: '" + id + "'", validation: true}
	}
	expand := false
	for k, v := range f {
		if strings.HasPrefix(k, "expand") && len(v) > 0 && v[0] == "setup_intent" {
			expand = true
		}
	}
	return s.checkoutObject(cs, expand), nil
}

func (s *Server) listRefunds(charge, intent string) map[string]any {
	data := []any{}
	for _, r := range s.refunds {
		if (charge == "" || r.Charge == charge) && (intent == "" || r.Intent == intent) {
			data = append(data, r.json())
		}
	}
	return map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/refunds"}
}

// confirmIntent confirms a PaymentIntent again (after 3-D Secure): the
// fake's only use is a no-op that reports the state.
func (s *Server) confirmIntent(in *Intent, _ url.Values) (any, *apiError) {
	return s.intentJSON(in), nil
}

// CheckoutCard is the card the hosted Checkout page saves (pm_card_visa
// when empty); a test may choose another.
func (s *Server) SetCheckoutCard(pm string) {
	s.mu.Lock()
	s.checkoutCard = pm
	s.mu.Unlock()
}

// hosted serves Stripe's hosted pages as a browser meets them, each one
// finishing at once and sending the browser straight back:
//
//	/hosted/checkout/{session}     Checkout (setup): saves the card (?card=pm_…, ?cancel=1)
//	/hosted/onboarding/{acct}/{link}  Express onboarding: the account is enabled
//	/hosted/3ds/{payment_intent}   3-D Secure: authenticated (?fail=1 refuses)
func (s *Server) hosted(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method != http.MethodGet || len(parts) < 3 || len(parts) > 4 {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	back, ok := "", false
	switch parts[1] {
	case "checkout":
		back, ok = s.finishCheckout(parts[len(parts)-1], q.Get("card"), q.Get("cancel") != "")
	case "onboarding":
		back, ok = s.finishOnboarding(parts[len(parts)-1])
	case "3ds":
		back, ok = s.finish3DS(parts[len(parts)-1], q.Get("fail") != "")
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "this page has expired", http.StatusNotFound)
		return
	}
	w.Header().Set("Location", back)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusSeeOther)
	_, _ = w.Write([]byte(`<!doctype html><title>Stripe (fake)</title><a href="` + html.EscapeString(back) + `">Return</a>`))
}

func (s *Server) finishCheckout(id, card string, cancel bool) (string, bool) {
	cs := s.checkouts[id]
	if cs == nil {
		return "", false
	}
	if cancel {
		return cs.CancelURL, true
	}
	if cs.Status == "open" {
		if card == "" {
			card = s.checkoutCard
		}
		if card == "" {
			card = "pm_card_visa"
		}
		si := s.setups[cs.SetupIntent]
		si.Status, si.PaymentMethod = "succeeded", card
		cs.Status = "complete"
		s.event("setup_intent.succeeded", setupJSON(si))
		s.event("checkout.session.completed", s.checkoutObject(cs, false))
	}
	return strings.ReplaceAll(cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID), true
}

func (s *Server) finishOnboarding(link string) (string, bool) {
	a := s.accounts[s.links[link]]
	if a == nil {
		return "", false
	}
	back := s.linkBack[link]
	delete(s.links, link) // links are single-use
	a.Charges, a.Payouts, a.Details = true, true, true
	s.event("account.updated", a.json())
	return back, true
}

func (s *Server) finish3DS(id string, fail bool) (string, bool) {
	in := s.intents[id]
	if in == nil || in.ReturnURL == "" {
		return "", false
	}
	if in.Status == "requires_action" {
		if fail {
			in.Status = "requires_payment_method"
			s.event("payment_intent.payment_failed", s.intentJSON(in))
		} else {
			in.Status, in.Capturable = "requires_capture", in.Amount
			in.Incremental = in.wantIncr
			in.Charge, in.AuthorizedAt = s.id("ch"), s.now()
			s.charges[in.Charge] = in.ID
			s.event("payment_intent.amount_capturable_updated", s.intentJSON(in))
		}
	}
	status := map[bool]string{true: "failed", false: "succeeded"}[in.Status != "requires_capture"]
	sep := "?"
	if strings.Contains(in.ReturnURL, "?") {
		sep = "&"
	}
	return in.ReturnURL + sep + url.Values{"payment_intent": {in.ID}, "redirect_status": {status}}.Encode(), true
}

// Authenticate does what the payer does on the 3-D Secure page (ok) or
// fails to; it says whether there was an intent waiting for it.
func (s *Server) Authenticate(id string, ok bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, found := s.finish3DS(id, !ok)
	return found
}

// Onboard finishes an account's onboarding as the hosted page does.
func (s *Server) Onboard(account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[account]
	if a == nil {
		return false
	}
	a.Charges, a.Payouts, a.Details = true, true, true
	s.event("account.updated", a.json())
	return true
}

// RefundOutside refunds amount of a captured payment as an operator does
// in Stripe's dashboard (no Parley metadata); it returns the refund's id.
func (s *Server) RefundOutside(intent string, amount int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intents[intent]
	if in == nil || in.Status != "succeeded" || amount <= 0 || amount > in.Received-in.Refunded {
		return ""
	}
	return s.refundIntent(in, amount, true, true, nil).ID
}

// CancelOutside cancels a hold as the dashboard does.
func (s *Server) CancelOutside(intent string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intents[intent]
	if in == nil {
		return false
	}
	_, aerr := s.cancel(in, url.Values{"cancellation_reason": {"requested_by_customer"}})
	return aerr == nil
}

// OpenDispute opens a dispute of a captured payment (the payer's bank
// charges it back) and returns its id.
func (s *Server) OpenDispute(intent, reason string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intents[intent]
	if in == nil || in.Received == 0 {
		return ""
	}
	d := &Dispute{ID: s.id("dp"), Intent: in.ID, Charge: in.Charge, Currency: in.Currency, Reason: reason, Status: "needs_response",
		Amount: in.Received - in.Refunded}
	s.disputes[d.ID] = d
	s.event("charge.dispute.created", d.json())
	return d.ID
}

// CloseDispute closes a dispute, won or lost.
func (s *Server) CloseDispute(id string, won bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.disputes[id]
	if d == nil {
		return false
	}
	d.Status = map[bool]string{true: "won", false: "lost"}[won]
	s.event("charge.dispute.closed", d.json())
	return true
}

// LastEvent returns the newest event of a type the fake would have sent
// (nil when none).
func (s *Server) LastEvent(typ string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(s.events[i], &ev) == nil && ev.Type == typ {
			return s.events[i]
		}
	}
	return nil
}
