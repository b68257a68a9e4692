package market

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/parley-chat/parley/internal/httpx"
)

// Category groups listings; its commission applies to their sessions.
type Category struct {
	Key           string `json:"key"`
	Name          string `json:"name"`
	CommissionBps int    `json:"commission_bps"` // 2000 is 20 %
	Health        bool   `json:"health"`         // licence required, HIPAA safeguards apply
}

// Categories lists the categories in the operator's order.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, name, commission_bps, health FROM market_categories ORDER BY position, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.Key, &c.Name, &c.CommissionBps, &c.Health); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

var categoryKey = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// PutCategory adds a category or changes one's name and commission.
func (s *Service) PutCategory(ctx context.Context, c Category) (Category, error) {
	var v httpx.Validator
	v.Check(categoryKey.MatchString(c.Key), "key", "1–63 lower-case letters, digits and hyphens")
	c.Name = text(&v, "name", c.Name, true, 100)
	v.Check(c.CommissionBps >= 0 && c.CommissionBps <= 10000, "commission_bps", "from 0 to 10000 (100 %)")
	v.Check(!c.Health || c.CommissionBps == 0, "commission_bps", "Health sessions take no commission")
	if err := v.Err(); err != nil {
		return Category{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE market_categories SET name = $1, commission_bps = $2, health = $3 WHERE key = $4`,
			c.Name, c.CommissionBps, c.Health, c.Key)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO market_categories (key, name, commission_bps, health, position)
			VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(position), 0) + 1 FROM market_categories))`, c.Key, c.Name, c.CommissionBps, c.Health)
		return err
	})
	return c, err
}

func (s *Service) category(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, key string) (Category, error) {
	var c Category
	err := q.QueryRowContext(ctx, `SELECT key, name, commission_bps, health FROM market_categories WHERE key = $1`, key).
		Scan(&c.Key, &c.Name, &c.CommissionBps, &c.Health)
	if errors.Is(err, sql.ErrNoRows) {
		return Category{}, ErrNotFound
	}
	return c, err
}

// Expert is a person's profile as an expert and where their vetting stands.
type Expert struct {
	UserID              string   `json:"user_id"`
	Name                string   `json:"name"`
	Status              string   `json:"status"`
	Headline            string   `json:"headline"`
	Bio                 string   `json:"bio"`
	Photo               string   `json:"photo,omitempty"`
	Languages           []string `json:"languages"`
	Categories          []string `json:"categories"`
	Credentials         string   `json:"credentials,omitempty"`
	LicenceNumber       string   `json:"licence_number,omitempty"`
	LicenceJurisdiction string   `json:"licence_jurisdiction,omitempty"`
	TimeZone            string   `json:"time_zone"`
	// Rating is the mean of the reviews of all their listings.
	Rating    *float64  `json:"rating"`
	Reviews   int       `json:"reviews"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Application is what a member sends to become an expert (or to change
// their profile).
type Application struct {
	Headline            string   `json:"headline"`
	Bio                 string   `json:"bio"`
	Photo               string   `json:"photo"`
	Languages           []string `json:"languages"`
	Categories          []string `json:"categories"`
	Credentials         string   `json:"credentials"`
	LicenceNumber       string   `json:"licence_number"`
	LicenceJurisdiction string   `json:"licence_jurisdiction"`
	TimeZone            string   `json:"time_zone"`
}

func (s *Service) checkApplication(ctx context.Context, userID string, a *Application) error {
	var v httpx.Validator
	a.Headline = text(&v, "headline", a.Headline, true, 120)
	a.Bio = text(&v, "bio", a.Bio, true, 5000)
	a.Photo = text(&v, "photo", a.Photo, false, 64)
	s.ownMedia(ctx, &v, "photo", a.Photo, "photo", userID)
	a.Credentials = text(&v, "credentials", a.Credentials, false, 5000)
	a.LicenceNumber = text(&v, "licence_number", a.LicenceNumber, false, 100)
	a.LicenceJurisdiction = text(&v, "licence_jurisdiction", a.LicenceJurisdiction, false, 100)
	a.Languages = languages(&v, "languages", a.Languages)
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(a.TimeZone); err != nil || a.TimeZone == "Local" {
		v.Check(false, "time_zone", "an IANA time zone such as America/New_York")
	}
	v.Check(len(a.Categories) > 0 && len(a.Categories) <= 8, "categories", "choose from one to eight categories")
	health := false
	for i, key := range a.Categories {
		c, err := s.category(ctx, s.db, key)
		if errors.Is(err, ErrNotFound) {
			v.Check(false, fmt.Sprintf("categories[%d]", i), "no such category")
			continue
		} else if err != nil {
			return err
		}
		health = health || c.Health
	}
	if health {
		// Health experts are licensed professionals.
		v.Check(a.LicenceNumber != "", "licence_number", "required for Health")
		v.Check(a.LicenceJurisdiction != "", "licence_jurisdiction", "required for Health")
	}
	if a.Categories == nil {
		a.Categories = []string{}
	}
	return v.Err()
}

// Apply is a member applying to be an expert, or changing their
// application. A new application waits for review; editing one that was
// sent back for changes sends it to review again; an approved expert's
// edits keep them approved (listings are reviewed on their own).
func (s *Service) Apply(ctx context.Context, userID string, a Application) (Expert, error) {
	if err := s.checkApplication(ctx, userID, &a); err != nil {
		return Expert{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM market_experts WHERE user_id = $1`, userID).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO market_experts (user_id, status, headline, bio, photo, languages, categories, credentials,
				licence_number, licence_jurisdiction, time_zone, created_at, updated_at)
				VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`, userID, a.Headline, a.Bio, a.Photo,
				jsonText(a.Languages), jsonText(a.Categories), a.Credentials, a.LicenceNumber, a.LicenceJurisdiction, a.TimeZone, now)
			return err
		case err != nil:
			return err
		case status == Rejected || status == Suspended:
			return fmt.Errorf("%w: the application was %s", ErrWrongState, status)
		}
		next := status
		if status == ChangesRequested {
			next = Pending
		}
		_, err = tx.ExecContext(ctx, `UPDATE market_experts SET status = $1, headline = $2, bio = $3, photo = $4, languages = $5, categories = $6,
			credentials = $7, licence_number = $8, licence_jurisdiction = $9, time_zone = $10, updated_at = $11 WHERE user_id = $12`,
			next, a.Headline, a.Bio, a.Photo, jsonText(a.Languages), jsonText(a.Categories), a.Credentials, a.LicenceNumber,
			a.LicenceJurisdiction, a.TimeZone, now, userID)
		return err
	})
	if err != nil {
		return Expert{}, err
	}
	return s.Expert(ctx, userID)
}

// Review decisions on an expert, and the status each leads to.
var expertDecisions = map[string]struct {
	from []string
	to   string
}{
	"approve":         {[]string{Pending, ChangesRequested, Rejected}, Approved},
	"reject":          {[]string{Pending, ChangesRequested}, Rejected},
	"request_changes": {[]string{Pending}, ChangesRequested},
	"suspend":         {[]string{Approved}, Suspended},
	"reinstate":       {[]string{Suspended}, Approved},
}

// ReviewExpert is the operator's decision on an expert, recorded with its
// reason (required to reject, ask for changes or suspend). Suspending an
// expert takes their listings out of sight.
func (s *Service) ReviewExpert(ctx context.Context, operatorID, userID, decision, reason string) (Expert, error) {
	var v httpx.Validator
	d, ok := expertDecisions[decision]
	v.Check(ok, "decision", "approve, reject, request_changes, suspend or reinstate")
	reason = text(&v, "reason", reason, decision != "approve" && decision != "reinstate", 2000)
	if err := v.Err(); err != nil {
		return Expert{}, err
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM market_experts WHERE user_id = $1`, userID).Scan(&status); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if !slices.Contains(d.from, status) {
			return fmt.Errorf("%w: cannot %s an expert who is %s", ErrWrongState, decision, status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE market_experts SET status = $1, updated_at = $2 WHERE user_id = $3`, d.to, s.now(), userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE market_listings SET expert_approved = $1 WHERE expert_id = $2`, d.to == Approved, userID); err != nil {
			return err
		}
		return s.decide(ctx, tx, "expert", userID, decision, reason, operatorID)
	})
	if err != nil {
		return Expert{}, err
	}
	return s.Expert(ctx, userID)
}

