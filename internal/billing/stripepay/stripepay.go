// Package stripepay is billing.Provider on Stripe: experts are Connect
// Express accounts, a hold is a PaymentIntent with manual capture (a
// destination charge to the expert's account) whose authorization grows
// by incremental authorization, the platform's commission is the
// application fee set at capture, and a refund reverses the transfer and
// the fee with it. Every call that moves money carries the caller's
// idempotency key, so a retry never charges twice; webhooks are checked
// by signature. See docs/ARCHITECTURE.md, "Payments".
package stripepay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/parley-chat/parley/internal/billing"
)

// RefKey is the PaymentIntent metadata key naming the session a hold is for.
const RefKey = "parley_ref"

// RefundKeyMeta is the refund metadata key carrying the idempotency key of
// a refund Parley made.
const RefundKeyMeta = "parley_key"

// Config configures the provider.
type Config struct {
	SecretKey     string // sk_live_… / sk_test_…
	WebhookSecret string // whsec_… of the webhook endpoint
	// BackendURL replaces https://api.stripe.com (stripe-mock, a fake).
	BackendURL string
	HTTPClient *http.Client // nil: stripe-go's (80 s timeout)
	// MaxNetworkRetries is how often stripe-go retries a request that
	// failed on the network or with 409/429/5xx (with the same idempotency
	// key); nil is stripe-go's default of 2.
	MaxNetworkRetries *int64
	// WebhookTolerance is how old a webhook's signed timestamp may be
	// (5 minutes when zero).
	WebhookTolerance time.Duration
	// Where Stripe's hosted onboarding sends an expert back: when done, and
	// when the link expired and a new one is needed.
	OnboardingReturnURL  string
	OnboardingRefreshURL string
	Logger               *slog.Logger // nil: slog.Default()
}

// Provider is billing.Provider on Stripe.
type Provider struct {
	sc  *stripe.Client
	cfg Config
}

var _ billing.Provider = (*Provider)(nil)

// New builds a provider. It makes no request.
func New(cfg Config) (*Provider, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("stripepay: a secret key is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WebhookTolerance == 0 {
		cfg.WebhookTolerance = 5 * time.Minute
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        cfg.HTTPClient,
		MaxNetworkRetries: cfg.MaxNetworkRetries,
		LeveledLogger:     slogLogger{cfg.Logger},
	}
	if cfg.BackendURL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.BackendURL, "/"))
	}
	sc := stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))
	return &Provider{sc: sc, cfg: cfg}, nil
}

// Name is "stripe".
func (p *Provider) Name() string { return "stripe" }

// Authorize places a hold: a PaymentIntent confirmed at once with manual
// capture, on the payer's saved card, as a destination charge to the
// payee's connected account, asking the card for incremental
// authorization (so Extend can raise it). It succeeds only when money is
// held (status requires_capture); a card that needs 3-D Secure first is
// ErrActionRequired with the intent's id, a declined one
// billing.ErrInsufficient.
func (p *Provider) Authorize(ctx context.Context, a billing.Authorization) (billing.AuthResult, error) {
	if a.IdempotencyKey == "" {
		return billing.AuthResult{}, ErrNoKey
	}
	if a.PayerCustomer == "" || a.PaymentMethod == "" || a.PayeeAccount == "" {
		return billing.AuthResult{}, errors.New("stripepay: authorize needs a customer, a payment method and a payee account")
	}
	amount, cur, err := toStripe(a.Amount, false)
	if err != nil {
		return billing.AuthResult{}, err
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String(cur),
		Customer:           stripe.String(a.PayerCustomer),
		PaymentMethod:      stripe.String(a.PaymentMethod),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		CaptureMethod:      stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
		Confirm:            stripe.Bool(true),
		TransferData:       &stripe.PaymentIntentCreateTransferDataParams{Destination: stripe.String(a.PayeeAccount)},
		PaymentMethodOptions: &stripe.PaymentIntentCreatePaymentMethodOptionsParams{
			Card: &stripe.PaymentIntentCreatePaymentMethodOptionsCardParams{
				RequestIncrementalAuthorization: stripe.String(string(stripe.PaymentIntentPaymentMethodOptionsCardRequestIncrementalAuthorizationIfAvailable)),
			},
		},
	}
	switch {
	case a.OffSession:
		params.OffSession = stripe.Bool(true)
	case a.ReturnURL != "":
		// A card that asks for 3-D Secure answers with a page to send the
		// payer to, and Stripe sends them back here.
		params.ReturnURL = stripe.String(a.ReturnURL)
	}
	if a.OnBehalfOf != "" {
		params.OnBehalfOf = stripe.String(a.OnBehalfOf)
	}
	params.AddMetadata(RefKey, a.Ref)
	params.SetIdempotencyKey(a.IdempotencyKey)
	pi, err := p.sc.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		return billing.AuthResult{}, mapErr("authorize", "", err)
	}
	res := billing.AuthResult{ID: pi.ID, Status: string(pi.Status), ActionURL: actionURL(pi)}
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresCapture:
		return res, nil
	case stripe.PaymentIntentStatusRequiresAction:
		return res, fmt.Errorf("stripepay: authorize %s: %w", pi.ID, ErrActionRequired)
	}
	return res, fmt.Errorf("stripepay: authorize %s: status %s: %w", pi.ID, pi.Status, ErrNotHeld)
}

