package chat

// Attachments: a file is uploaded into a conversation first, as a draft
// only its uploader can see, and becomes visible to the members when a
// message claims it. The bytes live in a blob.Store under a fresh key; the
// row is written only after the whole file is stored, and the blob is
// removed again whenever the row cannot be written, so neither a blob
// without its row (beyond a crash) nor a row without its blob is left.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/httpx"
)

// MaxFilename bounds an attachment's name, in characters.
const MaxFilename = 200

var (
	// ErrTooLarge: the upload is over the limit. Nothing was stored.
	ErrTooLarge = errors.New("chat: attachment too large")
	// ErrUploadInterrupted: the upload could not be read to its end (the
	// client went away, or sent a broken body). Nothing was stored.
	ErrUploadInterrupted = errors.New("chat: upload interrupted")
)

// sniffLen is how much http.DetectContentType looks at.
const sniffLen = 512

// Upload stores body as an attachment of the conversation, to be used by a
// message of the uploader's. Only members may upload; anyone else gets
// ErrNotFound. A body over limit bytes is ErrTooLarge. The content type
// is sniffed from the bytes (the client's word is not trusted), and images
// get their width and height.
func (s *Service) Upload(ctx context.Context, userID, conversationID, filename string, body io.Reader, limit int64, store blob.Store) (Attachment, error) {
	if limit <= 0 {
		limit = DefaultMaxUpload
	}
	// Checked before reading the body, so a stranger cannot fill the disk
	// even for a moment; checked again by the insert, which may come much
	// later.
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $2`,
		conversationID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, ErrNotFound
	} else if err != nil {
		return Attachment{}, err
	}

	in := &cappedReader{r: body, left: limit}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(in, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return Attachment{}, err
	}
	head = head[:n]
	a := Attachment{ID: newID(), Name: cleanFilename(filename), ContentType: http.DetectContentType(head)}
	key := a.ID
	if a.Size, err = store.Put(ctx, key, io.MultiReader(bytes.NewReader(head), in)); err != nil {
		// The store promises that a failed Put stored nothing; deleting
		// anyway costs little and guards a store that breaks the promise.
		s.discardBlob(ctx, store, key)
		return Attachment{}, fmt.Errorf("chat: upload: %w", err)
	}
	if isInlineImage(a.ContentType) {
		ok, err := s.measureImage(ctx, store, key, &a)
		if err != nil {
			s.discardBlob(ctx, store, key)
			return Attachment{}, err
		}
		if !ok {
			// It starts like an image but is not one we can read; offer it
			// as a plain file rather than as a broken picture.
			a.ContentType = "application/octet-stream"
		}
	}

	// The membership is checked again in the same statement: the uploader
	// may have left while the file was arriving. The file is whole by now,
	// so the insert is not cut short by a cancelled request: a cancelled
	// statement may still have committed, and its blob must not be deleted.
	res, err := s.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO attachments
		(id, conversation_id, uploader_id, name, content_type, size, width, height, blob_key, created_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
		WHERE EXISTS (SELECT 1 FROM members WHERE conversation_id = $2 AND user_id = $3)`,
		a.ID, conversationID, userID, a.Name, a.ContentType, a.Size, a.Width, a.Height, key, s.now())
	var rows int64
	if err == nil {
		rows, err = res.RowsAffected()
	}
	if err != nil || rows == 0 {
		s.discardBlob(ctx, store, key)
		if err != nil {
			return Attachment{}, fmt.Errorf("chat: upload: %w", err)
		}
		return Attachment{}, ErrNotFound
	}
	return a, nil
}

// discardBlob removes a blob whose row was never written. It runs even when
// ctx has ended (that is often why the blob must go).
func (s *Service) discardBlob(ctx context.Context, store blob.Store, key string) {
	if err := store.Delete(context.WithoutCancel(ctx), key); err != nil && s.onError != nil {
		s.onError(fmt.Errorf("chat: discard attachment blob %s: %w", key, err))
	}
}

// measureImage reads the image's dimensions from the stored blob (a JPEG
// may carry its size after a long EXIF block, well past the sniffed head).
// ok is false when the header cannot be read.
func (s *Service) measureImage(ctx context.Context, store blob.Store, key string, a *Attachment) (ok bool, err error) {
	f, err := store.Open(ctx, key)
	if err != nil {
		return false, fmt.Errorf("chat: upload: reopen %s: %w", key, err)
	}
	defer f.Close()
	a.Width, a.Height, ok = imageSize(bufio.NewReader(f), a.ContentType)
	return ok, nil
}

// cappedReader fails with ErrTooLarge once more than left bytes arrive, so
// that an oversized upload is abandoned as soon as it is known to be one,
// and marks any other failure as ErrUploadInterrupted.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	// Ask for one byte beyond the limit: getting it proves the body is too
	// large, without waiting for the rest of it.
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	if err != nil && err != io.EOF {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return n, fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return n, fmt.Errorf("%w: %w", ErrUploadInterrupted, err)
	}
	return n, err
}

