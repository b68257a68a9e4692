package chat

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/httpx"
)

// attachWorld is a messenger with a blob store: Ana and Bo share conv; Ana
// and Cy share other; Cy is a stranger to conv.
type attachWorld struct {
	*fixture
	store       *blob.Dir
	blobDir     string
	ana, bo, cy string
	conv, other string
}

func attachEach(t *testing.T, fn func(t *testing.T, w *attachWorld)) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		w := &attachWorld{fixture: f, blobDir: filepath.Join(t.TempDir(), "blobs")}
		var err error
		if w.store, err = blob.NewDir(w.blobDir); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.store.Close() })
		w.ana, w.bo, w.cy = f.user("Ana"), f.user("Bo"), f.user("Cy")
		c, err := f.svc.CreateGroup(ctx, w.ana, "Design", []string{w.bo})
		if err != nil {
			t.Fatal(err)
		}
		o, _, err := f.svc.OpenDirect(ctx, w.ana, w.cy)
		if err != nil {
			t.Fatal(err)
		}
		w.conv, w.other = c.ID, o.ID
		fn(t, w)
	})
}

func (w *attachWorld) upload(user, conv, name string, body []byte) Attachment {
	w.t.Helper()
	a, err := w.svc.Upload(context.Background(), user, conv, name, bytes.NewReader(body), 1<<20, w.store)
	if err != nil {
		w.t.Fatalf("upload %q: %v", name, err)
	}
	return a
}

// wantStored fails unless exactly rows attachment rows and files blob
// files exist: a refused upload must leave neither.
func (w *attachWorld) wantStored(rows, files int) {
	w.t.Helper()
	if n := dbtest.Count(w.t, w.d, "attachments"); n != rows {
		w.t.Errorf("%d attachment rows, want %d", n, rows)
	}
	var got []string
	_ = filepath.WalkDir(w.blobDir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			got = append(got, p)
		}
		return err
	})
	if len(got) != files {
		w.t.Errorf("blob files %v, want %d", got, files)
	}
}

func (w *attachWorld) readAll(user, id string) ([]byte, error) {
	_, f, _, err := w.svc.OpenAttachment(context.Background(), user, id, w.store)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func pngBytes(t testing.TB, width, height int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, width, height))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegWithLongEXIF puts a 4 KiB APP1 segment before the frame header, so
// the size is found only well past the sniffed first 512 bytes.
func jpegWithLongEXIF(t testing.TB, width, height int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, width, height)), nil); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	app1 := append([]byte{0xff, 0xe1, 0, 0}, bytes.Repeat([]byte{'e'}, 4096)...)
	binary.BigEndian.PutUint16(app1[2:], uint16(len(app1)-2))
	return append(append(append([]byte{}, plain[:2]...), app1...), plain[2:]...)
}