// actionURL is where a PaymentIntent that requires action sends the payer
// ("" when it asks for Stripe.js instead, or for nothing).
func actionURL(pi *stripe.PaymentIntent) string {
	if pi.Status == stripe.PaymentIntentStatusRequiresAction && pi.NextAction != nil && pi.NextAction.RedirectToURL != nil {
		return pi.NextAction.RedirectToURL.URL
	}
	return ""
}

// Lookup reads a PaymentIntent: its status, amount, customer, destination
// and session, and where to authenticate it while it requires action.
func (p *Provider) Lookup(ctx context.Context, authID string) (billing.AuthState, error) {
	if authID == "" {
		return billing.AuthState{}, fmt.Errorf("stripepay: lookup: %w: no payment intent", billing.ErrNotFound)
	}
	pi, err := p.sc.V1PaymentIntents.Retrieve(ctx, authID, &stripe.PaymentIntentRetrieveParams{})
	if err != nil {
		return billing.AuthState{}, mapErr("lookup", authID, err)
	}
	st := billing.AuthState{ID: pi.ID, Status: string(pi.Status), Ref: pi.Metadata[RefKey], ActionURL: actionURL(pi)}
	if st.Amount, err = fromStripe(pi.Amount, string(pi.Currency)); err != nil {
		return billing.AuthState{}, err
	}
	if pi.Customer != nil {
		st.Customer = pi.Customer.ID
	}
	if pi.TransferData != nil && pi.TransferData.Destination != nil {
		st.Payee = pi.TransferData.Destination.ID
	}
	return st, nil
}

// currencyOf reads a PaymentIntent's currency, to refuse an amount in
// another one before anything moves (Stripe's increment, capture and
// refund take a bare number in the intent's currency).
func (p *Provider) currencyOf(ctx context.Context, op, authID string) (string, error) {
	if authID == "" {
		return "", fmt.Errorf("stripepay: %s: %w: no payment intent", op, billing.ErrNotFound)
	}
	pi, err := p.sc.V1PaymentIntents.Retrieve(ctx, authID, &stripe.PaymentIntentRetrieveParams{})
	if err != nil {
		return "", mapErr(op, authID, err)
	}
	return string(pi.Currency), nil
}

func sameCurrency(op, authID, want string, m billing.Money) error {
	if !strings.EqualFold(want, m.Currency) {
		return fmt.Errorf("stripepay: %s %s: %w: %s for a payment in %s", op, authID, billing.ErrCurrency, m.Currency, strings.ToUpper(want))
	}
	return nil
}

// Extend raises the hold to total by incremental authorization; the card
// may refuse (billing.ErrInsufficient), and then the hold stays as it was.
func (p *Provider) Extend(ctx context.Context, authID string, total billing.Money, key string) error {
	if key == "" {
		return ErrNoKey
	}
	amount, _, err := toStripe(total, false)
	if err != nil {
		return err
	}
	cur, err := p.currencyOf(ctx, "extend", authID)
	if err != nil {
		return err
	}
	if err := sameCurrency("extend", authID, cur, total); err != nil {
		return err
	}
	params := &stripe.PaymentIntentIncrementAuthorizationParams{Amount: stripe.Int64(amount)}
	params.SetIdempotencyKey(key)
	if _, err := p.sc.V1PaymentIntents.IncrementAuthorization(ctx, authID, params); err != nil {
		return mapErr("extend", authID, err)
	}
	return nil
}

// Capture takes amount of the hold, fee of it as the platform's
// application fee (the rest goes to the payee's account), and releases
// what was held beyond it. More than is held is billing.ErrTooMuch.
// Capturing zero cancels the hold, as the wallet's Settle(0) releases it.
func (p *Provider) Capture(ctx context.Context, authID string, amount, fee billing.Money, key string) error {
	if key == "" {
		return ErrNoKey
	}
	if amount.Amount == 0 && fee.Amount == 0 {
		return p.Cancel(ctx, authID, key)
	}
	amt, cur, err := toStripe(amount, false)
	if err != nil {
		return err
	}
	feeAmt, feeCur, err := toStripe(fee, true)
	if err != nil {
		return err
	}
	if feeCur != cur || feeAmt > amt {
		return fmt.Errorf("stripepay: capture %s: %w: fee %s of %s", authID, billing.ErrAmount, fee, amount)
	}
	piCur, err := p.currencyOf(ctx, "capture", authID)
	if err != nil {
		return err
	}
	if err := sameCurrency("capture", authID, piCur, amount); err != nil {
		return err
	}
	params := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(amt)}
	if feeAmt > 0 {
		params.ApplicationFeeAmount = stripe.Int64(feeAmt)
	}
	params.SetIdempotencyKey(key)
	if _, err := p.sc.V1PaymentIntents.Capture(ctx, authID, params); err != nil {
		return mapErr("capture", authID, err)
	}
	return nil
}

