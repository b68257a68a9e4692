package calls

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// HTTP serves the calls API.
type HTTP struct {
	svc     *Service
	MaxBody int64
}

// NewHTTP binds handlers to the service.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc, MaxBody: httpx.DefaultMaxBody} }

// Routes registers the calls API.
func (h *HTTP) Routes(rt *httpx.Router) {
	rt.Handle("POST /api/v1/conversations/{id}/calls", h.start)
	rt.Handle("GET /api/v1/calls", h.live)
	rt.Handle("GET /api/v1/calls/{id}", h.get)
	rt.Handle("POST /api/v1/calls/{id}/join", h.action(h.svc.Join))
	rt.Handle("POST /api/v1/calls/{id}/decline", h.action(h.svc.Decline))
	rt.Handle("POST /api/v1/calls/{id}/leave", h.action(h.svc.Leave))
	rt.Handle("POST /api/v1/calls/{id}/end", h.action(h.svc.End))
}

// Problem maps the service's errors to problems.
func Problem(err error) error {
	var active *ActiveError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &active):
		p := httpx.Conflict("call-active", "a call is already going on in this conversation: join it")
		p.Errors = []httpx.FieldError{{Field: "call_id", Detail: active.CallID}}
		return p
	case errors.Is(err, ErrCallActive):
		return httpx.Conflict("call-active", "a call is already going on in this conversation: join it")
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound()
	case errors.Is(err, ErrEnded):
		return httpx.Conflict("call-ended", "the call has ended")
	case errors.Is(err, ErrNotAllowed):
		return httpx.Forbidden(strings.TrimPrefix(err.Error(), ErrNotAllowed.Error()+": "))
	}
	return err
}

func (h *HTTP) start(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind string `json:"kind"`
		Role string `json:"role"`
	}
	if err := httpx.DecodeJSON(w, r, h.MaxBody, &in); err != nil {
		return err
	}
	c, err := h.svc.Start(r.Context(), p.User.ID, r.PathValue("id"), in.Kind, in.Role)
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, c)
}

func (h *HTTP) live(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	cs, err := h.svc.Live(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	c, err := h.svc.Get(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return Problem(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

func (h *HTTP) action(fn func(ctx context.Context, userID, callID string) (Call, error)) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r)
		if err != nil {
			return err
		}
		c, err := fn(r.Context(), p.User.ID, r.PathValue("id"))
		if err != nil {
			return Problem(err)
		}
		return httpx.WriteJSON(w, http.StatusOK, c)
	}
}