// cleanFilename makes the client's file name safe to show and to offer
// for download: the last path element only, no control or bidirectional
// formatting characters (which can disguise "exe" as "txt"), valid UTF-8,
// at most MaxFilename characters with the extension kept. Nothing left
// means "file".
func cleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, `\`, "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		name = ""
	}
	if utf8.RuneCountInString(name) > MaxFilename {
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 20 {
			ext = ""
		}
		base := []rune(strings.TrimSuffix(name, ext))
		name = strings.TrimSpace(string(base[:MaxFilename-utf8.RuneCountInString(ext)])) + ext
	}
	if name == "" {
		return "file"
	}
	return name
}

// inlineImages are the only types a browser may show in place: raster
// formats that cannot carry script. SVG can, so it is never among them.
var inlineImages = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

func isInlineImage(contentType string) bool { return inlineImages[contentType] }

// servedAs says how to serve an attachment of the given (sniffed) type:
// the type to send, and whether it may be shown inline. Binary formats a
// browser will only download or hand to a player keep their type; all else,
// above all anything textual (HTML, XML, SVG, scripts), is served as
// application/octet-stream, so it can never run as a page of our origin.
func servedAs(contentType string) (string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "application/octet-stream", false
	}
	if inlineImages[mt] {
		return mt, true
	}
	switch mt {
	case "application/pdf", "application/zip", "application/x-gzip", "application/x-rar-compressed",
		"application/ogg", "application/wasm", "application/vnd.ms-fontobject",
		"image/bmp", "image/x-icon", "image/avif":
		return mt, false
	}
	for _, prefix := range []string{"audio/", "video/", "font/"} {
		if strings.HasPrefix(mt, prefix) && !strings.Contains(mt, "xml") {
			return mt, false
		}
	}
	return "application/octet-stream", false
}

// imageSize reads the dimensions from an image's header without decoding
// its pixels.
func imageSize(r io.Reader, contentType string) (width, height int, ok bool) {
	var (
		cfg image.Config
		err error
	)
	switch contentType {
	case "image/png":
		cfg, err = png.DecodeConfig(r)
	case "image/jpeg":
		cfg, err = jpeg.DecodeConfig(r)
	case "image/gif":
		cfg, err = gif.DecodeConfig(r)
	case "image/webp":
		cfg, err = webpConfig(r)
	default:
		return 0, 0, false
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, false
	}
	return cfg.Width, cfg.Height, true
}

// webpConfig reads a WebP image's canvas size from its first chunk: lossy
// (VP8), lossless (VP8L) or extended (VP8X). The header is all we need, so
// this saves a dependency on golang.org/x/image.
func webpConfig(r io.Reader) (image.Config, error) {
	var b [30]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return image.Config{}, err
	}
	if string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return image.Config{}, errors.New("webp: not a RIFF WEBP file")
	}
	var w, h int
	switch string(b[12:16]) {
	case "VP8 ":
		// A key frame: 3-byte frame tag, start code 9d 01 2a, then 14-bit
		// width and height (the top 2 bits are scaling).
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return image.Config{}, errors.New("webp: bad VP8 start code")
		}
		w = int(binary.LittleEndian.Uint16(b[26:28]) & 0x3fff)
		h = int(binary.LittleEndian.Uint16(b[28:30]) & 0x3fff)
	case "VP8L":
		// Signature 0x2f, then width-1 and height-1 in 14 bits each.
		if b[20] != 0x2f {
			return image.Config{}, errors.New("webp: bad VP8L signature")
		}
		bits := binary.LittleEndian.Uint32(b[21:25])
		w = int(bits&0x3fff) + 1
		h = int(bits>>14&0x3fff) + 1
	case "VP8X":
		// Flags and reserved bytes, then canvas width-1 and height-1 in 24
		// bits each.
		w = int(uint32(b[24])|uint32(b[25])<<8|uint32(b[26])<<16) + 1
		h = int(uint32(b[27])|uint32(b[28])<<8|uint32(b[29])<<16) + 1
	default:
		return image.Config{}, errors.New("webp: unknown first chunk")
	}
	return image.Config{Width: w, Height: h}, nil
}

// resolveAttachments lets message messageID claim attachments by id, in
// the caller's transaction: each must be a draft the sender uploaded to
// this conversation (or already belong to this very message). They are
// returned in the order given.
func (s *Service) resolveAttachments(ctx context.Context, tx *sql.Tx, conversationID, senderID, messageID string, ids []string) ([]Attachment, error) {
	if len(ids) == 0 {
		return []Attachment{}, nil
	}
	if len(ids) > MaxAttachments {
		return nil, attachmentsInvalid(fmt.Sprintf("at most %d", MaxAttachments))
	}
	// The ids are $1…$n; the message, in the update, $n+1.
	seen := make(map[string]bool, len(ids))
	args := make([]any, 0, len(ids)+1)
	marks := make([]string, 0, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, attachmentsInvalid(fmt.Sprintf("%q is listed twice", id))
		}
		seen[id] = true
		args = append(args, id)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	in := strings.Join(marks, ", ")
	msgParam := "$" + strconv.Itoa(len(ids)+1)

	rows, err := tx.QueryContext(ctx, `SELECT id, conversation_id, uploader_id, message_id,
		name, content_type, size, width, height FROM attachments WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[string]Attachment, len(ids))
	for rows.Next() {
		var (
			a                  Attachment
			convID, uploaderID string
			usedBy             sql.NullString
		)
		if err := rows.Scan(&a.ID, &convID, &uploaderID, &usedBy, &a.Name, &a.ContentType, &a.Size, &a.Width, &a.Height); err != nil {
			return nil, err
		}
		switch {
		case convID != conversationID || uploaderID != senderID:
			// Someone else's file, or another conversation's: as if it did
			// not exist.
		case usedBy.Valid && usedBy.String != messageID:
			return nil, attachmentsInvalid(fmt.Sprintf("%q is already attached to another message", a.ID))
		default:
			found[a.ID] = a
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Attachment, 0, len(ids))
	for _, id := range ids {
		a, ok := found[id]
		if !ok {
			return nil, attachmentsInvalid(fmt.Sprintf("%q is not one of your uploads to this conversation", id))
		}
		out = append(out, a)
	}

	// Claimed only if still unclaimed: two messages racing for the same
	// file cannot both have it.
	res, err := tx.ExecContext(ctx, `UPDATE attachments SET message_id = `+msgParam+`
		WHERE id IN (`+in+`) AND (message_id IS NULL OR message_id = `+msgParam+`)`, append(args, messageID)...)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n != int64(len(ids)) {
		return nil, attachmentsInvalid("an attachment was just used by another message")
	}
	return out, nil
}

