package chat

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/httpx"
)

// DefaultMaxUpload is the default limit on one attachment.
const DefaultMaxUpload = 25 << 20

// HTTP serves the messenger's REST API.
type HTTP struct {
	svc       *Service
	Blobs     blob.Store
	MaxUpload int64
	MaxBody   int64
}

// NewHTTP binds handlers to the service and a store for attachments.
func NewHTTP(svc *Service, blobs blob.Store) *HTTP {
	return &HTTP{svc: svc, Blobs: blobs, MaxUpload: DefaultMaxUpload, MaxBody: httpx.DefaultMaxBody}
}

// Routes registers the messenger's API.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("GET /api/v1/conversations", h.list)
	rt.Handle("POST /api/v1/conversations", h.create)
	rt.Handle("GET /api/v1/conversations/{id}", h.get)
	rt.Handle("PATCH /api/v1/conversations/{id}", h.rename)
	rt.Handle("GET /api/v1/conversations/{id}/members", h.members)
	rt.Handle("POST /api/v1/conversations/{id}/members", h.addMember)
	rt.Handle("DELETE /api/v1/conversations/{id}/members/{user}", h.removeMember)
	rt.Handle("GET /api/v1/conversations/{id}/messages", h.messages)
	rt.Handle("POST /api/v1/conversations/{id}/messages", h.send)
	rt.Handle("PATCH /api/v1/conversations/{id}/messages/{message}", h.edit)
	rt.Handle("DELETE /api/v1/conversations/{id}/messages/{message}", h.delete)
	rt.Handle("PUT /api/v1/conversations/{id}/messages/{message}/reactions/{emoji}", h.react(true))
	rt.Handle("DELETE /api/v1/conversations/{id}/messages/{message}/reactions/{emoji}", h.react(false))
	rt.Handle("POST /api/v1/conversations/{id}/read", h.read)
	rt.Handle("GET /api/v1/conversations/{id}/events", h.events)
	rt.Handle("GET /api/v1/search", h.search)
	rt.Handle("POST /api/v1/conversations/{id}/attachments", h.uploadAttachment)
	rt.Handle("GET /api/v1/attachments/{id}", h.downloadAttachment)
}

// mapError turns the service's errors into problems.
func mapError(err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound()
	case errors.Is(err, ErrForbidden):
		return httpx.Forbidden("you may not do this here: messages are changed only by their author, groups only by their admins")
	case errors.Is(err, ErrNotGroup):
		return httpx.Conflict("not-a-group", "a direct conversation has exactly two people and no title")
	case errors.Is(err, ErrGroupFull):
		return httpx.Conflict("group-full", "the group has the most members allowed (1000)")
	case errors.Is(err, ErrAlreadyThere):
		return httpx.Conflict("already-member", "that person is already a member")
	}
	return err
}

