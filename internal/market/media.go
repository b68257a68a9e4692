package market

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/httpx"
)

// Media is an uploaded photo (an expert's) or video (a listing's intro).
type Media struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"` // photo, video
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
	ownerID     string
}

// Upload limits.
const (
	MaxPhotoBytes = 10 << 20
	MaxVideoBytes = 200 << 20
)

// ErrMediaTooLarge is an upload over its kind's limit.
var ErrMediaTooLarge = errors.New("market: the file is too large")

// sniffMedia names what the first bytes of a file are, among the kinds a
// listing may show: JPEG, PNG or WebP photos, MP4 or WebM videos. Anything
// else — SVG, HTML, any document — is refused: these files are shown to
// everyone who browses.
func sniffMedia(head []byte) (kind, contentType string, ok bool) {
	switch ct := http.DetectContentType(head); ct {
	case "image/jpeg", "image/png", "image/webp":
		return "photo", ct, true
	case "video/webm":
		return "video", ct, true
	}
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		return "video", "video/mp4", true
	}
	return "", "", false
}

// UploadMedia stores a photo or a video for ownerID, read from body, and
// refuses any other kind of file or one over its kind's limit (nothing is
// kept then).
func (s *Service) UploadMedia(ctx context.Context, ownerID string, body io.Reader) (Media, error) {
	if s.cfg.Blobs == nil {
		return Media{}, errors.New("market: no file store configured")
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Media{}, httpx.BadRequest("the upload ended early; send it again")
	}
	head = head[:n]
	kind, ct, ok := sniffMedia(head)
	if !ok {
		return Media{}, httpx.NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"send a JPEG, PNG or WebP photo, or an MP4 or WebM video")
	}
	limit := int64(MaxPhotoBytes)
	if kind == "video" {
		limit = MaxVideoBytes
	}
	m := Media{ID: newID(), Kind: kind, ContentType: ct, CreatedAt: s.now(), ownerID: ownerID}
	key := "market-" + m.ID
	size, err := s.cfg.Blobs.Put(ctx, key, io.LimitReader(io.MultiReader(bytes.NewReader(head), body), limit+1))
	if err != nil {
		return Media{}, err
	}
	if size > limit {
		_ = s.cfg.Blobs.Delete(ctx, key)
		return Media{}, fmt.Errorf("%w: a %s is at most %d MiB", ErrMediaTooLarge, kind, limit>>20)
	}
	m.Size = size
	if _, err := s.db.ExecContext(ctx, `INSERT INTO market_media (id, owner_id, kind, content_type, size, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, ownerID, kind, ct, size, m.CreatedAt); err != nil {
		_ = s.cfg.Blobs.Delete(ctx, key)
		return Media{}, err
	}
	return m, nil
}

// ownMedia checks that id is a file of kind uploaded by ownerID ("" is
// fine: no file).
func (s *Service) ownMedia(ctx context.Context, v *httpx.Validator, field, id, kind, ownerID string) {
	if id == "" {
		return
	}
	var got string
	err := s.db.QueryRowContext(ctx, `SELECT kind FROM market_media WHERE id = $1 AND owner_id = $2`, id, ownerID).Scan(&got)
	v.Check(err == nil && got == kind, field, "the id of a "+kind+" you uploaded (POST /api/v1/market/media)")
}

// OpenMedia opens a file for viewerID: anyone sees an approved expert's
// photo and the intro video of a public listing; the owner and operators
// see their files always.
func (s *Service) OpenMedia(ctx context.Context, viewerID string, operator bool, id string) (Media, io.ReadSeekCloser, error) {
	var m Media
	err := s.db.QueryRowContext(ctx, `SELECT id, owner_id, kind, content_type, size, created_at FROM market_media WHERE id = $1`, id).
		Scan(&m.ID, &m.ownerID, &m.Kind, &m.ContentType, &m.Size, &m.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Media{}, nil, ErrNotFound
	} else if err != nil {
		return Media{}, nil, err
	}
	if !operator && viewerID != m.ownerID {
		var public int
		if err := s.db.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM market_experts e WHERE e.photo = $1 AND e.status = 'approved') +
			(SELECT COUNT(*) FROM market_listings l JOIN market_experts e ON e.user_id = l.expert_id
			  WHERE l.intro_video = $1 AND l.status = 'approved' AND e.status = 'approved')`, id).Scan(&public); err != nil {
			return Media{}, nil, err
		}
		if public == 0 {
			return Media{}, nil, ErrNotFound
		}
	}
	f, err := s.cfg.Blobs.Open(ctx, "market-"+m.ID)
	if errors.Is(err, blob.ErrNotFound) {
		return Media{}, nil, ErrNotFound
	}
	return m, f, err
}
