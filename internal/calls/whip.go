package calls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/sfu"
)

// WHIP (RFC 9725) lets a program — OBS, ffmpeg, GStreamer, a device, a bot
// — publish into a call with one HTTP request, and WHEP lets one watch it.
// Both take an SDP offer with every candidate gathered (trickle is not
// offered: PATCH answers 405) and answer 201 with the SDP answer and a
// Location that DELETE ends. The same rules as for devices apply: only
// members of the call's conversation, only the sources the call's kind
// allows.

// WHIPRoutes registers the WHIP and WHEP endpoints.
func (h *HTTP) WHIPRoutes(rt *httpx.Router, m *Media) {
	rt.Handle("POST /api/v1/calls/{id}/whip", m.whip)
	rt.Handle("DELETE /api/v1/calls/{id}/whip/{session}", m.endSession("whip"))
	rt.Handle("POST /api/v1/calls/{id}/whep", m.whep)
	rt.Handle("DELETE /api/v1/calls/{id}/whep/{session}", m.endSession("whep"))
}

// readSDP reads an application/sdp body.
func readSDP(w http.ResponseWriter, r *http.Request) (string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/sdp" {
		return "", httpx.NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Unsupported media type", "send the offer as application/sdp")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSDP))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", httpx.TooLarge(MaxSDP)
	case err != nil:
		return "", httpx.BadRequest("the offer could not be read")
	}
	return string(body), nil
}

// whipSources decides what each sending media section of a WHIP offer
// carries, since a WHIP client cannot say: the first audio is the
// microphone, the first video the camera (the screen where cameras are
// not allowed).
func whipSources(offer string, perms sfu.Permissions) (map[string]sfu.Source, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, httpx.NewProblem(http.StatusBadRequest, "bad-sdp", "Bad session description", err.Error())
	}
	out := map[string]sfu.Source{}
	taken := map[string]bool{}
	for _, md := range sd.MediaDescriptions {
		mid, _ := md.Attribute("mid")
		kind := md.MediaName.Media
		if taken[kind] {
			continue // a second one of a kind stays undeclared, and is refused
		}
		switch kind {
		case "audio":
			out[mid] = sfu.Microphone
		case "video":
			out[mid] = sfu.Camera
			if !perms.May(sfu.Camera) {
				out[mid] = sfu.Screen
			}
		default:
			continue
		}
		taken[kind] = true
	}
	return out, nil
}

func newSessionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// session prepares a WHIP or WHEP session: the caller must be allowed in
// the call, which must live on this node.
func (m *Media) session(r *http.Request) (Call, *auth.Principal, *sfu.Room, error) {
	p, err := auth.Need(r)
	if err != nil {
		return Call{}, nil, nil, err
	}
	c, err := m.svc.Get(r.Context(), p.User.ID, r.PathValue("id"))
	if err != nil {
		return Call{}, nil, nil, Problem(err)
	}
	if c.State == Ended {
		return Call{}, nil, nil, Problem(ErrEnded)
	}
	home, err := m.homeOf(r.Context(), c.ID)
	if err != nil {
		return Call{}, nil, nil, err
	}
	if home != m.svc.cfg.Node {
		return Call{}, nil, nil, httpx.NewProblem(http.StatusConflict, "call-elsewhere", "Call is on another node",
			"this call's media is on node "+home)
	}
	room, err := m.sfu.Room(c.ID)
	return c, p, room, err
}

func (m *Media) whip(w http.ResponseWriter, r *http.Request) error {
	offer, err := readSDP(w, r)
	if err != nil {
		return err
	}
	c, p, room, err := m.session(r)
	if err != nil {
		return err
	}
	perms := permissions(c, p.User.ID)
	sources, err := whipSources(offer, perms)
	if err != nil {
		return err
	}
	if _, err := m.svc.Join(r.Context(), p.User.ID, c.ID); err != nil {
		return Problem(err)
	}
	session := newSessionID()
	part, err := room.Join(p.User.ID+"~whip-"+session, sfu.Permissions{Publish: perms.Publish}, nil)
	if err != nil {
		return mediaProblem(err)
	}
	m.trackPresence(c.ID, p.User.ID, part)
	answer, err := part.Publish(offer, sources)
	if err != nil {
		part.Leave()
		return mediaProblem(err)
	}
	return m.answered(w, r, "whip", session, part, answer)
}

func (m *Media) whep(w http.ResponseWriter, r *http.Request) error {
	offer, err := readSDP(w, r)
	if err != nil {
		return err
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return httpx.NewProblem(http.StatusBadRequest, "bad-sdp", "Bad session description", err.Error())
	}
	c, p, room, err := m.session(r)
	if err != nil {
		return err
	}
	// A viewer is answered with what is published; when it comes before
	// the publisher's first packets, it waits a little for them.
	wait, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	room.WaitForTracks(wait)
	cancel()
	session := newSessionID()
	part, answer, err := room.Watch(p.User.ID+"~whep-"+session, offer)
	if err != nil {
		return mediaProblem(err)
	}
	m.trackPresence(c.ID, p.User.ID, part)
	return m.answered(w, r, "whep", session, part, answer)
}

func (m *Media) answered(w http.ResponseWriter, r *http.Request, kind, session string, part *sfu.Participant, answer string) error {
	m.mu.Lock()
	m.programs[kind+"/"+session] = program{part: part, callID: r.PathValue("id")}
	delete(m.empty, r.PathValue("id"))
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/api/v1/calls/"+r.PathValue("id")+"/"+kind+"/"+session)
	w.Header().Set("ETag", `"`+session+`"`)
	w.WriteHeader(http.StatusCreated)
	_, err := io.WriteString(w, answer)
	return err
}

// endSession ends a WHIP or WHEP session; only its owner may.
func (m *Media) endSession(kind string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := auth.Need(r)
		if err != nil {
			return err
		}
		key := kind + "/" + r.PathValue("session")
		m.mu.Lock()
		prog, ok := m.programs[key]
		if !ok || prog.callID != r.PathValue("id") || !strings.HasPrefix(prog.part.ID(), p.User.ID+"~") {
			m.mu.Unlock()
			return httpx.NotFound()
		}
		delete(m.programs, key)
		if !m.hasDevicesLocked(prog.callID) {
			m.empty[prog.callID] = m.svc.now()
		}
		m.mu.Unlock()
		prog.part.Leave()
		if kind == "whip" {
			if err := m.leaveIfLast(r.Context(), p.User.ID, prog.callID); err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}
