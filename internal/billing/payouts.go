package billing

import (
	"context"

	"github.com/parley-chat/parley/internal/db"
)

// PayOutDue pays every payee, in every currency, whose payable balance
// reaches minimum (in that currency's minor units): the scheduled payout
// run. Nodes running it at once pay each payee once: PayOut locks the
// payee's account and pays what it then holds.
func (s *Service) PayOutDue(ctx context.Context, minimum int64) ([]PaidOut, error) {
	currencies, err := db.Strings(ctx, s.db, `SELECT DISTINCT currency FROM billing_accounts WHERE kind = 'payable' AND balance > 0 ORDER BY currency`)
	if err != nil {
		return nil, err
	}
	var out []PaidOut
	for _, cur := range currencies {
		paid, err := s.PayOutAll(ctx, cur, minimum)
		out = append(out, paid...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
