package calls

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/parley-chat/parley/internal/httpx"
)

// Annotation is one drawing operation over a participant's shared screen.
// Coordinates are normalised to the shared picture: (0,0) top left, (1,1)
// bottom right, so they land on the same spot whatever size each side
// displays it at.
type Annotation struct {
	Seq    int64     `json:"seq"`
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
	// Target is the participant whose screen is drawn on.
	Target string `json:"target"`
	// Op is "stroke" (a pen line or a pointer trail), "undo" (the user's
	// last stroke) or "clear" (everything on the target).
	Op string `json:"op"`
	// For strokes: the tool ("pen" stays, "pointer" fades), its colour
	// (#rrggbb), the points, and an id that later parts of a long stroke
	// repeat.
	Tool   string       `json:"tool,omitempty"`
	Color  string       `json:"color,omitempty"`
	Stroke string       `json:"stroke,omitempty"`
	Points [][2]float64 `json:"points,omitempty"`
}

// Limits on drawing.
const (
	MaxPointsPerAnnotation = 500
	MaxStrokeID            = 64
)

var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func checkAnnotation(a *Annotation) error {
	var v httpx.Validator
	v.Check(a.Target != "", "target", "name whose screen is drawn on")
	switch a.Op {
	case "stroke":
		v.Check(a.Tool == "pen" || a.Tool == "pointer", "tool", "pen or pointer")
		v.Check(colorPattern.MatchString(a.Color), "color", "a colour as #rrggbb")
		v.Check(a.Stroke != "" && len(a.Stroke) <= MaxStrokeID, "stroke", "an id of 1 to 64 bytes")
		v.Check(len(a.Points) > 0 && len(a.Points) <= MaxPointsPerAnnotation, "points",
			fmt.Sprintf("1 to %d points", MaxPointsPerAnnotation))
		for _, p := range a.Points {
			ok := !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && p[0] >= 0 && p[0] <= 1 && p[1] >= 0 && p[1] <= 1
			if !ok {
				v.Check(false, "points", "coordinates run from 0 to 1")
				break
			}
		}
	case "undo", "clear":
		v.Check(a.Tool == "" && len(a.Points) == 0, "op", a.Op+" takes no tool or points")
	default:
		v.Check(false, "op", "stroke, undo or clear")
	}
	return v.Err()
}

// Annotate records a drawing operation in the call's record and returns it
// numbered; the caller delivers it to the call's devices.
func (s *Service) Annotate(ctx context.Context, userID, callID string, a Annotation) (Annotation, error) {
	if err := checkAnnotation(&a); err != nil {
		return Annotation{}, err
	}
	a.UserID, a.At = userID, s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT c.state FROM calls c JOIN call_members m ON m.call_id = c.id
			WHERE c.id = $1 AND m.user_id = $2 AND m.state = 'joined'`, callID, userID).Scan(&state)
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if state == Ended {
			return ErrEnded
		}
		if err := tx.QueryRowContext(ctx, `UPDATE calls SET annotation_seq = annotation_seq + 1 WHERE id = $1
			RETURNING annotation_seq`, callID).Scan(&a.Seq); err != nil {
			return err
		}
		data, _ := json.Marshal(a)
		_, err = tx.ExecContext(ctx, `INSERT INTO call_annotations (call_id, seq, user_id, data, created_at) VALUES ($1, $2, $3, $4, $5)`,
			callID, a.Seq, userID, string(data), a.At)
		return err
	})
	return a, err
}

// Annotations returns a call's drawings after seq, in order, for a device
// that joins late or reconnects.
func (s *Service) Annotations(ctx context.Context, userID, callID string, after int64) ([]Annotation, error) {
	if _, err := s.Get(ctx, userID, callID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM call_annotations WHERE call_id = $1 AND seq > $2 ORDER BY seq LIMIT 5000`, callID, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Annotation{}
	for rows.Next() {
		var (
			data string
			a    Annotation
		)
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
