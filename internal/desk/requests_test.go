package desk

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAClosedQueueOffersACallbackThatJoinsTheLineWhenItOpens(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones")
		ana := f.agent("Ana", nil, "phones")
		// Tuesday 18:00 in New York: closed until Wednesday 09:00.
		f.clock.Advance(8 * time.Hour)
		rows := f.requestCount()
		_, err := f.desk.Open(f.ctx, Caller{Origin: "https://shop.example"}, RequestInput{Queue: "phones", Name: "Late"})
		var ce *ClosedError
		if !errors.As(err, &ce) || ce.Reason != "closed" || ce.Offer != "callback" || ce.NextOpen == nil ||
			!ce.NextOpen.Equal(time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC)) {
			t.Fatalf("a request after hours: %v %+v", err, ce)
		}
		if f.requestCount() != rows {
			t.Fatal("a refused request was stored")
		}
		cb, err := f.desk.Open(f.ctx, Caller{Origin: "https://shop.example"}, RequestInput{Queue: "phones", Name: "Late",
			Callback: &CallbackInput{Contact: "+1 555 0100"}})
		if err != nil {
			t.Fatal(err)
		}
		if cb.Status != Callback {
			t.Fatalf("a booked callback: %+v", cb)
		}
		f.sweep()
		f.noOffer(ana.ID)
		// Wednesday 09:00 New York: the callback joins the line and rings Ana.
		f.clock.Advance(15 * time.Hour)
		f.sweep()
		if f.pending(ana.ID).RequestID != cb.ID {
			t.Fatal("the callback was not offered when the queue opened")
		}
	})
}

func TestAFullQueueOrOneWithNobodySignedInSaysSo(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.MaxWaiting = 1; in.WhenClosed = "message" })
		_, err := f.desk.Open(f.ctx, Caller{}, RequestInput{Queue: "phones", Name: "Early"})
		var ce *ClosedError
		if !errors.As(err, &ce) || ce.Reason != "no-agents" || ce.Offer != "message" {
			t.Fatalf("with no agent signed in: %v", err)
		}
		ana := f.agent("Ana", nil, "phones")
		if _, err := f.desk.SetStatus(f.ctx, ana.ID, Away); err != nil {
			t.Fatal(err)
		}
		f.open("phones", ChannelVideo, "One")
		if _, err := f.desk.Open(f.ctx, Caller{}, RequestInput{Queue: "phones", Name: "Two"}); !errors.As(err, &ce) || ce.Reason != "full" {
			t.Fatalf("a second customer in a queue of one: %v", err)
		}
	})
}

func TestOnlyAllowedOriginsMayOpenRequestsAndSignaturesAreChecked(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		q := f.queue("phones")
		f.agent("Ana", nil, "phones")
		rows := f.requestCount()
		if _, err := f.desk.Open(f.ctx, Caller{Origin: "https://evil.example"}, RequestInput{Queue: "phones", Name: "X"}); !errors.Is(err, ErrOriginDenied) {
			t.Fatalf("another site's widget: %v", err)
		}
		if f.requestCount() != rows {
			t.Fatal("a refused request was stored")
		}
		// The kiosk page on our own origin needs no allowlist.
		if _, err := f.desk.Open(f.ctx, Caller{Origin: "https://parley.example", Own: true}, RequestInput{Queue: "phones", Name: "Kiosk", Location: "Store 12"}); err != nil {
			t.Fatal(err)
		}
		good := f.openWith(RequestInput{Queue: "phones", Name: "ignored", Identity: &Identity{UserID: "cust-42", Name: "Mia", Signature: Sign(q.WidgetSecret, "cust-42")}})
		if good.Identity != "verified" || good.ExternalID != "cust-42" || good.Name != "Mia" {
			t.Fatalf("a verified identity: %+v", good)
		}
		forged := f.openWith(RequestInput{Queue: "phones", Name: "Eve", Identity: &Identity{UserID: "cust-42", Name: "Mia", Signature: hex.EncodeToString(make([]byte, 32))}})
		if forged.Identity != "forged" || forged.ExternalID != "" {
			t.Fatalf("a forged identity is treated as a guest, flagged: %+v", forged)
		}
		// The agent sees the verified customer's earlier requests.
		again := f.openWith(RequestInput{Queue: "phones", Name: "x", Identity: &Identity{UserID: "cust-42", Name: "Mia", Signature: Sign(q.WidgetSecret, "cust-42")}})
		hist, err := f.desk.History(f.ctx, again, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].ID != good.ID {
			t.Fatalf("history of cust-42: %+v", hist)
		}
		for _, bad := range []RequestInput{
			{Queue: "nope", Name: "X"},
			{Queue: "phones", Name: ""},
			{Queue: "phones", Name: "X", Channel: "fax"},
			{Queue: "phones", Name: "X", Identity: &Identity{Name: "No id"}},
			{Queue: "phones", Name: "X\x00"},
		} {
			var ve *ValidationError
			if _, err := f.desk.Open(f.ctx, Caller{}, bad); !errors.As(err, &ve) {
				t.Fatalf("%+v: %v, want a validation error", bad, err)
			}
		}
	})
}

