package market

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/db"
	"github.com/parley-chat/parley/internal/httpx"
)

// Price models.
const (
	Free       = "free"
	PerMinute  = "per_minute"
	PerHour    = "per_hour"
	PerSession = "per_session"
)

// Cancellation policies (docs/ARCHITECTURE.md, "The marketplace").
var policies = []string{"flexible", "moderate", "strict"}

// Listing is what an expert offers: a kind of session at a price.
type Listing struct {
	ID                 string        `json:"id"`
	ExpertID           string        `json:"expert_id"`
	ExpertName         string        `json:"expert_name"`
	Status             string        `json:"status"`
	Title              string        `json:"title"`
	Description        string        `json:"description"`
	Category           string        `json:"category"`
	Languages          []string      `json:"languages"`
	IntroVideo         string        `json:"intro_video,omitempty"`
	PriceModel         string        `json:"price_model"`
	Price              billing.Money `json:"price"`
	MinBillableMinutes int           `json:"min_billable_minutes"`
	SessionMinutes     *int          `json:"session_minutes"` // null: open-ended
	Cancellation       string        `json:"cancellation"`
	StartNow           bool          `json:"start_now"`
	Rating             *float64      `json:"rating"`
	Reviews            int           `json:"reviews"`
	// AvailableNow: the expert takes "start now" sessions at this moment.
	AvailableNow bool      `json:"available_now"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// ListingInput creates or changes a listing.
type ListingInput struct {
	Title              string        `json:"title"`
	Description        string        `json:"description"`
	Category           string        `json:"category"`
	Languages          []string      `json:"languages"`
	IntroVideo         string        `json:"intro_video"`
	PriceModel         string        `json:"price_model"`
	Price              billing.Money `json:"price"`
	MinBillableMinutes int           `json:"min_billable_minutes"`
	SessionMinutes     *int          `json:"session_minutes"`
	Cancellation       string        `json:"cancellation"`
	StartNow           bool          `json:"start_now"`
}

func (s *Service) checkListing(ctx context.Context, expertID string, in *ListingInput) error {
	var v httpx.Validator
	in.Title = text(&v, "title", in.Title, true, 120)
	in.Description = text(&v, "description", in.Description, true, 10000)
	in.IntroVideo = text(&v, "intro_video", in.IntroVideo, false, 64)
	s.ownMedia(ctx, &v, "intro_video", in.IntroVideo, "video", expertID)
	in.Languages = languages(&v, "languages", in.Languages)
	if _, err := s.category(ctx, s.db, in.Category); errors.Is(err, ErrNotFound) {
		v.Check(false, "category", "no such category")
	} else if err != nil {
		return err
	}
	if in.Cancellation == "" {
		in.Cancellation = "flexible"
	}
	v.Check(slices.Contains(policies, in.Cancellation), "cancellation", "flexible, moderate or strict")
	code, scale, err := billing.CheckCurrency(in.Price.Currency)
	if in.PriceModel == Free && in.Price.Currency == "" {
		code, scale, err = "USD", 2, nil
	}
	v.Check(err == nil, "price.currency", "an ISO 4217 currency such as USD, EUR or KRW")
	in.Price.Currency = code
	// No single price above a million in major units (10^6 × 10^scale).
	limit := int64(1_000_000 * math.Pow10(scale))
	switch in.PriceModel {
	case Free:
		v.Check(in.Price.Amount == 0, "price.amount", "a free listing costs 0")
	case PerMinute, PerHour, PerSession:
		v.Check(in.Price.Amount > 0, "price.amount", "a paid listing costs more than 0")
		v.Check(in.Price.Amount <= limit, "price.amount", fmt.Sprintf("at most %d in minor units", limit))
	default:
		v.Check(false, "price_model", "free, per_minute, per_hour or per_session")
	}
	if in.SessionMinutes != nil {
		v.Check(*in.SessionMinutes >= 5 && *in.SessionMinutes <= 480, "session_minutes", "from 5 to 480 minutes")
	} else {
		v.Check(in.PriceModel == PerMinute || in.PriceModel == Free, "session_minutes",
			"required, except for per-minute and free listings (which may be open-ended)")
	}
	switch in.PriceModel {
	case PerMinute, PerHour:
		if in.MinBillableMinutes == 0 {
			in.MinBillableMinutes = 1
		}
		v.Check(in.MinBillableMinutes >= 1 && in.MinBillableMinutes <= 120, "min_billable_minutes", "from 1 to 120 minutes")
	default:
		v.Check(in.MinBillableMinutes == 0, "min_billable_minutes", "only per-minute and per-hour listings have a minimum")
	}
	return v.Err()
}

// CreateListing adds a listing for an approved expert; it waits for the
// operator's review before anyone sees it.
func (s *Service) CreateListing(ctx context.Context, expertID string, in ListingInput) (Listing, error) {
	if err := s.checkListing(ctx, expertID, &in); err != nil {
		return Listing{}, err
	}
	id := newID()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := requireApproved(ctx, tx, expertID); err != nil {
			return err
		}
		now := s.now()
		_, err := tx.ExecContext(ctx, `INSERT INTO market_listings (id, expert_id, status, title, description, category, languages, intro_video,
			price_model, price_amount, currency, min_billable_minutes, session_minutes, cancellation, start_now, expert_approved, created_at, updated_at)
			VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, TRUE, $15, $15)`,
			id, expertID, in.Title, in.Description, in.Category, jsonText(in.Languages), in.IntroVideo, in.PriceModel, in.Price.Amount,
			in.Price.Currency, in.MinBillableMinutes, in.SessionMinutes, in.Cancellation, in.StartNow, now)
		return err
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listing(ctx, id)
}

func requireApproved(ctx context.Context, tx *sql.Tx, expertID string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM market_experts WHERE user_id = $1`, expertID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && status != Approved) {
		return ErrNotApproved
	}
	return err
}