func attachmentsInvalid(detail string) error {
	return httpx.Invalid(httpx.FieldError{Field: "attachments", Detail: detail})
}

// OpenAttachment returns an attachment and its bytes, and when it was
// uploaded, to a member of its conversation. A draft (not yet sent) is
// only its uploader's, and the attachments of a deleted message are gone.
// Whoever may not see it gets ErrNotFound, as if it did not exist.
func (s *Service) OpenAttachment(ctx context.Context, userID, attachmentID string, store blob.Store) (Attachment, io.ReadSeekCloser, time.Time, error) {
	var (
		a       Attachment
		key     string
		created time.Time
	)
	err := s.db.QueryRowContext(ctx, `SELECT a.id, a.name, a.content_type, a.size, a.width, a.height, a.blob_key, a.created_at
		FROM attachments a
		JOIN members mb ON mb.conversation_id = a.conversation_id AND mb.user_id = $2
		LEFT JOIN messages msg ON msg.id = a.message_id
		WHERE a.id = $1 AND (
			(a.message_id IS NULL AND a.uploader_id = $2) OR
			(msg.id IS NOT NULL AND msg.deleted_at IS NULL))`, attachmentID, userID).
		Scan(&a.ID, &a.Name, &a.ContentType, &a.Size, &a.Width, &a.Height, &key, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, nil, time.Time{}, ErrNotFound
	} else if err != nil {
		return Attachment{}, nil, time.Time{}, err
	}
	f, err := store.Open(ctx, key)
	if err != nil {
		// The row promises the blob: a missing one is our failure, not the
		// caller's.
		return Attachment{}, nil, time.Time{}, fmt.Errorf("chat: attachment %s: %w", a.ID, err)
	}
	return a, f, created, nil
}

// PruneAttachments removes, row and blob, drafts uploaded before
// now-draftAge and never sent, and the attachments of deleted messages. It
// does at most 1000 per call and returns how many it removed; run it
// periodically.
func (s *Service) PruneAttachments(ctx context.Context, store blob.Store, draftAge time.Duration) (int, error) {
	cutoff := s.now().Add(-draftAge)
	const prunable = `(a.message_id IS NULL AND a.created_at < $1) OR
		a.message_id IN (SELECT id FROM messages WHERE deleted_at IS NOT NULL)`
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, a.blob_key FROM attachments a WHERE `+prunable+` LIMIT 1000`, cutoff)
	if err != nil {
		return 0, err
	}
	type doomed struct{ id, key string }
	var list []doomed
	for rows.Next() {
		var d doomed
		if err := rows.Scan(&d.id, &d.key); err != nil {
			rows.Close()
			return 0, err
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range list {
		// The row goes first, and only if still prunable (a draft may have
		// been sent meanwhile); then its blob. A crash in between leaves an
		// unreferenced blob, never a row without its file.
		res, err := s.db.ExecContext(ctx, `DELETE FROM attachments WHERE id = $2 AND id IN (
			SELECT a.id FROM attachments a WHERE `+prunable+`)`, cutoff, d.id)
		if err != nil {
			return removed, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			continue
		}
		if err := store.Delete(ctx, d.key); err != nil {
			return removed, fmt.Errorf("chat: prune attachment %s: %w", d.id, err)
		}
		removed++
	}
	return removed, nil
}
