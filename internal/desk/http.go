package desk

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// HTTP serves the help desk's API.
type HTTP struct {
	svc     *Service
	MaxBody int64
}

// NewHTTP binds handlers to the service.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc, MaxBody: httpx.DefaultMaxBody} }

// GuestRoutes are the desk routes a guest's token may call.
var GuestRoutes = []string{
	"GET /api/v1/desk/requests/{id}",
	"POST /api/v1/desk/requests/{id}/cancel",
	"POST /api/v1/desk/requests/{id}/end",
	"POST /api/v1/desk/requests/{id}/rating",
}

// Routes registers the desk API.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("GET /api/v1/desk/queues", h.listQueues)
	rt.Handle("POST /api/v1/desk/queues", h.createQueue)
	rt.Handle("GET /api/v1/desk/queues/{id}", h.getQueue)
	rt.Handle("PUT /api/v1/desk/queues/{id}", h.updateQueue)
	rt.Handle("GET /api/v1/desk/queues/{id}/status", h.queueStatus)
	rt.Handle("GET /api/v1/desk/queues/{id}/report", h.report)
	rt.Handle("GET /api/v1/desk/agents", h.listAgents)
	rt.Handle("PUT /api/v1/desk/agents/{id}", h.setAgent)
	rt.Handle("GET /api/v1/desk/agents/me", h.me)
	rt.Handle("PUT /api/v1/desk/agents/me/status", h.setStatus)
	rt.Handle("GET /api/v1/desk/agents/me/sessions", h.mySessions)
	rt.Handle("GET /api/v1/desk/offers", h.offers)
	rt.Handle("POST /api/v1/desk/offers/{id}/accept", h.accept)
	rt.Handle("POST /api/v1/desk/offers/{id}/decline", h.decline)
	rt.Handle("POST /api/v1/desk/requests", h.open)
	rt.Handle("GET /api/v1/desk/requests/{id}", h.getRequest)
	rt.Handle("POST /api/v1/desk/requests/{id}/cancel", h.cancel)
	rt.Handle("POST /api/v1/desk/requests/{id}/end", h.end)
	rt.Handle("POST /api/v1/desk/requests/{id}/wrapup", h.wrapUp)
	rt.Handle("PUT /api/v1/desk/requests/{id}/notes", h.notes)
	rt.Handle("POST /api/v1/desk/requests/{id}/transfer", h.transfer)
	rt.Handle("POST /api/v1/desk/requests/{id}/rating", h.rate)
	rt.Handle("GET /api/v1/desk/wallboard", h.wallboard)
	rt.Handle("POST /api/v1/desk/staffing", h.staffing)
	rt.Handle("GET /api/v1/desk/webhooks", h.listWebhooks)
	rt.Handle("POST /api/v1/desk/webhooks", h.createWebhook)
	rt.Handle("DELETE /api/v1/desk/webhooks/{id}", h.deleteWebhook)
	rt.Handle("GET /api/v1/desk/webhooks/{id}/deliveries", h.deliveries)
}

func problem(err error) error {
	switch {
	case errors.Is(err, ErrKeyTaken):
		p := httpx.Conflict("queue-key-taken", "a queue with this key exists")
		p.Errors = []httpx.FieldError{{Field: "key", Detail: "already in use"}}
		return p
	case errors.Is(err, ErrAgentUnavailable):
		return httpx.Conflict("agent-unavailable", "that agent is not available to take it now")
	case errors.Is(err, ErrRated):
		return httpx.Conflict("already-rated", "this session is already rated")
	}
	return Problem(err)
}

// manager lets admins and agents with the manager flag through.
func (h *HTTP) manager(r *http.Request) (*auth.Principal, error) {
	p, err := auth.Need(r)
	if err != nil {
		return nil, err
	}
	if p.Is(auth.RoleAdmin) {
		return p, nil
	}
	ok, err := h.svc.IsManager(r.Context(), p.User.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, httpx.Forbidden("only desk managers may do this")
	}
	return p, nil
}

// agent lets agents (and admins) through.
func (h *HTTP) agent(r *http.Request) (*auth.Principal, error) {
	p, err := auth.Need(r)
	if err != nil {
		return nil, err
	}
	if _, err := h.svc.Agent(r.Context(), p.User.ID); errors.Is(err, ErrNotFound) {
		if p.Is(auth.RoleAdmin) {
			return p, nil
		}
		return nil, httpx.Forbidden("only desk agents may do this")
	} else if err != nil {
		return nil, err
	}
	return p, nil
}

func (h *HTTP) viewer(ctx context.Context, p *auth.Principal) (Viewer, error) {
	v := Viewer{UserID: p.User.ID, Manager: p.Is(auth.RoleAdmin)}
	if !v.Manager && !p.User.Guest {
		m, err := h.svc.IsManager(ctx, p.User.ID)
		if err != nil {
			return v, err
		}
		v.Manager = m
	}
	return v, nil
}