// UpdateListing changes a listing. Anything but the "start now" switch is
// a material edit: the listing goes back to review and out of sight
// until the operator approves it again.
func (s *Service) UpdateListing(ctx context.Context, expertID, id string, in ListingInput) (Listing, error) {
	if err := s.checkListing(ctx, expertID, &in); err != nil {
		return Listing{}, err
	}
	old, err := s.listing(ctx, id)
	if err != nil || old.ExpertID != expertID {
		return Listing{}, ErrNotFound
	}
	material := old.Title != in.Title || old.Description != in.Description || old.Category != in.Category ||
		!slices.Equal(old.Languages, in.Languages) || old.IntroVideo != in.IntroVideo || old.PriceModel != in.PriceModel ||
		old.Price != in.Price || old.MinBillableMinutes != in.MinBillableMinutes || !sameMinutes(old.SessionMinutes, in.SessionMinutes) ||
		old.Cancellation != in.Cancellation
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := requireApproved(ctx, tx, expertID); err != nil {
			return err
		}
		status := old.Status
		if old.Status == Suspended || old.Status == Rejected {
			return fmt.Errorf("%w: the listing is %s", ErrWrongState, old.Status)
		}
		if material {
			status = Pending
		}
		_, err := tx.ExecContext(ctx, `UPDATE market_listings SET status = $1, title = $2, description = $3, category = $4, languages = $5,
			intro_video = $6, price_model = $7, price_amount = $8, currency = $9, min_billable_minutes = $10, session_minutes = $11,
			cancellation = $12, start_now = $13, updated_at = $14 WHERE id = $15`, status, in.Title, in.Description, in.Category,
			jsonText(in.Languages), in.IntroVideo, in.PriceModel, in.Price.Amount, in.Price.Currency, in.MinBillableMinutes,
			in.SessionMinutes, in.Cancellation, in.StartNow, s.now(), id)
		return err
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listing(ctx, id)
}