// Cancel releases the hold entirely. Canceling one already canceled
// succeeds, so a release can be retried with a new key.
func (p *Provider) Cancel(ctx context.Context, authID, key string) error {
	if key == "" {
		return ErrNoKey
	}
	if authID == "" {
		return fmt.Errorf("stripepay: cancel: %w: no payment intent", billing.ErrNotFound)
	}
	params := &stripe.PaymentIntentCancelParams{}
	params.SetIdempotencyKey(key)
	_, err := p.sc.V1PaymentIntents.Cancel(ctx, authID, params)
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState &&
		se.PaymentIntent != nil && se.PaymentIntent.Status == stripe.PaymentIntentStatusCanceled {
		return nil
	}
	if err != nil {
		return mapErr("cancel", authID, err)
	}
	return nil
}

// Refund gives amount of the captured payment back to the payer: the
// transfer to the payee is reversed and the application fee refunded, both
// in proportion (Stripe computes them). More than is left to refund is
// billing.ErrTooMuch.
func (p *Provider) Refund(ctx context.Context, authID string, amount billing.Money, key string) (string, error) {
	if key == "" {
		return "", ErrNoKey
	}
	amt, _, err := toStripe(amount, false)
	if err != nil {
		return "", err
	}
	cur, err := p.currencyOf(ctx, "refund", authID)
	if err != nil {
		return "", err
	}
	if err := sameCurrency("refund", authID, cur, amount); err != nil {
		return "", err
	}
	params := &stripe.RefundCreateParams{
		PaymentIntent:        stripe.String(authID),
		Amount:               stripe.Int64(amt),
		RefundApplicationFee: stripe.Bool(true),
		ReverseTransfer:      stripe.Bool(true),
	}
	// Parley's own refunds say so: a refund without it was made in
	// Stripe's dashboard (see ExternalRefunds).
	params.AddMetadata(RefundKeyMeta, key)
	params.SetIdempotencyKey(key)
	r, err := p.sc.V1Refunds.Create(ctx, params)
	if err != nil {
		return "", mapErr("refund", authID, err)
	}
	if r.Status == stripe.RefundStatusFailed || r.Status == stripe.RefundStatusCanceled {
		// For good: its key would replay this answer.
		return r.ID, fmt.Errorf("%w: refund %s of %s is %s: %s", billing.ErrRefundFailed, r.ID, authID, r.Status, r.FailureReason)
	}
	return r.ID, nil
}