// Expert returns one expert's profile.
func (s *Service) Expert(ctx context.Context, userID string) (Expert, error) {
	experts, err := s.experts(ctx, `e.user_id = $1`, userID)
	if err != nil {
		return Expert{}, err
	}
	if len(experts) == 0 {
		return Expert{}, ErrNotFound
	}
	return experts[0], nil
}

// Experts lists experts in a status (all when status is ""), oldest first:
// the operator's review queue.
func (s *Service) Experts(ctx context.Context, status string) ([]Expert, error) {
	return s.experts(ctx, `($1 = '' OR e.status = $1)`, status)
}

func (s *Service) experts(ctx context.Context, where string, arg any) ([]Expert, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.user_id, u.name, e.status, e.headline, e.bio, e.photo, e.languages, e.categories,
		e.credentials, e.licence_number, e.licence_jurisdiction, e.time_zone, e.created_at, e.updated_at,
		COALESCE((SELECT SUM(rating_sum) FROM market_listings l WHERE l.expert_id = e.user_id), 0),
		COALESCE((SELECT SUM(rating_count) FROM market_listings l WHERE l.expert_id = e.user_id), 0)
		FROM market_experts e JOIN users u ON u.id = e.user_id WHERE `+where+` ORDER BY e.created_at, e.user_id LIMIT 500`, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Expert{}
	for rows.Next() {
		var (
			e          Expert
			langs, cat string
			ratingSum  int64
		)
		if err := rows.Scan(&e.UserID, &e.Name, &e.Status, &e.Headline, &e.Bio, &e.Photo, &langs, &cat, &e.Credentials,
			&e.LicenceNumber, &e.LicenceJurisdiction, &e.TimeZone, &e.CreatedAt, &e.UpdatedAt, &ratingSum, &e.Reviews); err != nil {
			return nil, err
		}
		if e.Reviews > 0 {
			r := math.Round(float64(ratingSum)/float64(e.Reviews)*10) / 10
			e.Rating = &r
		}
		if err := json.Unmarshal([]byte(langs), &e.Languages); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(cat), &e.Categories); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