func (h *HTTP) listQueues(w http.ResponseWriter, r *http.Request) error {
	p, err := h.agent(r)
	if err != nil {
		return err
	}
	qs, err := h.svc.Queues(r.Context())
	if err != nil {
		return err
	}
	v, err := h.viewer(r.Context(), p)
	if err != nil {
		return err
	}
	for i := range qs {
		if !v.Manager {
			qs[i] = qs[i].Public()
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": qs})
}

func (h *HTTP) createQueue(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	var in QueueInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	q, err := h.svc.CreateQueue(r.Context(), in)
	if err != nil {
		return problem(err)
	}
	w.Header().Set("Location", "/api/v1/desk/queues/"+q.ID)
	return httpx.WriteJSON(w, http.StatusCreated, q)
}

func (h *HTTP) getQueue(w http.ResponseWriter, r *http.Request) error {
	p, err := h.agent(r)
	if err != nil {
		return err
	}
	q, err := h.svc.Queue(r.Context(), r.PathValue("id"))
	if err != nil {
		return problem(err)
	}
	if v, err := h.viewer(r.Context(), p); err != nil {
		return err
	} else if !v.Manager {
		q = q.Public()
	}
	return httpx.WriteJSON(w, http.StatusOK, q)
}

func (h *HTTP) updateQueue(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	var in QueueInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	q, err := h.svc.UpdateQueue(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, q)
}

// QueueStatus is what a widget shows before anyone presses Help.
type QueueStatus struct {
	Key                  string     `json:"key"`
	Name                 string     `json:"name"`
	Channels             []string   `json:"channels"`
	Open                 bool       `json:"open"`
	AgentsOnline         int        `json:"agents_online"`
	Waiting              int        `json:"waiting"`
	EstimatedWaitSeconds int        `json:"estimated_wait_seconds"`
	WhenClosed           string     `json:"when_closed"`
	NextOpen             *time.Time `json:"next_open"`
}

// ownOrigin reports whether the browser's Origin is this server's own.
func ownOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (h *HTTP) queueStatus(w http.ResponseWriter, r *http.Request) error {
	q, err := h.svc.Queue(r.Context(), r.PathValue("id"))
	if err != nil {
		return problem(err)
	}
	if !ownOrigin(r) && !q.AllowsOrigin(r.Header.Get("Origin")) {
		return problem(ErrOriginDenied)
	}
	st, err := h.svc.Status(r.Context(), q)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, st)
}

func (h *HTTP) listAgents(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	as, err := h.svc.Agents(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": as})
}

func (h *HTTP) setAgent(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("id") == "me" { // GET /desk/agents/me is one's own; nobody sets their own queues
		w.Header().Set("Allow", "GET")
		return httpx.NewProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "PUT is not allowed here")
	}
	if _, err := h.manager(r); err != nil {
		return err
	}
	var in AgentInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	a, err := h.svc.SetAgent(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *HTTP) me(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	a, err := h.svc.Agent(r.Context(), p.User.ID)
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *HTTP) setStatus(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	a, err := h.svc.SetStatus(r.Context(), p.User.ID, in.Status)
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *HTTP) mySessions(w http.ResponseWriter, r *http.Request) error {
	p, err := h.agent(r)
	if err != nil {
		return err
	}
	rs, err := h.svc.Sessions(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": rs})
}

func (h *HTTP) offers(w http.ResponseWriter, r *http.Request) error {
	p, err := h.agent(r)
	if err != nil {
		return err
	}
	os, err := h.svc.Offers(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": os})
}

func (h *HTTP) accept(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	req, err := h.svc.Accept(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, req)
}

func (h *HTTP) decline(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if err := h.svc.Decline(r.Context(), p.User.ID, r.PathValue("id")); err != nil {
		return problem(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) open(w http.ResponseWriter, r *http.Request) error {
	var in RequestInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	caller := Caller{Origin: r.Header.Get("Origin"), Own: ownOrigin(r)}
	if p := auth.FromContext(r.Context()); p != nil && !p.User.Guest {
		caller.User = &p.User
	}
	req, err := h.svc.Open(r.Context(), caller, in)
	if err != nil {
		return problem(err)
	}
	w.Header().Set("Location", "/api/v1/desk/requests/"+req.ID)
	return httpx.WriteJSON(w, http.StatusCreated, req)
}

func (h *HTTP) getRequest(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	v, err := h.viewer(r.Context(), p)
	if err != nil {
		return err
	}
	req, err := h.svc.Get(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, req)
}

// requestAction serves a POST on one request by its caller.
func (h *HTTP) requestAction(fn func(ctx context.Context, userID, id string) (Request, error)) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r)
		if err != nil {
			return err
		}
		req, err := fn(r.Context(), p.User.ID, r.PathValue("id"))
		if err != nil {
			return problem(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, req)
	}
}

func (h *HTTP) cancel(w http.ResponseWriter, r *http.Request) error {
	return h.requestAction(h.svc.Cancel)(w, r)
}

func (h *HTTP) end(w http.ResponseWriter, r *http.Request) error {
	return h.requestAction(h.svc.End)(w, r)
}

func (h *HTTP) wrapUp(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code  string `json:"code"`
		Notes string `json:"notes"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	return h.requestAction(func(ctx context.Context, userID, id string) (Request, error) {
		return h.svc.WrapUp(ctx, userID, id, in.Code, in.Notes)
	})(w, r)
}

func (h *HTTP) notes(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Notes string `json:"notes"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	return h.requestAction(func(ctx context.Context, userID, id string) (Request, error) {
		return h.svc.SetNotes(ctx, userID, id, in.Notes)
	})(w, r)
}

func (h *HTTP) transfer(w http.ResponseWriter, r *http.Request) error {
	var in TransferInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	return h.requestAction(func(ctx context.Context, userID, id string) (Request, error) {
		return h.svc.Transfer(ctx, userID, id, in)
	})(w, r)
}

func (h *HTTP) rate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Score   int    `json:"score"`
		Comment string `json:"comment"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	return h.requestAction(func(ctx context.Context, userID, id string) (Request, error) {
		return h.svc.Rate(ctx, userID, id, in.Score, in.Comment)
	})(w, r)
}

func (h *HTTP) wallboard(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	wb, err := h.svc.Wallboards(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": wb, "at": h.svc.now()})
}

func (h *HTTP) report(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	q, err := h.svc.Queue(r.Context(), r.PathValue("id"))
	if err != nil {
		return problem(err)
	}
	today := h.svc.now().In(q.hours.Location()).Format(time.DateOnly)
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" {
		from = today
	}
	if to == "" {
		to = from
	}
	days, err := h.svc.Report(r.Context(), q.ID, from, to)
	if err != nil {
		return problem(err)
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return httpx.Invalid(httpx.FieldError{Field: "format", Detail: "json or csv"})
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+q.Key+`-`+from+`-`+to+`.csv"`)
		return WriteCSV(w, q.Key, days)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"queue_id": q.ID, "time_zone": q.Hours.TimeZone, "days": days})
}

func (h *HTTP) staffing(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.agent(r); err != nil {
		return err
	}
	var in struct {
		CallsPerHour      float64  `json:"calls_per_hour"`
		HandleTimeSeconds float64  `json:"handle_time_seconds"`
		ServiceLevel      *float64 `json:"service_level"`
		AnswerTimeSeconds float64  `json:"answer_time_seconds"`
		Agents            int      `json:"agents"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	wl := Workload{CallsPerHour: in.CallsPerHour, HandleTime: time.Duration(in.HandleTimeSeconds * float64(time.Second)),
		AnswerTime: time.Duration(in.AnswerTimeSeconds * float64(time.Second))}
	var (
		st  Staffing
		err error
	)
	switch {
	case in.Agents < 0:
		return httpx.Invalid(httpx.FieldError{Field: "agents", Detail: "a number of agents, or leave it out to find how many are needed"})
	case in.Agents > 0:
		st, err = StaffingWith(wl, in.Agents)
	case in.ServiceLevel == nil:
		wl.ServiceLevel = -1 // reported with the other fields' errors
		_, err = AgentsNeeded(wl)
	default:
		wl.ServiceLevel = *in.ServiceLevel
		st, err = AgentsNeeded(wl)
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		// Name the fields as the request body does.
		for i, f := range ve.Fields {
			switch f.Field {
			case "handle_time":
				ve.Fields[i].Field = "handle_time_seconds"
			case "answer_time":
				ve.Fields[i].Field = "answer_time_seconds"
			}
		}
	}
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"agents": st.Agents, "traffic_erlangs": st.Traffic, "wait_probability": st.WaitProbability,
		"service_level": st.ServiceLevel, "average_speed_of_answer_seconds": st.AverageSpeedOfAnswer.Seconds(), "occupancy": st.Occupancy,
	})
}

func (h *HTTP) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	ws, err := h.svc.Webhooks(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ws})
}

func (h *HTTP) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	wh, err := h.svc.CreateWebhook(r.Context(), in.URL, in.Events)
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, wh)
}

func (h *HTTP) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	if err := h.svc.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return problem(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) deliveries(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.manager(r); err != nil {
		return err
	}
	ds, err := h.svc.Deliveries(r.Context(), r.PathValue("id"), 100)
	if err != nil {
		return problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ds})
}