func (h *HTTP) list(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	limit, err := httpx.PageLimit(r, DefaultPageLimit, 200)
	if err != nil {
		return err
	}
	var after ActivityCursor
	if _, err := httpx.DecodeCursor(r, &after); err != nil {
		return err
	}
	list, next, err := h.svc.List(r.Context(), p.User.ID, after, limit)
	if err != nil {
		return err
	}
	page := httpx.Page[Conversation]{Items: list}
	if next != nil {
		page.NextCursor = httpx.EncodeCursor(next)
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}

func (h *HTTP) create(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind    Kind     `json:"kind"`
		UserID  string   `json:"user_id"`
		Title   string   `json:"title"`
		Members []string `json:"members"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	switch in.Kind {
	case Direct:
		if in.Title != "" || len(in.Members) > 0 {
			return httpx.Invalid(httpx.FieldError{Field: "kind", Detail: "a direct conversation takes user_id only"})
		}
		c, created, err := h.svc.OpenDirect(r.Context(), p.User.ID, in.UserID)
		if err != nil {
			return mapError(err)
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return httpx.WriteJSON(w, status, c)
	case Group:
		if in.UserID != "" {
			return httpx.Invalid(httpx.FieldError{Field: "user_id", Detail: "a group takes members, not user_id"})
		}
		c, err := h.svc.CreateGroup(r.Context(), p.User.ID, in.Title, in.Members)
		if err != nil {
			return mapError(err)
		}
		return httpx.WriteJSON(w, http.StatusCreated, c)
	}
	return httpx.Invalid(httpx.FieldError{Field: "kind", Detail: "must be direct or group"})
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	c, err := h.svc.Get(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

func (h *HTTP) rename(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Title string `json:"title"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	c, err := h.svc.Rename(r.Context(), p.User.ID, r.PathValue("id"), in.Title)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

func (h *HTTP) members(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	list, err := h.svc.Members(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, httpx.Page[Member]{Items: list})
}

func (h *HTTP) addMember(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		UserID string `json:"user_id"`
		Role   Role   `json:"role"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	m, err := h.svc.AddMember(r.Context(), p.User.ID, r.PathValue("id"), in.UserID, in.Role)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, m)
}

func (h *HTTP) removeMember(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveMember(r.Context(), p.User.ID, r.PathValue("id"), r.PathValue("user")); err != nil {
		return mapError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// seqParam reads a non-negative sequence number from the query; absent is 0.
func seqParam(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		p := httpx.BadRequest(name + " must be a sequence number (a whole number, 0 or more)")
		p.Errors = []httpx.FieldError{{Field: name, Detail: "must be a whole number, 0 or more"}}
		return 0, p
	}
	return n, nil
}

// seqPage is a page of items ordered by sequence number; more says that
// another page follows in the direction asked for.
type seqPage[T any] struct {
	Items []T  `json:"items"`
	More  bool `json:"more"`
}

func (h *HTTP) messages(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	after, err := seqParam(r, "after")
	if err != nil {
		return err
	}
	before, err := seqParam(r, "before")
	if err != nil {
		return err
	}
	limit, err := httpx.PageLimit(r, DefaultPageLimit, MaxPageLimit)
	if err != nil {
		return err
	}
	msgs, more, err := h.svc.Messages(r.Context(), p.User.ID, r.PathValue("id"), MessagePage{After: after, Before: before, Limit: limit})
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, seqPage[Message]{Items: msgs, More: more})
}

func (h *HTTP) send(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in SendInput
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	m, created, err := h.svc.Send(r.Context(), p.User.ID, r.PathValue("id"), in)
	if err != nil {
		return mapError(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpx.WriteJSON(w, status, m)
}

func (h *HTTP) edit(w http.ResponseWriter, r *http.Request) error {
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
	m, err := h.svc.Edit(r.Context(), p.User.ID, r.PathValue("id"), r.PathValue("message"), in.Body)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, m)
}

func (h *HTTP) delete(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(r.Context(), p.User.ID, r.PathValue("id"), r.PathValue("message")); err != nil {
		return mapError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *HTTP) react(add bool) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r)
		if err != nil {
			return err
		}
		if err := h.svc.React(r.Context(), p.User.ID, r.PathValue("id"), r.PathValue("message"), r.PathValue("emoji"), add); err != nil {
			return mapError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (h *HTTP) read(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Seq int64 `json:"seq"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	cursor, err := h.svc.MarkRead(r.Context(), p.User.ID, r.PathValue("id"), in.Seq)
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]int64{"read_seq": cursor})
}

func (h *HTTP) events(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	after, err := seqParam(r, "after")
	if err != nil {
		return err
	}
	limit, err := httpx.PageLimit(r, 500, MaxPageLimit)
	if err != nil {
		return err
	}
	// Optional narrowing, for a thread showing its call history: only
	// events before a seq, only some types.
	var before int64
	if r.URL.Query().Has("before") {
		if before, err = seqParam(r, "before"); err != nil {
			return err
		}
	}
	types := r.URL.Query()["type"]
	for _, t := range types {
		if !KnownEventType(t) {
			return httpx.BadRequest("type: not an event type: " + t)
		}
	}
	events, more, err := h.svc.Events(r.Context(), p.User.ID, r.PathValue("id"), after, limit, EventFilter{Before: before, Types: types})
	if err != nil {
		return mapError(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, seqPage[Event]{Items: events, More: more})
}

func (h *HTTP) search(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	limit, err := httpx.PageLimit(r, 20, 100)
	if err != nil {
		return err
	}
	var after SearchCursor
	if _, err := httpx.DecodeCursor(r, &after); err != nil {
		return err
	}
	q := r.URL.Query()
	hits, next, err := h.svc.Search(r.Context(), p.User.ID, SearchQuery{
		Text: q.Get("q"), ConversationID: q.Get("conversation"), After: after, Limit: limit,
	})
	if err != nil {
		return mapError(err)
	}
	page := httpx.Page[Message]{Items: hits}
	if next != nil {
		page.NextCursor = httpx.EncodeCursor(next)
	}
	return httpx.WriteJSON(w, http.StatusOK, page)
}
