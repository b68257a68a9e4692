// Package blob stores opaque files — attachments today — by key, behind a
// small interface, so that the local data folder can later be swapped for an
// S3-compatible store. A blob is written whole or not at all: readers never
// see a half-written file, and a failed or abandoned write leaves nothing
// behind.
package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Store keeps blobs by key. Keys are chosen by the caller and must be
// valid (see ValidKey).
type Store interface {
	// Put stores everything r yields under key, replacing any blob already
	// there, and returns its size. When r or the store fails, or ctx ends,
	// nothing is stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the blob for reading; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
}

var (
	ErrNotFound   = errors.New("blob: not found")
	ErrInvalidKey = errors.New("blob: invalid key")
)

// MaxKeyLen bounds a key's length.
const MaxKeyLen = 128

// ValidKey reports whether key may name a blob: 1 to MaxKeyLen ASCII
// letters, digits, '-', '_' or '.', not starting with '.'. Keys can
// therefore never name a folder, climb out of one, or collide with the
// store's own temporary files.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen || key[0] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Dir is a Store in a folder of the local disk. Blobs are spread over 256
// subfolders named by the first byte of the SHA-256 of their key: keys that
// start with a timestamp (UUIDv7) would otherwise all share a prefix and
// pile up in one folder.
//
// Put writes a temporary file in the blob's own subfolder, syncs it and
// renames it into place, then syncs the folder: the rename is atomic, so a
// blob is either absent or complete, even across a crash. All access goes
// through an os.Root, so even a symbolic link planted in the folder cannot
// lead outside it.
type Dir struct {
	root *os.Root
}

const (
	tempPrefix = ".tmp-"
	// staleTemp is how old a temporary file must be for NewDir to remove
	// it: only a crash mid-write leaves one, and no upload runs this long.
	staleTemp = 24 * time.Hour
)

// NewDir opens (creating when missing) the folder at path as a Store and
// removes temporary files that a crash may have left there.
func NewDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", path, err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", path, err)
	}
	d := &Dir{root: root}
	if err := d.removeStaleTemps(time.Now().Add(-staleTemp)); err != nil {
		root.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// location returns the subfolder and the path of key's blob.
func location(key string) (dir, name string, err error) {
	if !ValidKey(key) {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	sum := sha256.Sum256([]byte(key))
	dir = hex.EncodeToString(sum[:1])
	return dir, path.Join(dir, key), nil
}

// Put implements Store.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (size int64, err error) {
	dir, name, err := location(key)
	if err != nil {
		return 0, err
	}
	if err := d.root.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", key, err)
	}
	f, tmp, err := d.createTemp(dir)
	if err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = d.root.Remove(tmp)
		}
	}()
	size, err = io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return 0, fmt.Errorf("blob: put %s: sync: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return 0, fmt.Errorf("blob: put %s: close: %w", key, err)
	}
	// The last chance to abandon the write before it becomes visible.
	if err = ctx.Err(); err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err = d.root.Rename(tmp, name); err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", key, err)
	}
	// Syncing the folder makes the rename survive a power cut; when that
	// fails the write is undone, so that an error always means "not stored".
	if err = d.syncDir(dir); err != nil {
		_ = d.root.Remove(name)
		return 0, fmt.Errorf("blob: put %s: sync folder: %w", key, err)
	}
	return size, nil
}

// createTemp makes a new, exclusive temporary file in dir. (os.Root has
// no CreateTemp.)
func (d *Dir) createTemp(dir string) (*os.File, string, error) {
	for range 10 {
		name := path.Join(dir, tempPrefix+rand.Text())
		f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("cannot create a temporary file")
}

func (d *Dir) syncDir(dir string) error {
	f, err := d.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Open implements Store. The *os.File it returns is an io.ReadSeekCloser.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadSeekCloser, error) {
	_, name, err := location(key)
	if err != nil {
		return nil, err
	}
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	} else if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", key, err)
	}
	return f, nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, key string) error {
	_, name, err := location(key)
	if err != nil {
		return err
	}
	if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// removeStaleTemps deletes temporary files last written before cutoff.
func (d *Dir) removeStaleTemps(cutoff time.Time) error {
	dirs, err := fs.ReadDir(d.root.FS(), ".")
	if err != nil {
		return fmt.Errorf("blob: read %s: %w", d.root.Name(), err)
	}
	for _, sub := range dirs {
		if !sub.IsDir() {
			continue
		}
		entries, err := fs.ReadDir(d.root.FS(), sub.Name())
		if err != nil {
			return fmt.Errorf("blob: read %s: %w", sub.Name(), err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), tempPrefix) {
				continue
			}
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				_ = d.root.Remove(path.Join(sub.Name(), e.Name()))
			}
		}
	}
	return nil
}

// ctxReader stops a copy when its context ends, so an abandoned upload
// does not keep writing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
