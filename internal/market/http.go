package market

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// HTTP serves the marketplace's API.
type HTTP struct {
	svc     *Service
	MaxBody int64
}

// NewHTTP binds handlers to the service.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc, MaxBody: httpx.DefaultMaxBody} }

// Routes registers the marketplace's API.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("GET /api/v1/market/categories", h.categories)
	rt.Handle("PUT /api/v1/market/categories/{key}", h.putCategory)
	rt.Handle("POST /api/v1/market/experts/apply", h.apply)
	rt.Handle("POST /api/v1/market/media", h.uploadMedia)
	rt.Handle("GET /api/v1/market/media/{id}", h.media)
	rt.Handle("GET /api/v1/market/experts", h.experts)
	rt.Handle("GET /api/v1/market/experts/me", h.me)
	rt.Handle("GET /api/v1/market/experts/me/listings", h.myListings)
	rt.Handle("GET /api/v1/market/experts/{id}", h.expert)
	rt.Handle("POST /api/v1/market/experts/{id}/approve", h.reviewExpert(true))
	rt.Handle("POST /api/v1/market/experts/{id}/decisions", h.reviewExpert(false))
	rt.Handle("GET /api/v1/market/experts/{id}/decisions", h.decisions("expert"))
	rt.Handle("GET /api/v1/market/listings", h.search)
	rt.Handle("POST /api/v1/market/listings", h.createListing)
	rt.Handle("GET /api/v1/market/listings/{id}", h.listing)
	rt.Handle("PUT /api/v1/market/listings/{id}", h.updateListing)
	rt.Handle("POST /api/v1/market/listings/{id}/approve", h.reviewListing(true))
	rt.Handle("POST /api/v1/market/listings/{id}/decisions", h.reviewListing(false))
	rt.Handle("GET /api/v1/market/listings/{id}/decisions", h.decisions("listing"))
	rt.Handle("GET /api/v1/market/listings/{id}/slots", h.slots)
	rt.Handle("GET /api/v1/market/listings/{id}/reviews", h.reviews)
	rt.Handle("PUT /api/v1/market/experts/me/availability", h.setAvailability)
	rt.Handle("GET /api/v1/market/experts/me/availability", h.availability)
	rt.Handle("POST /api/v1/market/bookings", h.book)
	rt.Handle("POST /api/v1/market/bookings/{id}/confirm", h.confirmBooking)
	rt.Handle("GET /api/v1/market/sessions", h.sessions)
	rt.Handle("GET /api/v1/market/sessions/{id}", h.session)
	rt.Handle("POST /api/v1/market/sessions/{id}/join", h.sessionAction(h.svc.Join))
	rt.Handle("POST /api/v1/market/sessions/{id}/end", h.sessionAction(h.svc.End))
	rt.Handle("POST /api/v1/market/sessions/{id}/cancel", h.sessionAction(h.svc.Cancel))
	rt.Handle("POST /api/v1/market/sessions/{id}/extend", h.extend)
	rt.Handle("POST /api/v1/market/sessions/{id}/reschedule", h.reschedule)
	rt.Handle("POST /api/v1/market/sessions/{id}/refunds", h.refund)
	rt.Handle("POST /api/v1/market/sessions/{id}/review", h.review)
	rt.Handle("POST /api/v1/market/sessions/{id}/review/reply", h.reply)
	rt.Handle("POST /api/v1/market/sessions/{id}/claims", h.claim)
	rt.Handle("GET /api/v1/market/claims", h.claims)
	rt.Handle("POST /api/v1/market/claims/{id}/approve", h.decideClaim(true))
	rt.Handle("POST /api/v1/market/claims/{id}/reject", h.decideClaim(false))
	rt.Handle("POST /api/v1/market/reviews/{id}/hide", h.hideReview)
	rt.Handle("GET /api/v1/market/contact-flags", h.contactFlags)
}

