package stripepay

import (
	"errors"
	"testing"

	"github.com/parley-chat/parley/internal/billing"
)

// Stripe's units differ from ISO 4217's for some currencies; amounts are
// converted exactly both ways, and one Stripe cannot take is refused,
// never rounded.
func TestStripeUnits(t *testing.T) {
	for _, c := range []struct {
		m      billing.Money
		stripe int64
		cur    string
	}{
		{billing.Money{Amount: 1234, Currency: "USD"}, 1234, "usd"},
		{billing.Money{Amount: 1234, Currency: "eur"}, 1234, "eur"},
		{billing.Money{Amount: 500, Currency: "JPY"}, 500, "jpy"},
		{billing.Money{Amount: 500, Currency: "ISK"}, 50000, "isk"},     // ISO 0 digits, Stripe 2
		{billing.Money{Amount: 15000, Currency: "IDR"}, 1500000, "idr"}, // ditto
		{billing.Money{Amount: 1000, Currency: "UGX"}, 1000, "ugx"},
		{billing.Money{Amount: 1230, Currency: "BHD"}, 1230, "bhd"},
		{billing.Money{Amount: billing.MaxAmount, Currency: "ISK"}, billing.MaxAmount * 100, "isk"},
	} {
		got, cur, err := toStripe(c.m, false)
		if err != nil || got != c.stripe || cur != c.cur {
			t.Errorf("toStripe(%v) = %d %s %v, want %d %s", c.m, got, cur, err, c.stripe, c.cur)
			continue
		}
		back, err := fromStripe(got, cur)
		if err != nil || back.Amount != c.m.Amount {
			t.Errorf("fromStripe(%d %s) = %v %v, want %v", got, cur, back, err, c.m)
		}
	}
	for _, c := range []struct {
		m    billing.Money
		want error
	}{
		{billing.Money{Amount: 1235, Currency: "BHD"}, billing.ErrAmount}, // Stripe: last digit 0
		{billing.Money{Amount: 0, Currency: "USD"}, billing.ErrAmount},
		{billing.Money{Amount: -1, Currency: "USD"}, billing.ErrAmount},
		{billing.Money{Amount: billing.MaxAmount + 1, Currency: "USD"}, billing.ErrAmount},
		{billing.Money{Amount: 100, Currency: "ABC"}, billing.ErrCurrency},
		{billing.Money{Amount: 100, Currency: "US"}, billing.ErrCurrency},
	} {
		if _, _, err := toStripe(c.m, false); !errors.Is(err, c.want) {
			t.Errorf("toStripe(%v) = %v, want %v", c.m, err, c.want)
		}
	}
	if n, _, err := toStripe(billing.Money{Amount: 0, Currency: "USD"}, true); err != nil || n != 0 {
		t.Errorf("a zero fee: %d %v", n, err)
	}
	// A fractional-króna amount from before 2023 is not a whole ISO unit.
	if _, err := fromStripe(50050, "isk"); !errors.Is(err, billing.ErrAmount) {
		t.Errorf("fromStripe(50050 isk) = %v", err)
	}
}
