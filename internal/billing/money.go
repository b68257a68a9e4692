// Package billing keeps the money: a double-entry ledger in integer minor
// units, holds set aside before paid time, settlements split between an
// expert and the platform's commission, pro-rata refunds and payouts. The
// built-in wallet is the zero-configuration payment provider; outside
// providers (Stripe) move real money and post the same entries here.
package billing

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"golang.org/x/text/currency"
)

// Money is an amount in a currency's minor units (cents for USD, yen for
// JPY), as the API writes it: {"amount": 1234, "currency": "USD"}.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func (m Money) String() string { return fmt.Sprintf("%d %s", m.Amount, m.Currency) }

// ErrCurrency is a currency code that is not an ISO 4217 currency.
var ErrCurrency = errors.New("billing: not an ISO 4217 currency")

// CheckCurrency returns the ISO 4217 code in canonical form and its number
// of minor-unit digits (2 for USD, 0 for JPY, 3 for BHD).
func CheckCurrency(code string) (string, int, error) {
	if len(code) != 3 {
		return "", 0, ErrCurrency
	}
	u, err := currency.ParseISO(code)
	if err != nil || u == currency.XXX || u == currency.XTS {
		return "", 0, ErrCurrency // "no currency" and the testing code are not money
	}
	scale, _ := currency.Standard.Rounding(u)
	return u.String(), scale, nil
}

// MaxAmount bounds any single amount: 10^15 minor units is ten trillion
// dollars, far past any price, and keeps every product below in int64.
const MaxAmount = 1_000_000_000_000_000

// BasisPoints is a rate in hundredths of a percent: 2000 is 20 %.
type BasisPoints int64

// Commission is the platform's share of amount at rate, rounded half up
// to the minor unit — the one rounding rule of commissions: 1,005 cents at
// 20 % is 201 cents (200.5 rounds up), 1,004 is 201 (200.8), 1,002 is 200
// (200.4). The expert's share is the rest, so the two always add up to the
// amount exactly.
func Commission(amount int64, rate BasisPoints) int64 {
	return mulDivHalfUp(amount, int64(rate), 10_000)
}

// ProRata is part of whole's share that a refund of part reverses:
// share × part ÷ whole, rounded half up — and the whole share when the
// whole is refunded, so a full refund (or refunds adding up to it) always
// gives back exactly the share.
func ProRata(share, part, whole int64) int64 {
	if whole == 0 || part >= whole {
		return share
	}
	return mulDivHalfUp(share, part, whole)
}

// mulDivHalfUp is a × b ÷ c rounded half up, for non-negative a, b and
// positive c, exact for any int64 inputs.
func mulDivHalfUp(a, b, c int64) int64 {
	if a <= math.MaxInt32 && b <= math.MaxInt32 {
		return (a*b + c/2) / c
	}
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	n.Add(n, big.NewInt(c/2))
	return n.Quo(n, big.NewInt(c)).Int64()
}