func gifBytes(t testing.TB, width, height int) []byte {
	t.Helper()
	var buf bytes.Buffer
	img := image.NewPaletted(image.Rect(0, 0, width, height), color.Palette{color.Black, color.White})
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// webpBytes builds the header of a WebP file whose first chunk is kind;
// the rest is padding (only the header is ever read).
func webpBytes(kind string, width, height int) []byte {
	chunk := make([]byte, 10)
	switch kind {
	case "VP8 ":
		copy(chunk, []byte{0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a})
		binary.LittleEndian.PutUint16(chunk[6:], uint16(width))
		binary.LittleEndian.PutUint16(chunk[8:], uint16(height))
	case "VP8L":
		chunk[0] = 0x2f
		binary.LittleEndian.PutUint32(chunk[1:], uint32(width-1)|uint32(height-1)<<14)
	case "VP8X":
		chunk[4], chunk[5], chunk[6] = byte(width-1), byte((width-1)>>8), byte((width-1)>>16)
		chunk[7], chunk[8], chunk[9] = byte(height-1), byte((height-1)>>8), byte((height-1)>>16)
	}
	chunk = append(chunk, make([]byte, 100)...)
	out := []byte("RIFF\x00\x00\x00\x00WEBP" + kind + "\x00\x00\x00\x00")
	binary.LittleEndian.PutUint32(out[4:], uint32(len(chunk)+12))
	binary.LittleEndian.PutUint32(out[16:], uint32(len(chunk)))
	return append(out, chunk...)
}

func TestUploadSniffsTheTypeAndMeasuresImages(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		cases := []struct {
			name, file, wantType string
			body                 []byte
			wantW, wantH         int
		}{
			{"png", "cat.png", "image/png", pngBytes(t, 3, 2), 3, 2},
			{"jpeg past the sniffed head", "photo.jpg", "image/jpeg", jpegWithLongEXIF(t, 17, 9), 17, 9},
			{"gif", "a.gif", "image/gif", gifBytes(t, 7, 6), 7, 6},
			{"lossy webp", "a.webp", "image/webp", webpBytes("VP8 ", 640, 480), 640, 480},
			{"lossless webp", "b.webp", "image/webp", webpBytes("VP8L", 16383, 1), 16383, 1},
			{"extended webp", "c.webp", "image/webp", webpBytes("VP8X", 20000, 3), 20000, 3},
			{"html named like an image", "cat.png", "text/html; charset=utf-8", []byte("<!DOCTYPE html><script>alert(1)</script>"), 0, 0},
			{"broken png", "broken.png", "application/octet-stream", []byte("\x89PNG\r\n\x1a\nnot really"), 0, 0},
			{"text", "notes.txt", "text/plain; charset=utf-8", []byte("hello"), 0, 0},
			{"empty", "empty", "text/plain; charset=utf-8", nil, 0, 0},
		}
		for _, tc := range cases {
			a := w.upload(w.ana, w.conv, tc.file, tc.body)
			if a.ContentType != tc.wantType || a.Width != tc.wantW || a.Height != tc.wantH ||
				a.Size != int64(len(tc.body)) || a.Name != tc.file || a.ID == "" {
				t.Errorf("%s: got %+v, want %s %dx%d of %d bytes", tc.name, a, tc.wantType, tc.wantW, tc.wantH, len(tc.body))
				continue
			}
			var row Attachment
			err := w.d.QueryRowContext(context.Background(), `SELECT id, name, content_type, size, width, height
				FROM attachments WHERE id = $1 AND conversation_id = $2 AND uploader_id = $3 AND message_id IS NULL`,
				a.ID, w.conv, w.ana).Scan(&row.ID, &row.Name, &row.ContentType, &row.Size, &row.Width, &row.Height)
			if err != nil || row != a {
				t.Errorf("%s: row %+v (%v), want %+v", tc.name, row, err, a)
			}
			if got, err := w.readAll(w.ana, a.ID); err != nil || !bytes.Equal(got, tc.body) {
				t.Errorf("%s: read back %d bytes, %v", tc.name, len(got), err)
			}
		}
		w.wantStored(len(cases), len(cases))
	})
}

func TestUploadByAStrangerStoresNothing(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		ctx := context.Background()
		for _, conv := range []string{w.conv, "no-such-conversation"} {
			_, err := w.svc.Upload(ctx, w.cy, conv, "x.png", bytes.NewReader(pngBytes(t, 1, 1)), 1<<20, w.store)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("stranger's upload to %s: %v, want ErrNotFound", conv, err)
			}
		}
		w.wantStored(0, 0)
	})
}

// leavingReader removes a member from the conversation halfway through
// their upload.
type leavingReader struct {
	r     io.Reader
	leave func()
	done  bool
}

func (l *leavingReader) Read(p []byte) (int, error) {
	if !l.done {
		l.done = true
		l.leave()
	}
	return l.r.Read(p)
}

func TestUploadBySomeoneWhoLeftMeanwhileStoresNothing(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		ctx := context.Background()
		body := &leavingReader{r: strings.NewReader("bye"), leave: func() {
			if err := w.svc.RemoveMember(ctx, w.bo, w.conv, w.bo); err != nil {
				t.Errorf("leave: %v", err)
			}
		}}
		if _, err := w.svc.Upload(ctx, w.bo, w.conv, "x.txt", body, 1<<20, w.store); !errors.Is(err, ErrNotFound) {
			t.Fatalf("upload: %v, want ErrNotFound", err)
		}
		w.wantStored(0, 0)
	})
}

func TestUploadOverTheLimitStoresNothing(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		ctx := context.Background()
		for _, limit := range []int64{10, 1000, 100_000} {
			_, err := w.svc.Upload(ctx, w.ana, w.conv, "big", bytes.NewReader(make([]byte, limit+1)), limit, w.store)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("limit %d: %v, want ErrTooLarge", limit, err)
			}
		}
		// A body that never ends is refused once it passes the limit.
		_, err := w.svc.Upload(ctx, w.ana, w.conv, "endless", zeros{}, 4096, w.store)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("endless body: %v, want ErrTooLarge", err)
		}
		w.wantStored(0, 0)
		a, err := w.svc.Upload(ctx, w.ana, w.conv, "exact", bytes.NewReader(make([]byte, 1000)), 1000, w.store)
		if err != nil || a.Size != 1000 {
			t.Fatalf("a body of exactly the limit: %+v, %v", a, err)
		}
		w.wantStored(1, 1)
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// brokenReader yields n bytes, then fails like a dropped connection.
type brokenReader struct{ n int }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), b.n)
	clear(p[:k])
	b.n -= k
	return k, nil
}