func (h *HTTP) categories(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.svc.Categories(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

func (h *HTTP) putCategory(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	// Every field is required: a rename must not reset a commission to 0.
	var in struct {
		Name          string `json:"name"`
		CommissionBps *int   `json:"commission_bps"`
		Health        *bool  `json:"health"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	var v httpx.Validator
	v.Check(in.CommissionBps != nil, "commission_bps", "required")
	v.Check(in.Health != nil, "health", "required")
	if err := v.Err(); err != nil {
		return err
	}
	c, err := h.svc.PutCategory(r.Context(), Category{Key: r.PathValue("key"), Name: in.Name, CommissionBps: *in.CommissionBps, Health: *in.Health})
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

func (h *HTTP) apply(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in Application
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	e, err := h.svc.Apply(r.Context(), p.User.ID, in)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, e)
}

func (h *HTTP) experts(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", Pending, Approved, Rejected, ChangesRequested, Suspended:
	default:
		return httpx.Invalid(httpx.FieldError{Field: "status", Detail: "pending, approved, rejected, changes_requested or suspended"})
	}
	es, err := h.svc.Experts(r.Context(), status)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": es})
}

func (h *HTTP) me(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	e, err := h.svc.Expert(r.Context(), p.User.ID)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, e)
}

// expert shows an approved expert's public profile to anyone, and any
// profile to its owner or an operator.
func (h *HTTP) expert(w http.ResponseWriter, r *http.Request) error {
	e, err := h.svc.Expert(r.Context(), r.PathValue("id"))
	if err != nil {
		return Problem(err)
	}
	p := auth.FromContext(r.Context())
	mine := p != nil && (p.User.ID == e.UserID || p.Is(auth.RoleAdmin))
	if !mine {
		if e.Status != Approved {
			return httpx.NotFound()
		}
		e.LicenceNumber, e.Credentials = "", "" // the operator checked them; the public sees the jurisdiction
	}
	return httpx.WriteJSON(w, http.StatusOK, e)
}

type decisionInput struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// decodeDecision reads {decision, reason}, or only {reason} for the
// /approve shorthand (an empty body is fine there).
func (h *HTTP) decodeDecision(w http.ResponseWriter, r *http.Request, approve bool) (decisionInput, error) {
	var in decisionInput
	if approve {
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := httpx.DecodeJSON(w, r, h.MaxBody, &body); err != nil {
				return in, err
			}
		}
		return decisionInput{Decision: "approve", Reason: body.Reason}, nil
	}
	err := httpx.DecodeJSON(w, r, h.MaxBody, &in)
	return in, err
}

func (h *HTTP) reviewExpert(approve bool) httpx.HandlerFunc {
	return h.decide(approve, func(ctx context.Context, operator, id string, in decisionInput) (any, error) {
		return h.svc.ReviewExpert(ctx, operator, id, in.Decision, in.Reason)
	})
}

func (h *HTTP) reviewListing(approve bool) httpx.HandlerFunc {
	return h.decide(approve, func(ctx context.Context, operator, id string, in decisionInput) (any, error) {
		return h.svc.ReviewListing(ctx, operator, id, in.Decision, in.Reason)
	})
}

// decide serves an operator's review decision on {id}: the body's, or
// "approve" for the /approve shorthand.
func (h *HTTP) decide(approve bool, fn func(ctx context.Context, operator, id string, in decisionInput) (any, error)) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r, auth.RoleAdmin)
		if err != nil {
			return err
		}
		in, err := h.decodeDecision(w, r, approve)
		if err != nil {
			return err
		}
		out, err := fn(r.Context(), p.User.ID, r.PathValue("id"), in)
		if err != nil {
			return Problem(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, out)
	}
}

func (h *HTTP) decisions(subject string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		owner := id
		if subject == "listing" {
			l, err := h.svc.listing(r.Context(), id)
			if err != nil {
				return Problem(err)
			}
			owner = l.ExpertID
		} else if _, err := h.svc.Expert(r.Context(), id); err != nil {
			return Problem(err)
		}
		if p.User.ID != owner && !p.Is(auth.RoleAdmin) {
			return httpx.NotFound()
		}
		ds, err := h.svc.Decisions(r.Context(), subject, id)
		if err != nil {
			return err
		}
		return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ds})
	}
}

func (h *HTTP) search(w http.ResponseWriter, r *http.Request) error {
	qv := r.URL.Query()
	q := Query{Text: qv.Get("q"), Category: qv.Get("category"), PriceModel: qv.Get("price_model"), Currency: qv.Get("currency"),
		Language: qv.Get("language"), Sort: qv.Get("sort"), Cursor: qv.Get("cursor")}
	var v httpx.Validator
	switch qv.Get("available_now") {
	case "", "false":
	case "true":
		q.AvailableNow = true
	default:
		v.Check(false, "available_now", "true or false")
	}
	// The operator's review queue: listings in a status (admins only).
	if status := qv.Get("status"); status != "" {
		p := auth.FromContext(r.Context())
		if p == nil || !p.Is(auth.RoleAdmin) {
			return httpx.Forbidden("only operators list listings by review status")
		}
		switch status {
		case Pending, Approved, Rejected, ChangesRequested, Suspended, Withdrawn:
			q.Status = status
		default:
			v.Check(false, "status", "pending, approved, rejected, changes_requested, suspended or withdrawn")
		}
	}
	parseInt := func(field string) *int64 {
		s := qv.Get(field)
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		v.Check(err == nil && n >= 0, field, "a whole number of minor units, 0 or more")
		return &n
	}
	q.MinPrice, q.MaxPrice = parseInt("min_price"), parseInt("max_price")
	if s := qv.Get("min_rating"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		v.Check(err == nil, "min_rating", "a number from 0 to 5")
		q.MinRating = f
	}
	limit, err := httpx.PageLimit(r, 20, 100)
	if err != nil {
		return err
	}
	q.Limit = limit
	if err := v.Err(); err != nil {
		return err
	}
	ls, next, err := h.svc.Search(r.Context(), q)
	if err != nil {
		return Problem(err)
	}
	return writePage(w, ls, next)
}

func writePage(w http.ResponseWriter, items []Listing, next string) error {
	out := map[string]any{"items": items, "more": next != ""}
	if next != "" {
		out["next"] = next
	}
	return httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *HTTP) myListings(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	ls, next, err := h.svc.Search(r.Context(), Query{ExpertID: p.User.ID, Status: r.URL.Query().Get("status"), Cursor: r.URL.Query().Get("cursor"), Limit: 100})
	if err != nil {
		return Problem(err)
	}
	return writePage(w, ls, next)
}

func (h *HTTP) createListing(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in ListingInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if err := h.svc.CheckPublish(r.Context(), p.User.ID, in.PriceModel); err != nil {
		return Problem(err)
	}
	l, err := h.svc.CreateListing(r.Context(), p.User.ID, in)
	if err != nil {
		return Problem(err)
	}
	w.Header().Set("Location", "/api/v1/market/listings/"+l.ID)
	return httpx.WriteJSON(w, http.StatusCreated, l)
}

func (h *HTTP) listing(w http.ResponseWriter, r *http.Request) error {
	viewer, operator := "", false
	if p := auth.FromContext(r.Context()); p != nil {
		viewer, operator = p.User.ID, p.Is(auth.RoleAdmin)
	}
	l, err := h.svc.Listing(r.Context(), viewer, operator, r.PathValue("id"))
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, l)
}

func (h *HTTP) updateListing(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in ListingInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if err := h.svc.CheckPublish(r.Context(), p.User.ID, in.PriceModel); err != nil {
		return Problem(err)
	}
	l, err := h.svc.UpdateListing(r.Context(), p.User.ID, r.PathValue("id"), in)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, l)
}

func (h *HTTP) slots(w http.ResponseWriter, r *http.Request) error {
	from := h.svc.now()
	if v := r.URL.Query().Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return httpx.Invalid(httpx.FieldError{Field: "from", Detail: "an RFC 3339 time"})
		}
		from = maxTime(from, t)
	}
	limit, err := httpx.PageLimit(r, 20, 100)
	if err != nil {
		return err
	}
	ts, err := h.svc.FreeSlots(r.Context(), r.PathValue("id"), from, limit)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ts})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (h *HTTP) reviews(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.svc.Listing(r.Context(), "", false, r.PathValue("id")); err != nil {
		return Problem(err)
	}
	rs, err := h.svc.Reviews(r.Context(), r.PathValue("id"), 50)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": rs})
}

func (h *HTTP) setAvailability(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in Availability
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	a, err := h.svc.SetAvailability(r.Context(), p.User.ID, in)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *HTTP) availability(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if _, err := h.svc.Expert(r.Context(), p.User.ID); err != nil {
		return Problem(err)
	}
	a, _, err := h.svc.AvailabilityOf(r.Context(), h.svc.db, p.User.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *HTTP) book(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in BookingInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	se, err := h.svc.Book(r.Context(), p.User.ID, in)
	if err != nil {
		return Problem(err)
	}
	w.Header().Set("Location", "/api/v1/market/sessions/"+se.ID)
	return httpx.WriteJSON(w, http.StatusCreated, se)
}

func (h *HTTP) sessions(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	ss, err := h.svc.Sessions(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": ss})
}

// sessionViewer is the learner or expert, or "" for an operator.
func sessionViewer(p *auth.Principal) string {
	if p.Is(auth.RoleAdmin) {
		return ""
	}
	return p.User.ID
}

func (h *HTTP) session(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	se, err := h.svc.Session(r.Context(), sessionViewer(p), r.PathValue("id"))
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, se)
}

func (h *HTTP) sessionAction(fn func(ctx context.Context, userID, id string) (Session, error)) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r)
		if err != nil {
			return err
		}
		se, err := fn(r.Context(), p.User.ID, r.PathValue("id"))
		if err != nil {
			return Problem(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, se)
	}
}

func (h *HTTP) extend(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Minutes int `json:"minutes"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	return h.sessionAction(func(ctx context.Context, userID, id string) (Session, error) {
		return h.svc.Extend(ctx, userID, id, in.Minutes)
	})(w, r)
}

func (h *HTTP) reschedule(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Start *time.Time `json:"start"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if in.Start == nil {
		return httpx.Invalid(httpx.FieldError{Field: "start", Detail: "required: the new start (RFC 3339)"})
	}
	return h.sessionAction(func(ctx context.Context, userID, id string) (Session, error) {
		return h.svc.Reschedule(ctx, userID, id, *in.Start)
	})(w, r)
}

func (h *HTTP) refund(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Amount int64  `json:"amount"`
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if in.Amount < 0 {
		return httpx.Invalid(httpx.FieldError{Field: "amount", Detail: "0 (all that is left) or more"})
	}
	if in.Reason == "guarantee" {
		return httpx.Invalid(httpx.FieldError{Field: "reason", Detail: "guarantee refunds come from an approved claim"})
	}
	se, err := h.svc.Refund(r.Context(), sessionViewer(p), r.PathValue("id"), in.Amount, in.Reason)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, se)
}

func (h *HTTP) review(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Score int    `json:"score"`
		Body  string `json:"body"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	rv, err := h.svc.AddReview(r.Context(), p.User.ID, r.PathValue("id"), in.Score, in.Body)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, rv)
}

func (h *HTTP) reply(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if err := h.svc.Reply(r.Context(), p.User.ID, r.PathValue("id"), in.Body); err != nil {
		return Problem(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) claim(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	c, err := h.svc.ClaimGuarantee(r.Context(), p.User.ID, r.PathValue("id"), in.Reason)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, c)
}

func (h *HTTP) claims(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	cs, err := h.svc.Claims(r.Context(), r.URL.Query().Get("status"))
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

func (h *HTTP) decideClaim(approve bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r, auth.RoleAdmin)
		if err != nil {
			return err
		}
		var in struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
				return err
			}
		}
		c, err := h.svc.DecideClaim(r.Context(), p.User.ID, r.PathValue("id"), approve, in.Reason)
		if err != nil {
			return Problem(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, c)
	}
}

func (h *HTTP) hideReview(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r, auth.RoleAdmin)
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	if err := h.svc.HideReview(r.Context(), p.User.ID, r.PathValue("id"), in.Reason); err != nil {
		return Problem(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) uploadMedia(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if r.ContentLength > MaxVideoBytes {
		return httpx.TooLarge(MaxVideoBytes)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxVideoBytes+1)
	m, err := h.svc.UploadMedia(r.Context(), p.User.ID, r.Body)
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return httpx.TooLarge(MaxVideoBytes)
	}
	if err != nil {
		return Problem(err)
	}
	w.Header().Set("Location", "/api/v1/market/media/"+m.ID)
	return httpx.WriteJSON(w, http.StatusCreated, m)
}

// media serves a photo or video inline — only the sniffed raster and video
// types are ever stored — with ranges (a video seeks), nosniff and a
// sandboxing CSP.
func (h *HTTP) media(w http.ResponseWriter, r *http.Request) error {
	viewer, operator := "", false
	if p := auth.FromContext(r.Context()); p != nil {
		viewer, operator = p.User.ID, p.Is(auth.RoleAdmin)
	}
	m, f, err := h.svc.OpenMedia(r.Context(), viewer, operator, r.PathValue("id"))
	if err != nil {
		return Problem(err)
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", m.ContentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Content-Disposition", "inline")
	hd.Set("Cache-Control", "private, no-cache")
	hd.Set("ETag", `"`+m.ID+`"`)
	http.ServeContent(w, r, "", m.CreatedAt, f)
	return nil
}

func (h *HTTP) contactFlags(w http.ResponseWriter, r *http.Request) error {
	if _, err := auth.Need(r, auth.RoleAdmin); err != nil {
		return err
	}
	fs, err := h.svc.ContactFlags(r.Context(), 200)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": fs})
}
