package market

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
)

// confirmBooking completes a booking whose card asked the learner to
// authenticate (3-D Secure), once they are back from their bank.
func (h *HTTP) confirmBooking(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.Need(r)
	if err != nil {
		return err
	}
	se, err := h.svc.ConfirmBooking(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return Problem(err)
	}
	w.Header().Set("Location", "/api/v1/market/sessions/"+se.ID)
	return httpx.WriteJSON(w, http.StatusOK, se)
}

// HoldCanceled lets go of a session whose card hold the payment provider
// cancelled outside Parley (in Stripe's dashboard): a session still booked
// or ringing is cancelled without a fee (its release recorded); one going
// on or over is left as it is and logged for the operator. Idempotent: a
// session already let go of is not touched again.
func (s *Service) HoldCanceled(ctx context.Context, authID string) error {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT s.id FROM market_sessions s JOIN billing_provider_holds p ON p.hold_id = s.hold_id
		WHERE p.auth_id = $1`, authID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	se, err := s.session(ctx, s.db, id)
	if err != nil {
		return err
	}
	switch se.Status {
	case Booked, Ringing:
	case Active:
		s.cfg.Log.Error("market: a session's card hold was cancelled at the payment provider while it goes on", "session", id, "auth", authID)
		return nil
	default:
		return nil
	}
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_sessions SET status = 'cancelled', ended_at = $1, ended_by = 'provider'
			WHERE id = $2 AND status IN ('booked', 'ringing')`, s.now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.settleFee(ctx, tx, se, 0)
	}); err != nil {
		return err
	}
	s.flush(ctx, se.holdID)
	return nil
}