// CreateExpertAccount makes an Express connected account for an expert
// (card payments and transfers requested) and a link to Stripe's hosted
// onboarding. The account's creation is keyed by email and country, so a
// retry within Stripe's 24 hours returns the same account rather than a
// second one; the link is fresh each time (links are single-use).
func (p *Provider) CreateExpertAccount(ctx context.Context, email, country string) (accountID, onboardingURL string, err error) {
	if email == "" || len(country) != 2 {
		return "", "", errors.New("stripepay: an expert account needs an e-mail and a two-letter country")
	}
	country = strings.ToUpper(country)
	params := &stripe.AccountCreateParams{
		Type:    stripe.String(string(stripe.AccountTypeExpress)),
		Email:   stripe.String(email),
		Country: stripe.String(country),
		Capabilities: &stripe.AccountCreateCapabilitiesParams{
			CardPayments: &stripe.AccountCreateCapabilitiesCardPaymentsParams{Requested: stripe.Bool(true)},
			Transfers:    &stripe.AccountCreateCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	params.SetIdempotencyKey(derivedKey("account", email, country))
	acct, err := p.sc.V1Accounts.Create(ctx, params)
	if err != nil {
		return "", "", mapErr("create account", "", err)
	}
	link, err := p.OnboardingLink(ctx, acct.ID)
	return acct.ID, link, err
}

// OnboardingLink is a new link to Stripe's hosted onboarding for an
// expert's account (for the refresh URL, when an old link expired).
func (p *Provider) OnboardingLink(ctx context.Context, accountID string) (string, error) {
	if p.cfg.OnboardingReturnURL == "" || p.cfg.OnboardingRefreshURL == "" {
		return "", errors.New("stripepay: onboarding needs OnboardingReturnURL and OnboardingRefreshURL")
	}
	params := &stripe.AccountLinkCreateParams{
		Account:    stripe.String(accountID),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
		ReturnURL:  stripe.String(p.cfg.OnboardingReturnURL),
		RefreshURL: stripe.String(p.cfg.OnboardingRefreshURL),
	}
	params.SetIdempotencyKey(randomKey("account-link"))
	link, err := p.sc.V1AccountLinks.Create(ctx, params)
	if err != nil {
		return "", mapErr("account link", accountID, err)
	}
	return link.URL, nil
}

// CreateCustomer makes a Stripe customer for a learner, keyed by e-mail and
// name so a retry does not make a second one.
func (p *Provider) CreateCustomer(ctx context.Context, email, name string) (string, error) {
	if email == "" {
		return "", errors.New("stripepay: a customer needs an e-mail")
	}
	params := &stripe.CustomerCreateParams{Email: stripe.String(email)}
	if name != "" {
		params.Name = stripe.String(name)
	}
	params.SetIdempotencyKey(derivedKey("customer", email, name))
	c, err := p.sc.V1Customers.Create(ctx, params)
	if err != nil {
		return "", mapErr("create customer", "", err)
	}
	return c.ID, nil
}

// SetupCard starts saving a card for a customer: a SetupIntent for
// off-session use whose client secret the web app hands to Stripe.js
// (confirmCardSetup). When the payer has confirmed it, Stripe's
// setup_intent.succeeded webhook names the saved payment method. key
// makes a retry return the same SetupIntent.
func (p *Provider) SetupCard(ctx context.Context, customerID, key string) (id, clientSecret string, err error) {
	if key == "" {
		return "", "", ErrNoKey
	}
	if customerID == "" {
		return "", "", errors.New("stripepay: a setup needs a customer")
	}
	params := &stripe.SetupIntentCreateParams{
		Customer:           stripe.String(customerID),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Usage:              stripe.String(string(stripe.SetupIntentUsageOffSession)),
	}
	params.SetIdempotencyKey(key)
	si, err := p.sc.V1SetupIntents.Create(ctx, params)
	if err != nil {
		return "", "", mapErr("setup", "", err)
	}
	return si.ID, si.ClientSecret, nil
}

// derivedKey is an idempotency key determined by its inputs.
func derivedKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "parley-" + kind + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func randomKey(kind string) string {
	return "parley-" + kind + "-" + rand.Text()
}

// slogLogger routes stripe-go's log lines to slog.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Debugf(format string, v ...any) {
	s.l.Debug("stripe: " + fmt.Sprintf(format, v...))
}
func (s slogLogger) Infof(format string, v ...any)  { s.l.Debug("stripe: " + fmt.Sprintf(format, v...)) }
func (s slogLogger) Warnf(format string, v ...any)  { s.l.Warn("stripe: " + fmt.Sprintf(format, v...)) }
func (s slogLogger) Errorf(format string, v ...any) { s.l.Warn("stripe: " + fmt.Sprintf(format, v...)) }

// Hold is what Stripe says of a hold now.
type Hold struct {
	ID         string
	Status     string        // requires_capture while money is held
	Amount     billing.Money // authorized, increments included
	Capturable billing.Money
	// Extendable is whether the card granted incremental authorization:
	// without it Extend fails, and a per-minute session must hold a longer
	// block up front or authorize anew.
	Extendable bool
	// CaptureBefore is when the authorization lapses (about 7 days after
	// it was placed for online card payments); zero when Stripe gives none.
	CaptureBefore time.Time
	Ref           string
}

// Hold reads a hold's state, its charge expanded for whether it can be
// extended and until when it can be captured.
func (p *Provider) Hold(ctx context.Context, authID string) (Hold, error) {
	params := &stripe.PaymentIntentRetrieveParams{}
	params.AddExpand("latest_charge")
	pi, err := p.sc.V1PaymentIntents.Retrieve(ctx, authID, params)
	if err != nil {
		return Hold{}, mapErr("hold", authID, err)
	}
	h := Hold{ID: pi.ID, Status: string(pi.Status), Ref: pi.Metadata[RefKey]}
	if h.Amount, err = fromStripe(pi.Amount, string(pi.Currency)); err != nil {
		return Hold{}, err
	}
	if h.Capturable, err = fromStripe(pi.AmountCapturable, string(pi.Currency)); err != nil {
		return Hold{}, err
	}
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		card := ch.PaymentMethodDetails.Card
		h.Extendable = card.IncrementalAuthorization != nil &&
			card.IncrementalAuthorization.Status == stripe.ChargePaymentMethodDetailsCardIncrementalAuthorizationStatusAvailable
		if card.CaptureBefore > 0 {
			h.CaptureBefore = time.Unix(card.CaptureBefore, 0).UTC()
		}
	}
	return h, nil
}