func (f *fixture) openWith(in RequestInput) Request {
	f.t.Helper()
	r, err := f.desk.Open(f.ctx, Caller{Origin: "https://shop.example"}, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) requestCount() int {
	var n int
	if err := f.d.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM desk_requests`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestPlaceInLineAndEstimatedWait(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones")
		ana := f.agent("Ana", nil, "phones")
		bo := f.agent("Bo", nil, "phones")
		for _, a := range []string{ana.ID, bo.ID} {
			f.open("phones", ChannelVideo, "Busy-maker")
			if _, err := f.desk.Accept(f.ctx, a, f.pending(a).ID); err != nil {
				t.Fatal(err)
			}
		}
		// Both agents busy, no history yet: 3 minutes each, shared by two.
		var line []Request
		for _, name := range []string{"A", "B", "C"} {
			line = append(line, f.open("phones", ChannelVideo, name))
		}
		for i, want := range []int{90, 180, 270} {
			r := f.request(line[i].ID)
			if r.Position != i+1 || r.EstimatedWaitSeconds != want {
				t.Fatalf("customer %d: position %d, wait %d; want %d, %d", i, r.Position, r.EstimatedWaitSeconds, i+1, want)
			}
		}
		// The first gives up: everyone moves up, and hears it.
		if _, err := f.desk.Cancel(f.ctx, line[0].CustomerID, line[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := f.desk.PublishLine(f.ctx); err != nil {
			t.Fatal(err)
		}
		if r := f.request(line[2].ID); r.Position != 2 {
			t.Fatalf("after a cancel the last is at %d", r.Position)
		}
		if got := f.news.kinds(line[2].CustomerID); len(got) == 0 || got[len(got)-1] != "request" {
			t.Fatalf("the last customer was sent %v", got)
		}
		if _, err := f.desk.Cancel(f.ctx, line[1].CustomerID, line[2].ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancelling someone else's request: %v", err)
		}
		// The widget's estimate for a newcomer: third in line, two agents busy.
		q, _ := f.desk.Queue(f.ctx, "phones")
		st, err := f.desk.Status(f.ctx, q)
		if err != nil || st.Waiting != 2 || st.EstimatedWaitSeconds != 270 {
			t.Fatalf("the queue's status: %+v %v", st, err)
		}
	})
}

func TestASessionEndsWithWrapUpAndARatingThatTheReportCounts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.WrapUpSeconds = ptr(30) })
		ana := f.agent("Ana", nil, "phones")
		r := f.open("phones", ChannelVideo, "Dana")
		f.clock.Advance(10 * time.Second) // answered within the 15 s target
		if _, err := f.desk.Accept(f.ctx, ana.ID, f.pending(ana.ID).ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(4 * time.Minute)
		if _, err := f.desk.Rate(f.ctx, r.CustomerID, r.ID, 5, "too early"); !errors.Is(err, ErrWrongState) {
			t.Fatalf("rating a session in progress: %v", err)
		}
		ended, err := f.desk.End(f.ctx, r.CustomerID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ended.Status != Ended || ended.EndReason != "customer" {
			t.Fatalf("ended: %+v", ended)
		}
		call, _ := f.calls.Get(f.ctx, ana.ID, ended.CallID)
		if call.State != "ended" {
			t.Fatalf("the session's call is %s", call.State)
		}
		if f.status(ana.ID) != WrapUp {
			t.Fatalf("after the session Ana is %s", f.status(ana.ID))
		}
		// A second customer waits during Ana's wrap-up.
		next := f.open("phones", ChannelVideo, "Next")
		f.noOffer(ana.ID)
		if _, err := f.desk.Rate(f.ctx, r.CustomerID, r.ID, 6, ""); err == nil {
			t.Fatal("a rating of 6 was taken")
		}
		if _, err := f.desk.Rate(f.ctx, r.CustomerID, r.ID, 5, "Fixed my phone"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.Rate(f.ctx, r.CustomerID, r.ID, 1, "changed my mind"); !errors.Is(err, ErrRated) {
			t.Fatalf("a second rating: %v", err)
		}
		// Wrap-up ends when it times out, and the waiting customer rings Ana.
		f.clock.Advance(30 * time.Second)
		f.sweep()
		if f.pending(ana.ID).RequestID != next.ID {
			t.Fatal("after wrap-up Ana was not offered the next customer")
		}
		if _, err := f.desk.WrapUp(f.ctx, ana.ID, r.ID, "resolved", "replaced the SIM"); err != nil {
			t.Fatal(err)
		}
		// The next one gives up after 40 s.
		f.clock.Advance(40 * time.Second)
		if _, err := f.desk.Cancel(f.ctx, next.CustomerID, next.ID); err != nil {
			t.Fatal(err)
		}
		days, err := f.desk.Report(f.ctx, "phones", "2026-03-03", "2026-03-03")
		if err != nil {
			t.Fatal(err)
		}
		d := days[0]
		if d.Offered != 2 || d.Answered != 1 || d.AnsweredWithinTarget != 1 || d.Abandoned != 1 || d.Ratings != 1 ||
			*d.CSAT != 5 || *d.ServiceLevel != 0.5 || *d.AverageSpeedOfAnswer != 10 || *d.AverageHandleSeconds != 240 {
			t.Fatalf("the day's report: %+v", d)
		}
		var csv strings.Builder
		if err := WriteCSV(&csv, "phones", days); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(csv.String(), "phones,2026-03-03,2,1,1,1,") {
			t.Fatalf("csv:\n%s", csv.String())
		}
	})
}

func TestWebhooksAreSignedAndRetried(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		var fails atomic.Int32
		fails.Store(1)
		got := make(chan *http.Request, 10)
		bodies := make(chan []byte, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if fails.Add(-1) >= 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			got <- r
			bodies <- body
		}))
		defer srv.Close()
		wh, err := f.desk.CreateWebhook(f.ctx, srv.URL+"/hook", []string{"request.created"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.CreateWebhook(f.ctx, "ftp://x", nil); err == nil {
			t.Fatal("an ftp webhook was taken")
		}
		f.queue("phones")
		f.agent("Ana", nil, "phones")
		r := f.open("phones", ChannelChat, "Dana")
		if err := f.desk.DeliverWebhooks(f.ctx, srv.Client()); err != nil {
			t.Fatal(err)
		}
		ds, _ := f.desk.Deliveries(f.ctx, wh.ID, 10)
		if len(ds) != 1 || ds[0].State != "pending" || ds[0].Attempts != 1 || ds[0].LastStatus != 503 || ds[0].NextAttemptAt == nil {
			t.Fatalf("after a failed attempt: %+v", ds)
		}
		// Not due yet: nothing is sent.
		if err := f.desk.DeliverWebhooks(f.ctx, srv.Client()); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10 * time.Second)
		if err := f.desk.DeliverWebhooks(f.ctx, srv.Client()); err != nil {
			t.Fatal(err)
		}
		req, body := <-got, <-bodies
		sig := req.Header.Get(SignatureHeader)
		ts, mac, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
		sec, _ := strconv.ParseInt(ts, 10, 64)
		if mac != SignWebhook(wh.Secret, time.Unix(sec, 0), body) || req.Header.Get("Parley-Event") != "request.created" {
			t.Fatalf("signature %q does not verify", sig)
		}
		var payload struct {
			Event   string  `json:"event"`
			Request Request `json:"request"`
		}
		if err := json.Unmarshal(body, &payload); err != nil || payload.Request.ID != r.ID || payload.Request.Token != "" {
			t.Fatalf("payload %s", body)
		}
		ds, _ = f.desk.Deliveries(f.ctx, wh.ID, 10)
		if ds[0].State != "delivered" || ds[0].Attempts != 2 {
			t.Fatalf("after delivery: %+v", ds[0])
		}
	})
}

func TestASessionWhoseCallEndsByItselfEnds(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.WrapUpSeconds = ptr(30) })
		ana := f.agent("Ana", nil, "phones")
		r := f.open("phones", ChannelVideo, "Gone")
		session, err := f.desk.Accept(f.ctx, ana.ID, f.pending(ana.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		f.sweep()
		if got := f.request(r.ID); got.Status != InSession {
			t.Fatalf("with the call ringing the session is %s", got.Status)
		}
		// The customer never answers: the call rings out as missed.
		f.clock.Advance(31 * time.Second)
		if err := f.calls.Sweep(f.ctx); err != nil {
			t.Fatal(err)
		}
		if c, _ := f.calls.Get(f.ctx, ana.ID, session.CallID); c.State != "ended" {
			t.Fatalf("the call is %s", c.State)
		}
		f.sweep()
		got := f.request(r.ID)
		if got.Status != Ended || got.EndReason != "call-ended" {
			t.Fatalf("after its call ended the session is %s (%s)", got.Status, got.EndReason)
		}
		if f.status(ana.ID) != WrapUp {
			t.Fatalf("Ana is %s", f.status(ana.ID))
		}
	})
}
