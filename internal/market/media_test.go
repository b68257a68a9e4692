package market

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/blob"
	"github.com/parley-chat/parley/internal/httpx"
)

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPhotosAndVideosAreSniffedOwnedAndShownOnlyOncePublic(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		store, err := blob.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		f.svc.cfg.Blobs = store
		ana, bo := f.user("Ana"), f.user("Bo")
		photo, err := f.svc.UploadMedia(f.ctx, ana, bytes.NewReader(pngBytes(t)))
		if err != nil || photo.Kind != "photo" || photo.ContentType != "image/png" {
			t.Fatalf("a PNG: %+v %v", photo, err)
		}
		mp4 := append([]byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'}, make([]byte, 2000)...)
		video, err := f.svc.UploadMedia(f.ctx, ana, bytes.NewReader(mp4))
		if err != nil || video.Kind != "video" || video.ContentType != "video/mp4" {
			t.Fatalf("an MP4: %+v %v", video, err)
		}
		for name, body := range map[string]string{
			"SVG":   `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`,
			"HTML":  `<!DOCTYPE html><script>alert(1)</script>`,
			"empty": "",
		} {
			_, err := f.svc.UploadMedia(f.ctx, ana, strings.NewReader(body))
			var p *httpx.Problem
			if !errors.As(err, &p) || p.Status != 415 {
				t.Fatalf("%s: %v, want 415", name, err)
			}
		}
		// Only the owner may use a file, and only as its kind.
		a := application("art-music")
		a.Photo = video.ID
		if _, err := f.svc.Apply(f.ctx, ana, a); !strings.Contains(strings.Join(fields(err), ","), "photo") {
			t.Fatalf("a video as a photo: %v", err)
		}
		a.Photo = photo.ID
		if _, err := f.svc.Apply(f.ctx, bo, a); !strings.Contains(strings.Join(fields(err), ","), "photo") {
			t.Fatalf("someone else's photo: %v", err)
		}
		if _, err := f.svc.Apply(f.ctx, ana, a); err != nil {
			t.Fatal(err)
		}
		// Not public until the expert is approved; the owner sees it.
		if _, _, err := f.svc.OpenMedia(f.ctx, bo, false, photo.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a pending expert's photo shown to others: %v", err)
		}
		if _, err := f.svc.ReviewExpert(f.ctx, f.operator(), ana, "approve", ""); err != nil {
			t.Fatal(err)
		}
		_, r, err := f.svc.OpenMedia(f.ctx, bo, false, photo.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, pngBytes(t)) {
			t.Fatal("the photo came back different")
		}
		if _, _, err := f.svc.OpenMedia(f.ctx, bo, false, video.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("an intro video of no public listing shown: %v", err)
		}
	})
}
