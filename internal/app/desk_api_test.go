package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const shop = "https://shop.example"

// allWeekUTC is open all day, every day.
func allWeekUTC() map[string]any {
	weekly := map[string]any{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		weekly[d] = []map[string]string{{"open": "00:00", "close": "24:00"}}
	}
	return map[string]any{"time_zone": "UTC", "weekly": weekly}
}

type deskRequest struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	Token          string `json:"token"`
	ConversationID string `json:"conversation_id"`
	CallID         string `json:"call_id"`
	CustomerID     string `json:"customer_id"`
	Identity       string `json:"identity"`
	Rating         *int   `json:"rating"`
}

// wsDial opens the gateway as a browser page would with a token: offered
// as a subprotocol beside parley.v1.
func (e *env) wsWithToken(t *testing.T, token, origin string) (*websocket.Conn, *http.Response) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"parley.v1", "parley.token." + token}}
	ws, res, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/ws", http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("dial with a token subprotocol: %v (%v)", err, res)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, res
}

// awaitHello reads until the gateway's hello: the connection is attached,
// so news published from now on reaches it.
func awaitHello(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var f struct {
			Type string `json:"type"`
		}
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for hello: %v", err)
		}
		if f.Type == "hello" {
			return
		}
	}
}

// nextDesk reads frames until a desk frame of kind arrives.
func nextDesk(t *testing.T, ws *websocket.Conn, kind string) json.RawMessage {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a desk %s frame: %v", kind, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			var f struct {
				Type string                     `json:"type"`
				Desk map[string]json.RawMessage `json:"desk"`
			}
			if json.Unmarshal([]byte(line), &f) != nil || f.Type != "desk" {
				continue
			}
			var k string
			_ = json.Unmarshal(f.Desk["kind"], &k)
			if k == kind {
				return f.Desk[kind]
			}
		}
	}
}