func TestInterruptedUploadStoresNothing(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		for _, n := range []int{0, 100, 100_000} {
			_, err := w.svc.Upload(context.Background(), w.ana, w.conv, "cut", &brokenReader{n: n}, 1<<20, w.store)
			if !errors.Is(err, ErrUploadInterrupted) {
				t.Fatalf("after %d bytes: %v, want ErrUploadInterrupted", n, err)
			}
		}
		w.wantStored(0, 0)
	})
}

func TestCleanFilename(t *testing.T) {
	long := strings.Repeat("é", 300)
	cases := map[string]string{
		"report.pdf":                  "report.pdf",
		"":                            "file",
		"   ":                         "file",
		"..":                          "file",
		"../../etc/passwd":            "passwd",
		`C:\Users\ana\cat.png`:        "cat.png",
		"dir/":                        "file",
		"a\x00b\nc\td\x7f.txt":        "abcd.txt",
		"invoice\u202Efdp.exe":        "invoicefdp.exe",
		"bad\xffutf8.txt":             "badutf8.txt",
		"  spaced name .txt  ":        "spaced name .txt",
		long + ".txt":                 strings.Repeat("é", MaxFilename-4) + ".txt",
		long:                          strings.Repeat("é", MaxFilename),
		long + "." + long:             strings.Repeat("é", MaxFilename),
		"日本語のファイル名.docx":              "日本語のファイル名.docx",
		"emoji 🎉 party.gif":           "emoji 🎉 party.gif",
		"\u200fright-to-left mark.js": "right-to-left mark.js",
	}
	for in, want := range cases {
		if got := cleanFilename(in); got != want {
			t.Errorf("cleanFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServedAsNeverShowsActiveContentInline(t *testing.T) {
	cases := []struct {
		stored, served string
		inline         bool
	}{
		{"image/png", "image/png", true},
		{"image/jpeg", "image/jpeg", true},
		{"image/gif", "image/gif", true},
		{"image/webp", "image/webp", true},
		{"image/svg+xml", "application/octet-stream", false},
		{"text/html; charset=utf-8", "application/octet-stream", false},
		{"text/xml; charset=utf-8", "application/octet-stream", false},
		{"text/plain; charset=utf-8", "application/octet-stream", false},
		{"application/javascript", "application/octet-stream", false},
		{"application/pdf", "application/pdf", false},
		{"video/mp4", "video/mp4", false},
		{"audio/mpeg", "audio/mpeg", false},
		{"image/bmp", "image/bmp", false},
		{"application/octet-stream", "application/octet-stream", false},
		{"garbage;;", "application/octet-stream", false},
	}
	for _, tc := range cases {
		served, inline := servedAs(tc.stored)
		if served != tc.served || inline != tc.inline {
			t.Errorf("servedAs(%q) = %q, %v; want %q, %v", tc.stored, served, inline, tc.served, tc.inline)
		}
	}
}

// claim runs resolveAttachments for a new message in a transaction that
// also inserts the message, as Send does.
func (w *attachWorld) claim(conv, sender string, ids ...string) ([]Attachment, string, error) {
	var (
		out []Attachment
		id  = newID()
	)
	err := w.d.Tx(context.Background(), func(tx *sql.Tx) error {
		var err error
		if out, err = w.svc.resolveAttachments(context.Background(), tx, conv, sender, id, ids); err != nil {
			return err
		}
		_, err = tx.ExecContext(context.Background(), `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, body, created_at)
			VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1000 FROM messages), $3, $1, '', $4)`, id, conv, sender, w.svc.now())
		return err
	})
	return out, id, err
}

func (w *attachWorld) messageOf(id string) string {
	w.t.Helper()
	var m sql.NullString
	if err := w.d.QueryRowContext(context.Background(), `SELECT message_id FROM attachments WHERE id = $1`, id).Scan(&m); err != nil {
		w.t.Fatal(err)
	}
	return m.String
}

func TestResolveAttachmentsTakesOnlyTheSendersUnusedUploadsHere(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		a1 := w.upload(w.ana, w.conv, "one.txt", []byte("1"))
		a2 := w.upload(w.ana, w.conv, "two.png", pngBytes(t, 4, 4))
		bos := w.upload(w.bo, w.conv, "bo.txt", []byte("bo"))
		elsewhere := w.upload(w.ana, w.other, "other.txt", []byte("x"))

		refused := map[string][]string{
			"another conversation's":  {a1.ID, elsewhere.ID},
			"another member's":        {bos.ID},
			"unknown":                 {"no-such-attachment"},
			"the same one twice":      {a1.ID, a1.ID},
			"more than MaxAttachment": strings.Split(strings.Repeat("x,", MaxAttachments)+"x", ","),
		}
		for name, ids := range refused {
			_, _, err := w.claim(w.conv, w.ana, ids...)
			wantProblem(t, err, http.StatusUnprocessableEntity, "attachments")
			if m := w.messageOf(a1.ID); m != "" {
				t.Fatalf("%s: a refused claim still marked %s used by %s", name, a1.ID, m)
			}
		}

		got, msgID, err := w.claim(w.conv, w.ana, a2.ID, a1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != a2 || got[1] != a1 {
			t.Fatalf("claimed %+v, want [%+v %+v] in the order given", got, a2, a1)
		}
		if w.messageOf(a1.ID) != msgID || w.messageOf(a2.ID) != msgID {
			t.Fatal("claimed attachments are not marked with their message")
		}
		_, _, err = w.claim(w.conv, w.ana, a1.ID)
		wantProblem(t, err, http.StatusUnprocessableEntity, "attachments")
		if w.messageOf(a1.ID) != msgID {
			t.Fatal("a second claim moved the attachment")
		}
	})
}

func TestOpenAttachmentIsForMembersOnly(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		ctx := context.Background()
		a := w.upload(w.ana, w.conv, "plan.txt", []byte("the plan"))

		// A draft is its uploader's alone.
		if _, err := w.readAll(w.bo, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another member read a draft: %v", err)
		}
		m, _, err := w.svc.Send(ctx, w.ana, w.conv, SendInput{ClientID: "with-file", Attachments: []string{a.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Attachments) != 1 || m.Attachments[0] != a {
			t.Fatalf("message attachments %+v, want [%+v]", m.Attachments, a)
		}
		for _, member := range []string{w.ana, w.bo} {
			if got, err := w.readAll(member, a.ID); err != nil || string(got) != "the plan" {
				t.Fatalf("member read %q, %v", got, err)
			}
		}
		got, f, created, err := w.svc.OpenAttachment(ctx, w.bo, a.ID, w.store)
		if err != nil || got != a || created.IsZero() {
			t.Fatalf("open = %+v at %v, %v", got, created, err)
		}
		f.Close()
		for _, who := range []string{w.cy, "nobody"} {
			if _, err := w.readAll(who, a.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s opened it: %v, want ErrNotFound", who, err)
			}
		}
		if _, err := w.readAll(w.ana, "no-such-attachment"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}

		// Leaving ends access; a deleted message takes its files along.
		if err := w.svc.RemoveMember(ctx, w.bo, w.conv, w.bo); err != nil {
			t.Fatal(err)
		}
		if _, err := w.readAll(w.bo, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a former member read it: %v", err)
		}
		if err := w.svc.Delete(ctx, w.ana, w.conv, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.readAll(w.ana, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("read an attachment of a deleted message: %v", err)
		}
	})
}

func TestPruneAttachmentsRemovesStaleDraftsAndDeletedMessagesFiles(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		ctx := context.Background()
		stale := w.upload(w.ana, w.conv, "stale.txt", []byte("old draft"))
		sent := w.upload(w.ana, w.conv, "sent.txt", []byte("sent"))
		gone := w.upload(w.ana, w.conv, "gone.txt", []byte("deleted"))
		if _, _, err := w.svc.Send(ctx, w.ana, w.conv, SendInput{ClientID: "kept", Attachments: []string{sent.ID}}); err != nil {
			t.Fatal(err)
		}
		m, _, err := w.svc.Send(ctx, w.ana, w.conv, SendInput{ClientID: "deleted", Attachments: []string{gone.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.svc.Delete(ctx, w.ana, w.conv, m.ID); err != nil {
			t.Fatal(err)
		}
		w.clock = w.clock.Add(2 * time.Hour)
		fresh := w.upload(w.ana, w.conv, "fresh.txt", []byte("new draft"))

		n, err := w.svc.PruneAttachments(ctx, w.store, time.Hour)
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v; want 2", n, err)
		}
		w.wantStored(2, 2)
		for _, a := range []Attachment{sent, fresh} {
			if _, err := w.readAll(w.ana, a.ID); err != nil {
				t.Errorf("%s: %v", a.Name, err)
			}
		}
		if _, _, err := w.claim(w.conv, w.ana, stale.ID); err == nil {
			t.Fatal("a pruned draft was still usable")
		}
		if n, err := w.svc.PruneAttachments(ctx, w.store, time.Hour); err != nil || n != 0 {
			t.Fatalf("second prune: %d, %v", n, err)
		}
	})
}

// attachServer serves the messenger's API, taking the caller's user id
// from the X-Test-User header in place of a session.
func attachServer(t *testing.T, w *attachWorld, maxUpload int64) *httptest.Server {
	rt := httpx.NewRouter(slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	h := NewHTTP(w.svc, w.store)
	h.MaxUpload = maxUpload
	h.Routes(rt)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-User"); id != "" {
			r = r.WithContext(auth.WithPrincipal(r.Context(), &auth.Principal{User: auth.User{ID: id, Role: auth.RoleMember}}))
		}
		rt.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, user, method, path string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func decodeAttachment(t *testing.T, resp *http.Response) Attachment {
	t.Helper()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	var a Attachment
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/attachments/"+a.ID {
		t.Fatalf("Location %q", loc)
	}
	return a
}

func TestAttachmentHTTPUploadAndDownload(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		srv := attachServer(t, w, 64<<10)
		ctx := context.Background()
		upPath := "/api/v1/conversations/" + w.conv + "/attachments"

		// A raw body, its name in the query; the declared type is ignored.
		img := pngBytes(t, 5, 3)
		pic := decodeAttachment(t, do(t, srv, w.ana, "POST", upPath+"?name=cat%20photo.png", bytes.NewReader(img),
			"Content-Type", "text/html"))
		if pic.ContentType != "image/png" || pic.Width != 5 || pic.Height != 3 || pic.Name != "cat photo.png" {
			t.Fatalf("uploaded %+v", pic)
		}

		// A multipart form with a "file" part; the page inside is HTML.
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		_ = mw.WriteField("note", "ignored")
		fw, _ := mw.CreateFormFile("file", "résumé.html")
		_, _ = fw.Write([]byte("<html><body><script>alert(document.cookie)</script>"))
		mw.Close()
		page := decodeAttachment(t, do(t, srv, w.ana, "POST", upPath, &form, "Content-Type", mw.FormDataContentType()))
		if page.ContentType != "text/html; charset=utf-8" || page.Name != "résumé.html" {
			t.Fatalf("uploaded %+v", page)
		}

		if _, _, err := w.svc.Send(ctx, w.ana, w.conv, SendInput{ClientID: "files", Attachments: []string{pic.ID, page.ID}}); err != nil {
			t.Fatal(err)
		}

		resp := do(t, srv, w.bo, "GET", "/api/v1/attachments/"+pic.ID, nil)
		got, _ := io.ReadAll(resp.Body)
		h := resp.Header
		if resp.StatusCode != 200 || !bytes.Equal(got, img) || h.Get("Content-Type") != "image/png" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "inline") {
			t.Fatalf("image: %d %s, %d bytes", resp.StatusCode, h, len(got))
		}

		resp = do(t, srv, w.bo, "GET", "/api/v1/attachments/"+page.ID, nil)
		h = resp.Header
		if resp.StatusCode != 200 || h.Get("Content-Type") != "application/octet-stream" ||
			h.Get("Content-Disposition") != "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.html" {
			t.Fatalf("html page: %d %s", resp.StatusCode, h)
		}
		for _, r := range []*http.Response{resp} {
			if r.Header.Get("X-Content-Type-Options") != "nosniff" ||
				r.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
				t.Fatalf("missing protective headers: %s", r.Header)
			}
		}

		// Ranges and revalidation.
		resp = do(t, srv, w.bo, "GET", "/api/v1/attachments/"+pic.ID, nil, "Range", "bytes=0-3")
		got, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, img[:4]) {
			t.Fatalf("range: %d %q", resp.StatusCode, got)
		}
		resp = do(t, srv, w.bo, "GET", "/api/v1/attachments/"+pic.ID, nil, "If-None-Match", `"`+pic.ID+`"`)
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("revalidation: %d", resp.StatusCode)
		}

		// Strangers and the anonymous learn nothing.
		if resp := do(t, srv, w.cy, "GET", "/api/v1/attachments/"+pic.ID, nil); resp.StatusCode != 404 {
			t.Fatalf("stranger download: %d", resp.StatusCode)
		}
		if resp := do(t, srv, "", "GET", "/api/v1/attachments/"+pic.ID, nil); resp.StatusCode != 401 {
			t.Fatalf("anonymous download: %d", resp.StatusCode)
		}
		if resp := do(t, srv, w.cy, "POST", upPath+"?name=x", strings.NewReader("x")); resp.StatusCode != 404 {
			t.Fatalf("stranger upload: %d", resp.StatusCode)
		}
		var noFile bytes.Buffer
		mw = multipart.NewWriter(&noFile)
		_ = mw.WriteField("note", "where is the file?")
		mw.Close()
		if resp := do(t, srv, w.ana, "POST", upPath, &noFile, "Content-Type", mw.FormDataContentType()); resp.StatusCode != 400 {
			t.Fatalf("multipart without a file part: %d", resp.StatusCode)
		}
		w.wantStored(2, 2)
	})
}