func sameMinutes(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

var listingDecisions = map[string]struct {
	from []string
	to   string
}{
	"approve":         {[]string{Pending, ChangesRequested}, Approved},
	"reject":          {[]string{Pending, ChangesRequested}, Rejected},
	"request_changes": {[]string{Pending}, ChangesRequested},
	"suspend":         {[]string{Approved, Pending}, Suspended},
	"reinstate":       {[]string{Suspended}, Approved},
}

// ReviewListing is the operator's decision on a listing, recorded.
func (s *Service) ReviewListing(ctx context.Context, operatorID, id, decision, reason string) (Listing, error) {
	var v httpx.Validator
	d, ok := listingDecisions[decision]
	v.Check(ok, "decision", "approve, reject, request_changes, suspend or reinstate")
	reason = text(&v, "reason", reason, decision != "approve" && decision != "reinstate", 2000)
	if err := v.Err(); err != nil {
		return Listing{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var status, expert string
		if err := tx.QueryRowContext(ctx, `SELECT status, expert_id FROM market_listings WHERE id = $1`, id).Scan(&status, &expert); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if !slices.Contains(d.from, status) {
			return fmt.Errorf("%w: cannot %s a listing that is %s", ErrWrongState, decision, status)
		}
		if d.to == Approved {
			if err := requireApproved(ctx, tx, expert); err != nil {
				return fmt.Errorf("%w: its expert is not approved", ErrWrongState)
			}
		}
		approvedAt := any(nil)
		if d.to == Approved {
			approvedAt = s.now()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE market_listings SET status = $1, approved_at = COALESCE($2, approved_at) WHERE id = $3`,
			d.to, approvedAt, id); err != nil {
			return err
		}
		return s.decide(ctx, tx, "listing", id, decision, reason, operatorID)
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listing(ctx, id)
}

const listingColumns = `l.id, l.expert_id, u.name, l.status, l.title, l.description, l.category, l.languages, l.intro_video, l.price_model,
	l.price_amount, l.currency, l.min_billable_minutes, l.session_minutes, l.cancellation, l.start_now, l.rating_sum, l.rating_count,
	l.created_at, l.updated_at, COALESCE(av.available_now, false)`

const listingFrom = ` FROM market_listings l JOIN market_experts e ON e.user_id = l.expert_id JOIN users u ON u.id = l.expert_id
	LEFT JOIN market_availability av ON av.expert_id = l.expert_id `

func scanListing(row interface{ Scan(...any) error }) (Listing, error) {
	var (
		l                Listing
		langs            string
		session          sql.NullInt64
		ratingSum, count int
	)
	err := row.Scan(&l.ID, &l.ExpertID, &l.ExpertName, &l.Status, &l.Title, &l.Description, &l.Category, &langs, &l.IntroVideo,
		&l.PriceModel, &l.Price.Amount, &l.Price.Currency, &l.MinBillableMinutes, &session, &l.Cancellation, &l.StartNow,
		&ratingSum, &count, &l.CreatedAt, &l.UpdatedAt, &l.AvailableNow)
	if errors.Is(err, sql.ErrNoRows) {
		return Listing{}, ErrNotFound
	} else if err != nil {
		return Listing{}, err
	}
	if err := json.Unmarshal([]byte(langs), &l.Languages); err != nil {
		return Listing{}, err
	}
	if session.Valid {
		n := int(session.Int64)
		l.SessionMinutes = &n
	}
	l.Reviews = count
	if count > 0 {
		r := math.Round(float64(ratingSum)/float64(count)*10) / 10
		l.Rating = &r
	}
	return l, nil
}

func (s *Service) listing(ctx context.Context, id string) (Listing, error) {
	return scanListing(s.db.QueryRowContext(ctx, `SELECT `+listingColumns+listingFrom+`WHERE l.id = $1`, id))
}

// Listing returns a listing to anyone when it is public (approved, by an
// approved expert), else only to its expert or an operator.
func (s *Service) Listing(ctx context.Context, viewerID string, operator bool, id string) (Listing, error) {
	l, err := s.listing(ctx, id)
	if err != nil {
		return Listing{}, err
	}
	if operator || l.ExpertID == viewerID {
		return l, nil
	}
	var expertStatus string
	if err := s.db.QueryRowContext(ctx, `SELECT status FROM market_experts WHERE user_id = $1`, l.ExpertID).Scan(&expertStatus); err != nil {
		return Listing{}, err
	}
	if l.Status != Approved || expertStatus != Approved {
		return Listing{}, ErrNotFound
	}
	return l, nil
}

// Query searches public listings.
type Query struct {
	Text       string
	Category   string
	PriceModel string
	Currency   string // with MinPrice/MaxPrice
	MinPrice   *int64
	MaxPrice   *int64
	Language   string
	MinRating  float64
	// AvailableNow keeps listings one can start now: the listing allows it
	// and its expert's "available now" switch is on.
	AvailableNow bool
	Sort         string // relevance (default with Text), rating, price_asc, price_desc, newest (default)
	Limit        int
	Cursor       string // opaque: where the previous page ended
	// Status and ExpertID are for the expert's and the operator's own
	// lists; discovery leaves them empty (approved listings only).
	Status   string
	ExpertID string
}

// Search finds listings: full-text over titles and descriptions (FTS5 on
// SQLite, a weighted tsvector on PostgreSQL), filters and a sort. It
// returns a page and the cursor of the next one ("" at the end).
func (s *Service) Search(ctx context.Context, q Query) ([]Listing, string, error) {
	var v httpx.Validator
	q.Text = text(&v, "q", q.Text, false, 200)
	sorts := []string{"", "relevance", "rating", "price_asc", "price_desc", "newest"}
	v.Check(slices.Contains(sorts, q.Sort), "sort", "relevance, rating, price_asc, price_desc or newest")
	v.Check(q.Sort != "relevance" || q.Text != "", "sort", "relevance needs a search text (q)")
	v.Check(q.PriceModel == "" || slices.Contains([]string{Free, PerMinute, PerHour, PerSession}, q.PriceModel), "price_model",
		"free, per_minute, per_hour or per_session")
	if q.MinPrice != nil || q.MaxPrice != nil {
		code, _, err := billing.CheckCurrency(q.Currency)
		v.Check(err == nil, "currency", "a price range needs its ISO 4217 currency")
		q.Currency = code
	}
	v.Check(q.MinRating >= 0 && q.MinRating <= 5, "min_rating", "from 0 to 5")
	offset := 0
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n <= 0 || n >= 100_000 {
			return nil, "", httpx.BadRequest("cursor: not a cursor this search gave")
		}
		offset = n
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 20
	}
	where := []string{"1 = 1"}
	args := []any{}
	arg := func(a any) string {
		args = append(args, a)
		return "$" + strconv.Itoa(len(args))
	}
	if q.ExpertID != "" {
		where = append(where, "l.expert_id = "+arg(q.ExpertID))
		if q.Status != "" {
			where = append(where, "l.status = "+arg(q.Status))
		}
	} else if q.Status != "" {
		where = append(where, "l.status = "+arg(q.Status))
	} else {
		// Spelled as market_listings_public_* index predicates are, so the
		// planner can use them.
		where = append(where, "l.status = 'approved' AND l.expert_approved")
	}
	rank, from := "0", listingFrom
	if q.Text != "" {
		if s.db.Dialect == db.Postgres {
			p := arg(tsQuery(q.Text))
			where = append(where, "l.search @@ to_tsquery('simple', "+p+")")
			rank = "ts_rank(l.search, to_tsquery('simple', " + p + "))"
		} else {
			from += "JOIN market_listings_fts ON market_listings_fts.rowid = l.rowid "
			where = append(where, "market_listings_fts MATCH "+arg(ftsQuery(q.Text)))
			rank = "-bm25(market_listings_fts, 10.0, 1.0)" // titles weigh ten times descriptions
		}
	}
	if q.Category != "" {
		where = append(where, "l.category = "+arg(q.Category))
	}
	if q.PriceModel != "" {
		where = append(where, "l.price_model = "+arg(q.PriceModel))
	}
	if q.MinPrice != nil || q.MaxPrice != nil {
		where = append(where, "l.currency = "+arg(q.Currency))
		if q.MinPrice != nil {
			where = append(where, "l.price_amount >= "+arg(*q.MinPrice))
		}
		if q.MaxPrice != nil {
			where = append(where, "l.price_amount <= "+arg(*q.MaxPrice))
		}
	}
	if q.Language != "" {
		// Languages are a JSON array of tags; match one whole tag.
		tag := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `"`, "").Replace(q.Language)
		where = append(where, "l.languages LIKE "+arg(`%"`+tag+`"%`)+` ESCAPE '\'`)
	}
	if q.AvailableNow {
		where = append(where, "l.start_now AND av.available_now")
	}
	if q.MinRating > 0 {
		where = append(where, "l.rating_count > 0 AND l.rating_sum >= "+arg(q.MinRating)+" * l.rating_count")
	}
	order := "l.created_at DESC, l.id DESC"
	switch {
	case q.Sort == "rating":
		order = "CASE WHEN l.rating_count = 0 THEN 0 ELSE 1.0 * l.rating_sum / l.rating_count END DESC, l.rating_count DESC, l.id"
	case q.Sort == "price_asc":
		order = "l.price_amount, l.id"
	case q.Sort == "price_desc":
		order = "l.price_amount DESC, l.id"
	case q.Sort == "relevance" || (q.Sort == "" && q.Text != ""):
		order = rank + " DESC, l.id"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+listingColumns+from+`WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT `+arg(q.Limit+1)+` OFFSET `+arg(offset), args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Listing{}
	for rows.Next() {
		l, err := scanListing(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset + q.Limit)))
	}
	return out, next, nil
}

// tsQuery is ftsQuery for PostgreSQL: every word must match, the last as
// a prefix ("kimc" finds kimchi), and nothing typed is operator syntax.
func tsQuery(s string) string {
	words := searchWords(s)
	if len(words) == 0 {
		return "''"
	}
	for i, w := range words {
		words[i] = "'" + w + "'"
	}
	words[len(words)-1] += ":*"
	return strings.Join(words, " & ")
}

func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// ftsQuery turns what a person typed into an FTS5 query of quoted terms
// (all must match, the last may be a prefix), so no operator syntax leaks.
func ftsQuery(s string) string {
	words := searchWords(s)
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	if n := len(words); n > 0 {
		words[n-1] += "*"
	}
	if len(words) == 0 {
		return `""`
	}
	return strings.Join(words, " ")
}