func TestTheHelpDeskFromTheWidgetToTheReport(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		admin, _ := e.signup("admin@example.com", "Admin")
		ana, anaU := e.signup("ana@example.com", "Ana")
		var q struct {
			ID           string `json:"id"`
			WidgetSecret string `json:"widget_secret"`
		}
		admin.do("POST", "/api/v1/desk/queues", map[string]any{"key": "phones", "name": "Phones", "hours": allWeekUTC(),
			"origins": []string{shop}, "channels": []string{"video", "chat"}}).want(t, http.StatusCreated).decode(t, &q)
		if q.WidgetSecret == "" {
			t.Fatal("a manager does not see the widget secret")
		}
		admin.do("PUT", "/api/v1/desk/agents/"+anaU.ID, map[string]any{"queues": []string{"phones"}}).want(t, http.StatusOK)
		// Only managers set the desk up.
		ana.do("POST", "/api/v1/desk/queues", map[string]any{"key": "x", "name": "X", "hours": allWeekUTC()}).problem(t, 403, "forbidden")
		ana.do("PUT", "/api/v1/desk/agents/"+anaU.ID, map[string]any{"manager": true}).problem(t, 403, "forbidden")
		ana.do("PUT", "/api/v1/desk/agents/me/status", map[string]any{"status": "available"}).want(t, http.StatusOK)
		anaWS, _ := ana.dialWS(t, e.srv.URL)
		awaitHello(t, anaWS)

		// The widget on the shop's page: its origin is on the allowlist.
		guest := e.client()
		guest.origin = shop
		st := guest.do("GET", "/api/v1/desk/queues/phones/status", nil).want(t, http.StatusOK)
		if st.header.Get("Access-Control-Allow-Origin") != shop || st.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("CORS headers: %v", st.header)
		}
		var status struct {
			Open         bool `json:"open"`
			AgentsOnline int  `json:"agents_online"`
		}
		st.decode(t, &status)
		if !status.Open || status.AgentsOnline != 1 {
			t.Fatalf("the queue's status: %s", st.body)
		}
		// Another site's page may not use the queue, and writes nothing.
		evil := e.client()
		evil.origin = "https://evil.example"
		before := e.count("desk_requests")
		evil.do("GET", "/api/v1/desk/queues/phones/status", nil).problem(t, 403, "forbidden")
		evil.do("POST", "/api/v1/desk/requests", map[string]any{"queue": "phones", "name": "Mallory"}).problem(t, 403, "forbidden")
		if e.count("desk_requests") != before {
			t.Fatal("a refused request was stored")
		}
		// A browser's preflight is answered without credentials.
		pre, _ := http.NewRequest("OPTIONS", e.srv.URL+"/api/v1/desk/requests", nil)
		pre.Header.Set("Origin", shop)
		pre.Header.Set("Access-Control-Request-Method", "POST")
		pre.Header.Set("Access-Control-Request-Headers", "content-type")
		res, err := http.DefaultClient.Do(pre)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != shop ||
			!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
		}

		var r deskRequest
		guest.do("POST", "/api/v1/desk/requests", map[string]any{"queue": "phones", "channel": "video", "name": "Dana",
			"page": "https://shop.example/checkout"}).want(t, http.StatusCreated).decode(t, &r)
		if r.Status != "offered" || r.Token == "" || r.Identity != "guest" {
			t.Fatalf("the request: %+v", r)
		}
		offer := nextDesk(t, anaWS, "offer")
		var o struct {
			ID      string `json:"id"`
			Request struct {
				Name string `json:"name"`
				Page string `json:"page"`
			} `json:"request"`
		}
		_ = json.Unmarshal(offer, &o)
		if o.Request.Name != "Dana" || o.Request.Page != "https://shop.example/checkout" {
			t.Fatalf("the offer Ana's devices got: %s", offer)
		}

		// The guest's token reaches its own help, and nothing else.
		guest.token = r.Token
		guest.do("GET", "/api/v1/desk/requests/"+r.ID, nil).want(t, http.StatusOK)
		guest.do("GET", "/api/v1/conversations/"+r.ConversationID, nil).want(t, http.StatusOK)
		guest.do("GET", "/api/v1/users?query=ana", nil).problem(t, 403, "forbidden")
		guest.do("POST", "/api/v1/conversations", map[string]any{"kind": "direct", "user_id": anaU.ID}).problem(t, 403, "forbidden")
		guest.do("POST", "/api/v1/tokens", map[string]any{"name": "more"}).problem(t, 403, "forbidden")
		guest.do("GET", "/api/v1/desk/offers", nil).problem(t, 403, "forbidden")
		guestWS, wsRes := e.wsWithToken(t, r.Token, shop)
		awaitHello(t, guestWS)
		if wsRes.Header.Get("Sec-WebSocket-Protocol") != "parley.v1" {
			t.Fatalf("the gateway picked %q", wsRes.Header.Get("Sec-WebSocket-Protocol"))
		}

		var accepted deskRequest
		ana.do("POST", "/api/v1/desk/offers/"+o.ID+"/accept", nil).want(t, http.StatusOK).decode(t, &accepted)
		if accepted.Status != "active" || accepted.CallID == "" {
			t.Fatalf("accepted: %+v", accepted)
		}
		ana.do("POST", "/api/v1/desk/offers/"+o.ID+"/accept", nil).problem(t, 409, "offer-gone")
		var news deskRequest
		_ = json.Unmarshal(nextDesk(t, guestWS, "request"), &news)
		for news.Status != "active" {
			_ = json.Unmarshal(nextDesk(t, guestWS, "request"), &news)
		}
		if news.CallID != accepted.CallID {
			t.Fatalf("the customer heard %+v", news)
		}
		var c call
		guest.do("GET", "/api/v1/calls/"+accepted.CallID, nil).want(t, http.StatusOK).decode(t, &c)
		if c.Kind != "help" || c.role(r.CustomerID) != "customer" || c.role(anaU.ID) != "helper" {
			t.Fatalf("the help call: %+v", c)
		}

		guest.do("POST", "/api/v1/desk/requests/"+r.ID+"/rating", map[string]any{"score": 5}).problem(t, 409, "wrong-state")
		ana.do("POST", "/api/v1/desk/requests/"+r.ID+"/end", nil).want(t, http.StatusOK)
		guest.do("POST", "/api/v1/desk/requests/"+r.ID+"/rating", map[string]any{"score": 0}).problem(t, 422, "validation")
		guest.do("POST", "/api/v1/desk/requests/"+r.ID+"/rating", map[string]any{"score": 5, "comment": "Quick and kind"}).want(t, http.StatusOK)
		guest.do("POST", "/api/v1/desk/requests/"+r.ID+"/rating", map[string]any{"score": 1}).problem(t, 409, "already-rated")
		ana.do("POST", "/api/v1/desk/requests/"+r.ID+"/wrapup", map[string]any{"code": "resolved", "notes": "Reset the APN"}).want(t, http.StatusOK)
		var seen map[string]any
		guest.do("GET", "/api/v1/desk/requests/"+r.ID, nil).want(t, http.StatusOK).decode(t, &seen)
		if _, leaked := seen["notes"]; leaked {
			t.Fatal("the customer sees the agent's notes")
		}

		today := e.clock.Now().UTC().Format(time.DateOnly)
		var report struct {
			Days []struct {
				Offered  int      `json:"offered"`
				Answered int      `json:"answered"`
				CSAT     *float64 `json:"csat"`
			} `json:"days"`
		}
		admin.do("GET", "/api/v1/desk/queues/phones/report?from="+today+"&to="+today, nil).want(t, http.StatusOK).decode(t, &report)
		if len(report.Days) != 1 || report.Days[0].Offered != 1 || report.Days[0].Answered != 1 || report.Days[0].CSAT == nil || *report.Days[0].CSAT != 5 {
			t.Fatalf("the report: %+v", report)
		}
		csv := admin.do("GET", "/api/v1/desk/queues/phones/report?format=csv", nil).want(t, http.StatusOK)
		if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csv.body), "phones,"+today+",1,1,") {
			t.Fatalf("the CSV: %s", csv.body)
		}
		admin.do("GET", "/api/v1/desk/queues/phones/report?format=xml", nil).problem(t, 422, "validation")
		ana.do("GET", "/api/v1/desk/queues/phones/report", nil).problem(t, 403, "forbidden")
		admin.do("GET", "/api/v1/desk/wallboard", nil).want(t, http.StatusOK)
	})
}