func TestAttachmentHTTPRefusesTooLargeUploads(t *testing.T) {
	attachEach(t, func(t *testing.T, w *attachWorld) {
		const limit = 64 << 10
		srv := attachServer(t, w, limit)
		upPath := "/api/v1/conversations/" + w.conv + "/attachments"
		wantTooLarge := func(what string, resp *http.Response) {
			t.Helper()
			var p httpx.Problem
			_ = json.NewDecoder(resp.Body).Decode(&p)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || p.Type != httpx.ProblemTypePrefix+"too-large" {
				t.Fatalf("%s: %d %+v, want a 413 problem", what, resp.StatusCode, p)
			}
		}
		// Declared too long: refused before reading.
		wantTooLarge("with Content-Length", do(t, srv, w.ana, "POST", upPath, bytes.NewReader(make([]byte, limit+1))))
		// Chunked, so only reading finds out.
		wantTooLarge("chunked", do(t, srv, w.ana, "POST", upPath, io.MultiReader(bytes.NewReader(make([]byte, limit+1)))))
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		fw, _ := mw.CreateFormFile("file", "big.bin")
		_, _ = fw.Write(make([]byte, limit+1))
		mw.Close()
		wantTooLarge("multipart", do(t, srv, w.ana, "POST", upPath, &form, "Content-Type", mw.FormDataContentType()))
		w.wantStored(0, 0)

		decodeAttachment(t, do(t, srv, w.ana, "POST", upPath, bytes.NewReader(make([]byte, limit))))
		w.wantStored(1, 1)
	})
}

