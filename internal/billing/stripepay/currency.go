package stripepay

import (
	"fmt"
	"strings"

	"github.com/parley-chat/parley/internal/billing"
)

// Stripe counts amounts in "the smallest currency unit", which is not
// always the ISO 4217 minor unit billing.Money is written in: Stripe treats
// ISK, COP, IDR, LBP and others as two-decimal currencies where ISO 4217
// (CLDR) says zero decimals, so 500 ISK in billing is 50000 at Stripe.
// Stripe's own list decides: the zero-decimal currencies below, the
// three-decimal ones, and two decimals for every other currency.
// https://docs.stripe.com/currencies#zero-decimal

var stripeZeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true,
	"KRW": true, "MGA": true, "PYG": true, "RWF": true, "UGX": true, "VND": true,
	"VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// Stripe accepts three-decimal amounts only with a last digit of 0.
var stripeThreeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

func stripeDigits(code string) int {
	switch {
	case stripeZeroDecimal[code]:
		return 0
	case stripeThreeDecimal[code]:
		return 3
	}
	return 2
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// toStripe converts m to Stripe's amount and lower-case currency code. It
// refuses an amount that Stripe cannot represent exactly (never rounds):
// money either moves exactly or not at all.
func toStripe(m billing.Money, allowZero bool) (int64, string, error) {
	code, iso, err := billing.CheckCurrency(m.Currency)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %q", err, m.Currency)
	}
	if m.Amount < 0 || (m.Amount == 0 && !allowZero) || m.Amount > billing.MaxAmount {
		return 0, "", fmt.Errorf("%w: %d %s", billing.ErrAmount, m.Amount, code)
	}
	amount := m.Amount
	if d := stripeDigits(code) - iso; d >= 0 {
		amount *= pow10(d) // at most 10^15 × 10^3: no overflow
	} else {
		p := pow10(-d)
		if amount%p != 0 {
			return 0, "", fmt.Errorf("%w: %d %s has finer units than Stripe accepts", billing.ErrAmount, m.Amount, code)
		}
		amount /= p
	}
	if stripeThreeDecimal[code] && amount%10 != 0 {
		return 0, "", fmt.Errorf("%w: Stripe takes %s amounts in multiples of 10 (%d)", billing.ErrAmount, code, m.Amount)
	}
	return amount, strings.ToLower(code), nil
}

// fromStripe converts a Stripe amount back to billing.Money, refusing one
// that is not a whole number of ISO minor units (a fractional ISK charge
// made before 2023, say).
func fromStripe(amount int64, cur string) (billing.Money, error) {
	code, iso, err := billing.CheckCurrency(strings.ToUpper(cur))
	if err != nil {
		return billing.Money{}, fmt.Errorf("%w: %q", err, cur)
	}
	if d := stripeDigits(code) - iso; d >= 0 {
		p := pow10(d)
		if amount%p != 0 {
			return billing.Money{}, fmt.Errorf("%w: Stripe amount %d %s is not a whole number of minor units", billing.ErrAmount, amount, code)
		}
		amount /= p
	} else {
		amount *= pow10(-d)
	}
	return billing.Money{Amount: amount, Currency: code}, nil
}
