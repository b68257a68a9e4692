package market

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Contact policies for pre-session chat: what happens to an e-mail address
// or a phone number a learner and an expert send each other before they
// have met through a paid session — the way round the platform.
const (
	ContactMask = "mask" // replaced by "[contact hidden]"
	ContactFlag = "flag" // left as written, and recorded for the operator
	ContactOff  = "off"
)

// ContactHidden replaces masked contact details.
const ContactHidden = "[contact hidden]"

var (
	emailPattern = regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`)
	// A phone number: an optional +, then digits with spaces, dots, dashes or
	// parentheses between them — at least nine digits (shorter runs are
	// prices, times, codes).
	phonePattern = regexp.MustCompile(`\+?\(?\d[\d\s().-]{7,}\d`)
	isoDate      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// findContacts returns the spans of e-mail addresses and phone numbers in
// text, and which kinds there were.
func findContacts(text string) (spans [][]int, kinds []string) {
	if m := emailPattern.FindAllStringIndex(text, -1); len(m) > 0 {
		spans = append(spans, m...)
		kinds = append(kinds, "email")
	}
	phone := false
	for _, m := range phonePattern.FindAllStringIndex(text, -1) {
		s := strings.TrimSpace(text[m[0]:m[1]])
		digits := 0
		for _, r := range s {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if digits >= 9 && digits <= 15 && !isoDate.MatchString(s) {
			spans = append(spans, m)
			phone = true
		}
	}
	if phone {
		kinds = append(kinds, "phone")
	}
	return spans, kinds
}

// maskContacts replaces every contact detail in text.
func maskContacts(text string) string {
	text = emailPattern.ReplaceAllString(text, ContactHidden)
	return phonePattern.ReplaceAllStringFunc(text, func(s string) string {
		if _, kinds := findContacts(s); len(kinds) > 0 {
			return ContactHidden
		}
		return s
	})
}

// Moderate applies the contact policy to a message in a conversation that
// belongs to a marketplace session none of which has happened yet (chat
// with anyone else is left alone). It implements chat.Moderator.
func (s *Service) Moderate(ctx context.Context, userID, convID, body string) (string, error) {
	if s.cfg.ContactPolicy == ContactOff {
		return body, nil
	}
	if _, kinds := findContacts(body); len(kinds) == 0 {
		return body, nil
	}
	var sessions, completed int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'completed' AND billable_seconds > 0 THEN 1 ELSE 0 END), 0)
		FROM market_sessions WHERE conversation_id = $1`, convID).Scan(&sessions, &completed); err != nil {
		return "", err
	}
	if sessions == 0 || completed > 0 {
		return body, nil
	}
	if s.cfg.ContactPolicy == ContactFlag {
		_, kinds := findContacts(body)
		_, err := s.db.ExecContext(ctx, `INSERT INTO market_contact_flags (id, conversation_id, sender_id, kinds, created_at) VALUES ($1, $2, $3, $4, $5)`,
			newID(), convID, userID, strings.Join(kinds, ","), s.now())
		return body, err
	}
	return maskContacts(body), nil
}

// ContactFlagged is one flagged message, for the operator.
type ContactFlagged struct {
	ConversationID string    `json:"conversation_id"`
	SenderID       string    `json:"sender_id"`
	Kinds          []string  `json:"kinds"`
	CreatedAt      time.Time `json:"created_at"`
}

// ContactFlags lists the latest flags, newest first.
func (s *Service) ContactFlags(ctx context.Context, limit int) ([]ContactFlagged, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT conversation_id, sender_id, kinds, created_at FROM market_contact_flags
		ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ContactFlagged{}
	for rows.Next() {
		var (
			f     ContactFlagged
			kinds string
		)
		if err := rows.Scan(&f.ConversationID, &f.SenderID, &kinds, &f.CreatedAt); err != nil {
			return nil, err
		}
		f.Kinds = strings.Split(kinds, ",")
		out = append(out, f)
	}
	return out, rows.Err()
}
