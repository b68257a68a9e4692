package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type marketSession struct {
	ID              string `json:"id"`
	Status          string `json:"status"`
	CallID          string `json:"call_id"`
	Held            int64  `json:"held"`
	BillableSeconds int64  `json:"billable_seconds"`
	Charged         int64  `json:"charged"`
	Commission      int64  `json:"commission"`
	ExpertShare     int64  `json:"expert_share"`
}

type balances struct {
	Items []struct {
		Currency string `json:"currency"`
		Wallet   int64  `json:"wallet"`
		Held     int64  `json:"held"`
		Payable  int64  `json:"payable"`
		PaidOut  int64  `json:"paid_out"`
	} `json:"items"`
}

func (c *client) balance(t *testing.T) (wallet, payable, paidOut int64) {
	t.Helper()
	var b balances
	c.do("GET", "/api/v1/billing/balance", nil).want(t, http.StatusOK).decode(t, &b)
	for _, it := range b.Items {
		if it.Currency == "USD" {
			return it.Wallet, it.Payable, it.PaidOut
		}
	}
	return 0, 0, 0
}

func TestTheMarketplaceFromApplyingToPayout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		admin, _ := e.signup("admin@example.com", "Admin")
		exa, exaU := e.signup("exa@example.com", "Exa")
		lea, leaU := e.signup("lea@example.com", "Lea")

		application := map[string]any{"headline": "Windows on a Mac", "bio": "I install Windows on Macs.", "languages": []string{"en"},
			"categories": []string{"computers-electronics"}, "time_zone": "UTC"}
		var photo struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		}
		exa.doBody("POST", "/api/v1/market/media", "image/png", bytes.NewReader(pngImage(t, 4, 4)), nil).want(t, http.StatusCreated).decode(t, &photo)
		exa.doBody("POST", "/api/v1/market/media", "image/svg+xml", strings.NewReader(`<svg xmlns="http://www.w3.org/2000/svg"/>`), nil).
			problem(t, 415, "unsupported-media-type")
		application["photo"] = photo.ID
		exa.do("POST", "/api/v1/market/experts/apply", application).want(t, http.StatusOK)
		e.client().do("GET", "/api/v1/market/media/"+photo.ID, nil).problem(t, 404, "not-found") // not approved yet
		exa.do("POST", "/api/v1/market/experts/apply", map[string]any{"headline": "", "bio": "x", "languages": []string{},
			"categories": []string{"astrology"}}).problem(t, 422, "validation")
		listing := map[string]any{"title": "Windows on your Mac", "description": "Boot Camp or a VM, set up live.", "category": "computers-electronics",
			"languages": []string{"en"}, "price_model": "per_minute", "price": money{150, "USD"}, "start_now": true}
		exa.do("POST", "/api/v1/market/listings", listing).problem(t, 403, "forbidden") // not approved yet
		lea.do("POST", "/api/v1/market/experts/"+exaU.ID+"/approve", nil).problem(t, 403, "forbidden")
		admin.do("POST", "/api/v1/market/experts/"+exaU.ID+"/approve", nil).want(t, http.StatusOK)
		if got := e.client().do("GET", "/api/v1/market/media/"+photo.ID, nil).want(t, http.StatusOK); got.header.Get("Content-Type") != "image/png" ||
			got.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("the approved expert's photo: %v", got.header)
		}

		bad := map[string]any{}
		for k, v := range listing {
			bad[k] = v
		}
		bad["price"] = money{-5, "USD"}
		exa.do("POST", "/api/v1/market/listings", bad).problem(t, 422, "validation")
		bad["price"] = money{150, "XYZ"}
		exa.do("POST", "/api/v1/market/listings", bad).problem(t, 422, "validation")
		var l struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		exa.do("POST", "/api/v1/market/listings", listing).want(t, http.StatusCreated).decode(t, &l)
		var found struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		e.client().do("GET", "/api/v1/market/listings?q=windows", nil).want(t, http.StatusOK).decode(t, &found)
		if len(found.Items) != 0 {
			t.Fatal("a listing shows before the operator approved it")
		}
		// The operator's review queue shows it; nobody else may ask for it.
		admin.do("GET", "/api/v1/market/listings?status=pending", nil).want(t, http.StatusOK).decode(t, &found)
		if len(found.Items) != 1 || found.Items[0].ID != l.ID {
			t.Fatalf("the review queue: %+v", found.Items)
		}
		lea.do("GET", "/api/v1/market/listings?status=pending", nil).problem(t, 403, "forbidden")
		admin.do("POST", "/api/v1/market/listings/"+l.ID+"/approve", nil).want(t, http.StatusOK)
		e.client().do("GET", "/api/v1/market/listings?q=windows&category=computers-electronics", nil).want(t, http.StatusOK).decode(t, &found)
		if len(found.Items) != 1 || found.Items[0].ID != l.ID {
			t.Fatalf("discovery found %+v", found.Items)
		}
		weekly := map[string]any{}
		for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
			weekly[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
		}
		exa.do("PUT", "/api/v1/market/experts/me/availability", map[string]any{"hours": map[string]any{"time_zone": "UTC", "weekly": weekly},
			"available_now": true}).want(t, http.StatusOK)
		e.client().do("GET", "/api/v1/market/listings?available_now=true", nil).want(t, http.StatusOK).decode(t, &found)
		if len(found.Items) != 1 {
			t.Fatalf("available now: %+v", found.Items)
		}

		// An empty wallet cannot start a paid session, and nothing is written.
		before := e.count("market_sessions")
		lea.do("POST", "/api/v1/market/bookings", map[string]any{"listing": l.ID, "now": true}).problem(t, 402, "payment-required")
		if e.count("market_sessions") != before {
			t.Fatal("a refused booking was stored")
		}
		lea.do("POST", "/api/v1/billing/topups", map[string]any{"user_id": leaU.ID, "amount": money{5000, "USD"}}).problem(t, 403, "forbidden")
		admin.do("POST", "/api/v1/billing/topups", map[string]any{"user_id": leaU.ID, "amount": money{5000, "USD"}}).want(t, http.StatusCreated)

		var se marketSession
		lea.do("POST", "/api/v1/market/bookings", map[string]any{"listing": l.ID, "now": true}).want(t, http.StatusCreated).decode(t, &se)
		if se.Status != "ringing" || se.CallID == "" || se.Held != 15*150 {
			t.Fatalf("a session started now: %+v", se)
		}
		exa.do("POST", "/api/v1/calls/"+se.CallID+"/join", nil).want(t, http.StatusOK)
		if err := e.app.Market.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		// The SFU's account of who was connected: both for 7 min 10 s.
		start := e.clock.Now()
		for _, u := range []string{leaU.ID, exaU.ID} {
			if err := e.app.Calls.RecordPresence(ctx, se.CallID, u, "dev", true, start); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(7*time.Minute + 10*time.Second)
		lea.do("GET", "/api/v1/market/sessions/"+se.ID, nil).want(t, http.StatusOK).decode(t, &se)
		if se.Status != "active" || se.BillableSeconds != 430 || se.Charged != 1200 {
			t.Fatalf("the running meter: %+v", se)
		}
		e.signupClient(t, "eve@example.com").do("GET", "/api/v1/market/sessions/"+se.ID, nil).problem(t, 404, "not-found")
		lea.do("POST", "/api/v1/market/sessions/"+se.ID+"/end", nil).want(t, http.StatusOK).decode(t, &se)
		if se.Status != "completed" || se.Charged != 1200 || se.Commission != 240 || se.ExpertShare != 960 {
			t.Fatalf("the settled session: %+v", se)
		}
		if w, _, _ := lea.balance(t); w != 3800 {
			t.Fatalf("the learner's wallet: %d", w)
		}
		if _, p, _ := exa.balance(t); p != 960 {
			t.Fatalf("the expert's earnings: %d", p)
		}
		lea.do("POST", "/api/v1/market/sessions/"+se.ID+"/review", map[string]any{"score": 5, "body": "Worked first time"}).want(t, http.StatusCreated)
		lea.do("POST", "/api/v1/market/sessions/"+se.ID+"/review", map[string]any{"score": 1}).problem(t, 409, "already-reviewed")
		exa.do("POST", "/api/v1/market/sessions/"+se.ID+"/refunds", map[string]any{"amount": 5000}).problem(t, 409, "too-much")

		admin.do("GET", "/api/v1/market/contact-flags", nil).want(t, http.StatusOK)
		lea.do("GET", "/api/v1/market/contact-flags", nil).problem(t, 403, "forbidden")
		csv := admin.do("GET", "/api/v1/billing/ledger?format=csv", nil).want(t, http.StatusOK)
		if !strings.Contains(string(csv.body), ",commission,") || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("the ledger CSV:\n%s", csv.body)
		}
		admin.do("POST", "/api/v1/billing/payouts", map[string]any{"currency": "USD", "minimum": 500}).want(t, http.StatusOK)
		if _, p, out := exa.balance(t); p != 0 || out != 960 {
			t.Fatalf("after the payout the expert has %d payable, %d paid out", p, out)
		}
		// The expert's statement: earned, then paid out, newest first.
		var st struct {
			Items []struct {
				Reason  string `json:"reason"`
				Account string `json:"account"`
				Amount  int64  `json:"amount"`
			} `json:"items"`
		}
		exa.do("GET", "/api/v1/billing/statement", nil).want(t, http.StatusOK).decode(t, &st)
		var lines []string
		for _, it := range st.Items {
			lines = append(lines, fmt.Sprintf("%s:%s:%d", it.Reason, it.Account, it.Amount))
		}
		if strings.Join(lines, ",") != "payout:payable:-960,payout:payout:960,commission:payable:960" {
			t.Fatalf("the expert's statement: %v", lines)
		}
	})
}

// signupClient signs a new person up and returns their client.
func (e *env) signupClient(t *testing.T, email string) *client {
	t.Helper()
	c, _ := e.signup(email, strings.Split(email, "@")[0])
	return c
}
