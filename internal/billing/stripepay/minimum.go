package stripepay

import (
	"strings"

	"github.com/parley-chat/parley/internal/billing"
)

// minimumCharge is Stripe's minimum charge amount per currency, in ISO
// 4217 minor units (docs.stripe.com/currencies, "Minimum and maximum
// charge amounts"): Stripe refuses a PaymentIntent, or a capture, below
// it. The table is Stripe's for the currencies it lists; for the others
// Stripe asks for the equivalent of 0.50 USD in the platform's settlement
// currency at the day's rate, which Parley cannot know, so the listing
// defaults below are Parley's own conservative choices (above 0.50 USD at
// any recent rate), marked as such.
var minimumCharge = map[string]int64{
	"USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50,
	"CZK": 1500, "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500,
	"INR": 50, "JPY": 50, "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50,
	"PLN": 200, "RON": 200, "SEK": 300, "SGD": 50, "THB": 1000,
	// Parley's choices (not in Stripe's table):
	"KRW": 1000,
}

// MinimumCharge is the smallest amount Stripe charges in a currency, in
// ISO minor units; a currency Stripe's table does not list and Parley has
// no choice for is 0 (Stripe decides, and a refusal is billing.ErrAmount).
func (p *Provider) MinimumCharge(currency string) int64 {
	return MinimumCharge(currency)
}

// MinimumCharge is Provider.MinimumCharge without a provider.
func MinimumCharge(currency string) int64 {
	return minimumCharge[strings.ToUpper(currency)]
}

var _ interface{ MinimumCharge(string) int64 } = (*Provider)(nil)

// BelowMinimum says whether a positive amount is under Stripe's minimum.
func BelowMinimum(m billing.Money) bool {
	return m.Amount > 0 && m.Amount < MinimumCharge(m.Currency)
}
