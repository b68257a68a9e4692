package stripepay

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/billing"
)

// Errors of this package; Stripe's answers are also mapped onto billing's
// own (billing.ErrInsufficient, ErrNotFound, ErrTooMuch, ErrAmount), so the
// marketplace handles the wallet and Stripe alike.
var (
	// ErrActionRequired is an authorization the payer must still
	// authenticate (3-D Secure): nothing is held yet.
	ErrActionRequired = fmt.Errorf("stripepay: %w", billing.ErrActionRequired)
	// ErrNotHeld is an authorization that ended in a state holding no money.
	ErrNotHeld = errors.New("stripepay: the payment holds no money")
	// ErrState is a call the payment's state does not allow (capturing a
	// canceled hold, extending a captured one).
	ErrState = errors.New("stripepay: the payment is not in a state that allows this")
	// ErrKeyReused is an idempotency key sent again with other parameters:
	// a bug in the caller, never retried.
	ErrKeyReused = errors.New("stripepay: idempotency key reused with different parameters")
	// ErrInFlight is a request whose idempotency key another request is
	// using at this moment (409): the same request a moment later gets
	// that one's answer.
	ErrInFlight = errors.New("stripepay: another request with this idempotency key is in progress")
	// ErrNoKey is a money-moving call without an idempotency key.
	ErrNoKey = errors.New("stripepay: an idempotency key is required")
	// ErrSignature is a webhook whose signature, timestamp or API version
	// does not check out.
	ErrSignature = errors.New("stripepay: webhook signature refused")
)

// Error is Stripe's refusal of one call: Kind is the billing (or this
// package's) error it means, Stripe the answer itself with its code and
// decline code. errors.Is sees Kind; errors.As sees *stripe.Error.
type Error struct {
	Op     string // authorize, extend, capture, cancel, refund, …
	ID     string // the PaymentIntent, when there is one
	Kind   error  // nil when the refusal means nothing more specific
	Stripe *stripe.Error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("stripepay: ")
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	b.WriteString(": ")
	if e.Stripe.Code != "" {
		b.WriteString(string(e.Stripe.Code))
		if e.Stripe.DeclineCode != "" {
			fmt.Fprintf(&b, " (%s)", e.Stripe.DeclineCode)
		}
		b.WriteString(": ")
	}
	if e.Stripe.Msg != "" {
		b.WriteString(e.Stripe.Msg)
	} else {
		fmt.Fprintf(&b, "%s, HTTP %d", e.Stripe.Type, e.Stripe.HTTPStatusCode)
	}
	if e.Kind != nil {
		b.WriteString(" [" + e.Kind.Error() + "]")
	}
	return b.String()
}

// Unwrap gives both the mapped error and Stripe's.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Stripe}
	}
	return []error{e.Kind, e.Stripe}
}

// Permanent says whether Stripe refused the call itself (a 4xx other than
// 409 and 429): sending it again with the same idempotency key gets the
// same answer, so it is not retried. Failures on the way (the network,
// 409, 429, 5xx — which stripe-go retries first) are not permanent.
func (e *Error) Permanent() bool {
	c := e.Stripe.HTTPStatusCode
	return c >= 400 && c < 500 && c != 409 && c != 429
}

// DeclineCode is the issuer's reason for a declined card
// ("insufficient_funds", "generic_decline"), or "".
func (e *Error) DeclineCode() string { return string(e.Stripe.DeclineCode) }

// mapErr turns an error from stripe-go into one the marketplace can act on.
func mapErr(op, id string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		if id != "" {
			return fmt.Errorf("stripepay: %s %s: %w", op, id, err)
		}
		return fmt.Errorf("stripepay: %s: %w", op, err)
	}
	return &Error{Op: op, ID: id, Kind: classify(op, se), Stripe: se}
}

func classify(op string, se *stripe.Error) error {
	switch {
	case se.Type == stripe.ErrorTypeCard:
		// card_declined (insufficient_funds, generic_decline, …),
		// expired_card, incorrect_cvc: the payment method refuses.
		return billing.ErrInsufficient
	case se.HTTPStatusCode == 409:
		return ErrInFlight
	case se.Type == stripe.ErrorTypeIdempotency:
		return ErrKeyReused
	case se.Code == stripe.ErrorCodeResourceMissing || se.HTTPStatusCode == 404:
		return billing.ErrNotFound
	case se.Code == stripe.ErrorCodePaymentIntentUnexpectedState:
		return ErrState
	case se.Code == stripe.ErrorCodeAmountTooSmall:
		return billing.ErrAmount
	case se.Code == stripe.ErrorCodeAmountTooLarge, se.Code == stripe.ErrorCodeChargeAlreadyRefunded,
		se.Code == stripe.ErrorCodeChargeExceedsSourceLimit:
		return billing.ErrTooMuch
	case se.Type == stripe.ErrorTypeInvalidRequest && (se.Param == "amount_to_capture" || (op == "refund" && se.Param == "amount")):
		// Stripe words "more than is capturable / left to refund" as an
		// invalid amount; our own checks already refused any amount ≤ 0.
		return billing.ErrTooMuch
	case se.Type == stripe.ErrorTypeInvalidRequest && op == "extend" && se.Param == "amount":
		return billing.ErrAmount
	}
	return nil
}