// FuzzCleanFilename: whatever name a client sends, what is kept is a
// single, printable, bounded path element, and cleaning it again changes
// nothing.
func FuzzCleanFilename(f *testing.F) {
	for _, s := range []string{"a.txt", "../x", `C:\a\b.png`, "\u202egnp.exe", "\xff\xfe", " . ", strings.Repeat("é ", 150) + ".tar.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := cleanFilename(in)
		bad := out == "" || out == "." || out == ".." || !utf8.ValidString(out) ||
			utf8.RuneCountInString(out) > MaxFilename || strings.ContainsAny(out, `/\`) ||
			strings.ContainsFunc(out, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) })
		if bad {
			t.Fatalf("cleanFilename(%q) = %q", in, out)
		}
		if again := cleanFilename(out); again != out {
			t.Fatalf("cleanFilename(%q) = %q, but cleaning that gives %q", in, out, again)
		}
	})
}

// FuzzImageSize: reading an image header never panics, and a size it
// reports is positive.
func FuzzImageSize(f *testing.F) {
	f.Add(pngBytes(f, 2, 2))
	f.Add(jpegWithLongEXIF(f, 3, 3))
	f.Add(gifBytes(f, 4, 4))
	for _, kind := range []string{"VP8 ", "VP8L", "VP8X"} {
		f.Add(webpBytes(kind, 5, 5))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		contentType := http.DetectContentType(data)
		width, height, ok := imageSize(bytes.NewReader(data), contentType)
		if ok && (width <= 0 || height <= 0) {
			t.Fatalf("%s: size %dx%d", contentType, width, height)
		}
		if ok && !isInlineImage(contentType) {
			t.Fatalf("measured a %s", contentType)
		}
	})
}
