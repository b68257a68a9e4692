package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newDir(t *testing.T) (*Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blobs")
	d, err := NewDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

// files lists every regular file under root, relative to it.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t *testing.T, s Store, key string) string {
	t.Helper()
	f, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDirStoresReadsAndDeletes(t *testing.T) {
	d, root := newDir(t)
	ctx := context.Background()
	body := strings.Repeat("parley ", 10000)
	n, err := d.Put(ctx, "0190f3a2-7c1e-7b3a-9f00-123456789abc", strings.NewReader(body))
	if err != nil || n != int64(len(body)) {
		t.Fatalf("put: %d, %v", n, err)
	}
	if got := read(t, d, "0190f3a2-7c1e-7b3a-9f00-123456789abc"); got != body {
		t.Fatalf("read back %d bytes, want %d", len(got), len(body))
	}
	f, _ := d.Open(ctx, "0190f3a2-7c1e-7b3a-9f00-123456789abc")
	if _, err := f.Seek(-7, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(f)
	f.Close()
	if string(tail) != "parley " {
		t.Fatalf("seek: read %q", tail)
	}

	// The blob sits one subfolder down, and nothing else was left.
	got := files(t, root)
	if len(got) != 1 || filepath.Base(got[0]) != "0190f3a2-7c1e-7b3a-9f00-123456789abc" || filepath.Dir(got[0]) == "." {
		t.Fatalf("files on disk: %v", got)
	}

	if err := d.Delete(ctx, "0190f3a2-7c1e-7b3a-9f00-123456789abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "0190f3a2-7c1e-7b3a-9f00-123456789abc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open after delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, "0190f3a2-7c1e-7b3a-9f00-123456789abc"); err != nil {
		t.Fatalf("deleting a missing blob: %v", err)
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("files left: %v", got)
	}
}

func TestDirPutReplaces(t *testing.T) {
	d, _ := newDir(t)
	ctx := context.Background()
	for _, body := range []string{"first version", "second"} {
		if _, err := d.Put(ctx, "k", strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, d, "k"); got != "second" {
		t.Fatalf("got %q", got)
	}
}

// failingReader yields some bytes, then fails, like a client that
// disconnects halfway through an upload.
type failingReader struct {
	left int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, r.err
	}
	n := min(len(p), r.left)
	for i := range n {
		p[i] = 'x'
	}
	r.left -= n
	return n, nil
}

func TestDirAbortedPutLeavesNothing(t *testing.T) {
	d, root := newDir(t)
	ctx := context.Background()
	cut := errors.New("connection reset")
	_, err := d.Put(ctx, "upload", &failingReader{left: 1 << 20, err: cut})
	if !errors.Is(err, cut) {
		t.Fatalf("put: %v, want the reader's error", err)
	}
	if _, err := d.Open(ctx, "upload"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open: %v, want ErrNotFound", err)
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("an aborted put left %v", got)
	}
}

func TestDirAbortedPutKeepsThePreviousBlob(t *testing.T) {
	d, root := newDir(t)
	ctx := context.Background()
	if _, err := d.Put(ctx, "k", strings.NewReader("whole")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "k", &failingReader{left: 100, err: io.ErrUnexpectedEOF}); err == nil {
		t.Fatal("put from a failing reader succeeded")
	}
	if got := read(t, d, "k"); got != "whole" {
		t.Fatalf("got %q", got)
	}
	if got := files(t, root); len(got) != 1 {
		t.Fatalf("files on disk: %v", got)
	}
}

// cancelAfter cancels its context once it has yielded n bytes.
type cancelAfter struct {
	n      int
	cancel func()
}

func (r *cancelAfter) Read(p []byte) (int, error) {
	if r.n <= 0 {
		r.cancel()
	}
	n := min(len(p), 4096)
	r.n -= n
	return n, nil
}

func TestDirPutStopsWhenTheContextEnds(t *testing.T) {
	d, root := newDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := d.Put(ctx, "k", &cancelAfter{n: 64 << 10, cancel: cancel}) // endless otherwise
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("put: %v, want context.Canceled", err)
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("a cancelled put left %v", got)
	}
}

func TestDirRefusesBadKeys(t *testing.T) {
	d, root := newDir(t)
	ctx := context.Background()
	bad := []string{"", ".", "..", "../escape", "a/b", `a\b`, "/abs", ".tmp-x", ".hidden", "nul\x00", "sp ace", "é",
		strings.Repeat("k", MaxKeyLen+1)}
	for _, key := range bad {
		if _, err := d.Put(ctx, key, strings.NewReader("x")); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("put %q: %v, want ErrInvalidKey", key, err)
		}
		if _, err := d.Open(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("open %q: %v, want ErrInvalidKey", key, err)
		}
		if err := d.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("delete %q: %v, want ErrInvalidKey", key, err)
		}
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("bad keys wrote %v", got)
	}
	for _, key := range []string{"a", "A.b_c-9", strings.Repeat("k", MaxKeyLen)} {
		if !ValidKey(key) {
			t.Errorf("%q should be valid", key)
		}
	}
}

func TestDirDoesNotFollowLinksOutOfItsFolder(t *testing.T) {
	d, root := newDir(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir, name, _ := location("planted")
	if err := os.MkdirAll(filepath.Join(root, dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(root, filepath.FromSlash(name))); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if f, err := d.Open(context.Background(), "planted"); err == nil {
		f.Close()
		t.Fatal("opened a blob through a link leading out of the store")
	}
}

func TestNewDirRemovesStaleTemporaryFiles(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	if err := os.MkdirAll(filepath.Join(root, "ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(root, "ab", tempPrefix+"old")
	fresh := filepath.Join(root, "ab", tempPrefix+"new")
	blob := filepath.Join(root, "ab", "kept")
	for _, p := range []string{stale, fresh, blob} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	for _, p := range []string{stale, blob} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file survived: %v", err)
	}
	for _, p := range []string{fresh, blob} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestDirSpreadsKeysOverSubfolders(t *testing.T) {
	seen := map[string]bool{}
	for i := range 64 {
		// UUIDv7-like keys sharing a long time prefix.
		dir, _, err := location("0190f3a2-7c1e-7b3a-9f00-" + strings.Repeat("0", 10) + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		if err != nil {
			t.Fatal(err)
		}
		seen[dir] = true
	}
	if len(seen) < 16 {
		t.Fatalf("64 keys landed in only %d subfolders", len(seen))
	}
}

var _ Store = (*Dir)(nil)

func BenchmarkDirPut(b *testing.B) {
	path := filepath.Join(b.TempDir(), "blobs")
	d, err := NewDir(path)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	body := bytes.Repeat([]byte("x"), 1<<20)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := d.Put(context.Background(), "bench", bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