func TestDeskSetUpRefusesBadInputAndWritesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		admin, _ := e.signup("admin@example.com", "Admin")
		overlapping := allWeekUTC()
		overlapping["weekly"].(map[string]any)["monday"] = []map[string]string{{"open": "09:00", "close": "13:00"}, {"open": "12:00", "close": "17:00"}}
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"key": "Phones!", "name": "Phones", "hours": allWeekUTC()}, "key"},
			{map[string]any{"key": "phones", "name": "Phones", "hours": overlapping}, "hours.weekly.monday"},
			{map[string]any{"key": "phones", "name": "Phones", "hours": map[string]any{"time_zone": "Mars/Olympus", "weekly": map[string]any{}}}, "hours.time_zone"},
			{map[string]any{"key": "phones", "name": "Phones", "hours": allWeekUTC(), "channels": []string{"fax"}}, "channels[0]"},
			{map[string]any{"key": "phones", "name": "Phones", "hours": allWeekUTC(), "origins": []string{"https://shop.example/path"}}, "origins[0]"},
			{map[string]any{"key": "phones", "name": "Phones", "hours": allWeekUTC(), "required_skills": map[string]int{"ios": 9}}, "required_skills.ios"},
			{map[string]any{"key": "phones", "name": "Phones"}, "hours"},
		} {
			p := admin.do("POST", "/api/v1/desk/queues", c.body).problem(t, 422, "validation")
			found := false
			for _, f := range p.fields() {
				found = found || strings.HasPrefix(f, c.field)
			}
			if !found {
				t.Fatalf("%v: fields %v, want %s", c.body, p.fields(), c.field)
			}
		}
		admin.do("POST", "/api/v1/desk/queues", `{"key": "phones", "name": "Phones", "hours": {}, "extra": 1}`).problem(t, 400, "bad-request")
		if n := e.count("desk_queues"); n != 0 {
			t.Fatalf("%d queues were stored from bad input", n)
		}
		admin.do("POST", "/api/v1/desk/queues", map[string]any{"key": "phones", "name": "Phones", "hours": allWeekUTC()}).want(t, http.StatusCreated)
		admin.do("POST", "/api/v1/desk/queues", map[string]any{"key": "phones", "name": "Again", "hours": allWeekUTC()}).problem(t, 409, "queue-key-taken")
		// Nobody signed in: a request hears what is offered instead.
		p := e.client().do("POST", "/api/v1/desk/requests", map[string]any{"queue": "phones", "name": "Early"}).problem(t, 409, "queue-no-agents")
		if len(p.Errors) == 0 || p.Errors[0].Field != "offer" || p.Errors[0].Detail != "callback" {
			t.Fatalf("what is offered instead: %+v", p)
		}
		var st map[string]any
		admin.do("POST", "/api/v1/desk/staffing", map[string]any{"calls_per_hour": 100, "handle_time_seconds": 180,
			"service_level": 0.8, "answer_time_seconds": 20}).want(t, http.StatusOK).decode(t, &st)
		if st["agents"].(float64) != 8 {
			t.Fatalf("100 calls an hour of 3 minutes, 80%% in 20 s: %v agents", st["agents"])
		}
		p = admin.do("POST", "/api/v1/desk/staffing", map[string]any{"calls_per_hour": 100, "handle_time_seconds": 0, "answer_time_seconds": 20}).problem(t, 422, "validation")
		if !strings.Contains(strings.Join(p.fields(), ","), "handle_time_seconds") {
			t.Fatalf("staffing errors name %v", p.fields())
		}
	})
}
