package calls_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/db/dbtest"
	"github.com/parley-chat/parley/internal/sfu"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func startServer(t *testing.T, mods ...func(*app.Config)) string {
	t.Helper()
	url, _ := startApp(t, mods...)
	return url
}

// startApp starts a server and returns its URL and the app behind it.
func startApp(t *testing.T, mods ...func(*app.Config)) (string, *app.App) {
	t.Helper()
	cfg := app.Config{
		DB: "sqlite:" + dbtest.SQLiteDSN(t), DataDir: t.TempDir(),
		Argon2: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1},
		RTC:    sfu.Config{ListenIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1},
	}
	for _, m := range mods {
		m(&cfg)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	return srv.URL, a
}

var seq atomic.Int64

// device is a person's browser stand-in: an SDK stream for signaling and
// Pion for media.
type device struct {
	t      *testing.T
	c      *client.Client
	user   client.User
	stream *client.Stream
	api    *webrtc.API
	pub    *webrtc.PeerConnection
	sub    *webrtc.PeerConnection
	callID string
	config webrtc.Configuration // the publish connection's (ICE servers, policy)
	stop   chan struct{}
	// ending: the call is being ended, and a renegotiation it cut short
	// is no failure.
	ending atomic.Bool

	mu       sync.Mutex
	received map[string]*atomic.Int64
	events   []client.Event
	drawn    []map[string]any
	states   []string // the state of every call frame, in order
}

func newDevice(t *testing.T, url, name string) *device {
	t.Helper()
	c, _ := client.New(url)
	u, err := c.Signup(context.Background(), fmt.Sprintf("%s-%d@example.com", strings.ToLower(name), seq.Add(1)), name, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	ir := &interceptor.Registry{}
	_ = webrtc.RegisterDefaultInterceptors(me, ir)
	d := &device{t: t, c: c, user: u, stop: make(chan struct{}), received: map[string]*atomic.Int64{},
		api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))}
	d.stream = c.Stream(context.Background(), client.StreamOptions{OnFrame: d.onFrame, OnEvent: func(ev client.Event) {
		d.mu.Lock()
		d.events = append(d.events, ev)
		d.mu.Unlock()
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.stream.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	return d
}

func (d *device) close() {
	select {
	case <-d.stop:
		return
	default:
		close(d.stop)
	}
	d.stream.Close()
	for _, pc := range []*webrtc.PeerConnection{d.pub, d.sub} {
		if pc != nil {
			pc.Close()
		}
	}
}

func gather(pc *webrtc.PeerConnection, desc webrtc.SessionDescription) error {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return err
	}
	<-done
	return nil
}

// onFrame answers the server's subscribe offers.
func (d *device) onFrame(f client.Frame) {
	if f.Type == "call" {
		var c struct {
			Call struct{ State string } `json:"call"`
		}
		_ = json.Unmarshal(f.Raw, &c)
		d.mu.Lock()
		d.states = append(d.states, c.Call.State)
		d.mu.Unlock()
		return
	}
	if f.Type != "rtc" {
		return
	}
	var msg struct {
		Signal     sfu.Signal     `json:"signal"`
		Annotation map[string]any `json:"annotation"`
	}
	if err := json.Unmarshal(f.Raw, &msg); err != nil {
		return
	}
	if msg.Annotation != nil {
		d.mu.Lock()
		d.drawn = append(d.drawn, msg.Annotation)
		d.mu.Unlock()
		return
	}
	if msg.Signal.Type != "offer" {
		return
	}
	go func() {
		sub := d.subscriber()
		err := sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: msg.Signal.SDP})
		var answer webrtc.SessionDescription
		if err == nil {
			answer, err = sub.CreateAnswer(nil)
		}
		if err == nil {
			err = gather(sub, answer)
		}
		if err == nil {
			_, err = d.stream.Request(context.Background(), map[string]any{"type": "rtc", "call_id": d.callID, "action": "answer", "sdp": sub.LocalDescription().SDP})
		}
		select {
		case <-d.stop:
		default:
			if err != nil && !d.ending.Load() {
				d.t.Errorf("%s: answering the subscribe offer: %v", d.user.Name, err)
			}
		}
	}()
}

func (d *device) subscriber() *webrtc.PeerConnection {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sub == nil {
		d.sub, _ = d.api.NewPeerConnection(webrtc.Configuration{})
		d.sub.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			n := &atomic.Int64{}
			d.mu.Lock()
			d.received[tr.ID()] = n
			d.mu.Unlock()
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				n.Add(1)
			}
		})
	}
	return d.sub
}

func (d *device) rtc(action string, extra map[string]any) (json.RawMessage, error) {
	f := map[string]any{"type": "rtc", "call_id": d.callID, "action": action}
	for k, v := range extra {
		f[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return d.stream.Request(ctx, f)
}

// publish sends synthetic media for the sources over the call.
func (d *device) publish(sources ...sfu.Source) error {
	pc, err := d.api.NewPeerConnection(d.config)
	if err != nil {
		return err
	}
	d.pub = pc
	tracks := map[sfu.Source]*webrtc.TrackLocalStaticSample{}
	for _, src := range sources {
		codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}
		if kind, _ := src.Kind(); kind == webrtc.RTPCodecTypeAudio {
			codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}
		}
		tr, _ := webrtc.NewTrackLocalStaticSample(codec, string(src), d.user.ID)
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return err
		}
		tracks[src] = tr
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	if err := gather(pc, offer); err != nil {
		return err
	}
	mids := map[string]string{}
	for _, tr := range pc.GetTransceivers() {
		mids[tr.Mid()] = tr.Sender().Track().ID()
	}
	raw, err := d.rtc("publish", map[string]any{"sdp": pc.LocalDescription().SDP, "sources": mids})
	if err != nil {
		return err
	}
	var ack struct {
		SDP string `json:"sdp"`
	}
	_ = json.Unmarshal(raw, &ack)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ack.SDP}); err != nil {
		return err
	}
	for _, tr := range tracks {
		go func() {
			frame := make([]byte, 500)
			_, _ = rand.Read(frame)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-d.stop:
					return
				case <-tick.C:
					if tr.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}) != nil {
						return
					}
				}
			}
		}()
	}
	return nil
}

func (d *device) count(suffix string) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for id, c := range d.received {
		if strings.HasSuffix(id, suffix) {
			n += c.Load()
		}
	}
	return n
}

func (d *device) sawEvent(typ string) *client.Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.events {
		if d.events[i].Type == typ {
			return &d.events[i]
		}
	}
	return nil
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestAVideoCallOverTheGatewayCarriesMediaBothWays(t *testing.T) {
	url, a := startApp(t)
	ctx := context.Background()
	ana, bo := newDevice(t, url, "Ana"), newDevice(t, url, "Bo")
	conv, err := ana.c.OpenDirect(ctx, bo.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	call, err := ana.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo's device to ring", func() bool { return bo.sawEvent("call.started") != nil })
	ana.callID, bo.callID = call.ID, call.ID
	for _, d := range []*device{ana, bo} {
		if _, err := d.rtc("connect", nil); err != nil {
			t.Fatalf("%s connect: %v", d.user.Name, err)
		}
	}
	eventually(t, "ana's device to hear the call was answered", func() bool {
		ana.mu.Lock()
		defer ana.mu.Unlock()
		return slices.Contains(ana.states, "active")
	})
	if err := ana.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatal(err)
	}
	if err := bo.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo to receive ana's camera and microphone", func() bool { return bo.count(":camera") > 20 && bo.count(":microphone") > 20 })
	eventually(t, "ana to receive bo's camera and microphone", func() bool { return ana.count(":camera") > 20 && ana.count(":microphone") > 20 })

	// Leaving takes a device out of the media: a renegotiation it cuts
	// short is expected.
	bo.ending.Store(true)
	ana.ending.Store(true)
	got, _ := bo.c.CallAction(ctx, call.ID, "leave")
	if got.State != "active" {
		t.Fatalf("after bo left, the call is %s; ana is still in it", got.State)
	}
	// Leaving through the API takes bo's device out of the media too.
	room, _ := a.SFU.LookupRoom(call.ID)
	for _, p := range room.Participants() {
		if strings.HasPrefix(p, bo.user.ID+"~") {
			t.Fatalf("bo left the call but his device %s is still in its room", p)
		}
	}
	got, _ = ana.c.CallAction(ctx, call.ID, "leave")
	if got.State != "ended" || got.EndReason != "completed" {
		t.Fatalf("after both left: %+v", got)
	}
	eventually(t, "the end of the call in the history", func() bool { return bo.sawEvent("call.ended") != nil })
}

func TestAVoiceCallRefusesACamera(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	ana, bo := newDevice(t, url, "Ana"), newDevice(t, url, "Bo")
	conv, _ := ana.c.OpenDirect(ctx, bo.user.ID)
	call, err := ana.c.StartCall(ctx, conv.ID, "voice")
	if err != nil {
		t.Fatal(err)
	}
	ana.callID = call.ID
	if _, err := ana.rtc("connect", nil); err != nil {
		t.Fatal(err)
	}
	err = ana.publish(sfu.Microphone, sfu.Camera)
	var fe *client.FrameError
	if !errors.As(err, &fe) || fe.Code != "forbidden-source" {
		t.Fatalf("a camera in a voice call: %v, want forbidden-source", err)
	}
	// An outsider cannot connect to the call at all.
	eve := newDevice(t, url, "Eve")
	eve.callID = call.ID
	if _, err := eve.rtc("connect", nil); !errors.As(err, &fe) || fe.Code != "not-found" {
		t.Fatalf("an outsider connecting: %v, want not-found", err)
	}
	if _, err := eve.rtc("publish", map[string]any{"sdp": "v=0"}); !errors.As(err, &fe) || fe.Code != "not-connected" {
		t.Fatalf("publishing without connecting: %v", err)
	}
}

func TestAPreferFrameSetsTheSizeAReceivedTrackIsShownAt(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	ana, bo := newDevice(t, url, "Ana"), newDevice(t, url, "Bo")
	conv, _ := ana.c.OpenDirect(ctx, bo.user.ID)
	call, err := ana.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	ana.callID, bo.callID = call.ID, call.ID
	for _, d := range []*device{ana, bo} {
		if _, err := d.rtc("connect", nil); err != nil {
			t.Fatalf("%s connect: %v", d.user.Name, err)
		}
	}
	if err := ana.publish(sfu.Camera); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo to receive ana's camera", func() bool { return bo.count(":camera") > 10 })
	var camera string
	bo.mu.Lock()
	for id := range bo.received {
		camera = id
	}
	bo.mu.Unlock()
	// The SFU takes it (a camera that is not simulcast is sent as it is).
	if _, err := bo.rtc("prefer", map[string]any{"track_id": camera, "max_width": 320, "max_height": 180}); err != nil {
		t.Fatalf("prefer a received track: %v", err)
	}
	var fe *client.FrameError
	if _, err := bo.rtc("prefer", map[string]any{"track_id": "nobody:camera", "max_width": 320}); !errors.As(err, &fe) || fe.Code != "unknown-track" {
		t.Fatalf("prefer a track not received: %v, want unknown-track", err)
	}
	if _, err := bo.rtc("prefer", map[string]any{"track_id": camera, "max_width": -1}); !errors.As(err, &fe) || fe.Code != "bad-frame" {
		t.Fatalf("a negative width: %v, want bad-frame", err)
	}
}

// annotations returns the drawings the device was shown, in arrival order.
func (d *device) annotations() []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]map[string]any(nil), d.drawn...)
}

func TestAnnotationsOverASharedScreenArriveInOrderOnEverySide(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	customer, helper := newDevice(t, url, "Customer"), newDevice(t, url, "Helper")
	conv, _ := customer.c.OpenDirect(ctx, helper.user.ID)
	call, err := customer.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	customer.callID, helper.callID = call.ID, call.ID
	raw, err := customer.rtc("connect", nil)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		ParticipantID string `json:"participant_id"`
	}
	_ = json.Unmarshal(raw, &me)
	if _, err := helper.rtc("connect", nil); err != nil {
		t.Fatal(err)
	}
	if err := customer.publish(sfu.Microphone, sfu.Screen); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the helper to see the screen", func() bool { return helper.count(":screen") > 10 })

	const parts = 20
	for i := range parts {
		x := float64(i) / parts
		if _, err := helper.rtc("annotate", map[string]any{"annotation": map[string]any{
			"target": me.ParticipantID, "op": "stroke", "tool": "pen", "color": "#ff3b30", "stroke": "s1",
			"points": [][2]float64{{x, 0.5}, {x + 0.01, 0.5}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := helper.rtc("annotate", map[string]any{"annotation": map[string]any{"target": me.ParticipantID, "op": "undo"}}); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*device{"customer": customer, "helper": helper} {
		eventually(t, "the "+name+" to see every drawing", func() bool { return len(d.annotations()) == parts+1 })
		for i, a := range d.annotations() {
			if a["seq"].(float64) != float64(i+1) {
				t.Fatalf("%s: drawing %d has seq %v: out of order", name, i, a["seq"])
			}
		}
		if last := d.annotations()[parts]; last["op"] != "undo" || last["user_id"] != helper.user.ID {
			t.Fatalf("%s: last drawing %v", name, last)
		}
	}

	var fe *client.FrameError
	for _, bad := range []map[string]any{
		{"target": me.ParticipantID, "op": "stroke", "tool": "pen", "color": "#ff3b30", "stroke": "s2", "points": [][2]float64{{1.5, 0.2}}},
		{"target": me.ParticipantID, "op": "stroke", "tool": "laser-beam", "color": "#ff3b30", "stroke": "s2", "points": [][2]float64{{0.5, 0.2}}},
		{"target": "nobody~here", "op": "clear"},
		{"target": me.ParticipantID, "op": "explode"},
	} {
		if _, err := helper.rtc("annotate", map[string]any{"annotation": bad}); !errors.As(err, &fe) || fe.Code != "validation" {
			t.Fatalf("annotation %v: %v, want a validation error", bad, err)
		}
	}
	// A device that comes late catches up from the call's record.
	raw, err = helper.rtc("annotations", map[string]any{"after": 15})
	if err != nil {
		t.Fatal(err)
	}
	var history struct {
		Annotations []struct{ Seq int64 } `json:"annotations"`
	}
	_ = json.Unmarshal(raw, &history)
	if len(history.Annotations) != parts+1-15 || history.Annotations[0].Seq != 16 {
		t.Fatalf("history after 15: %+v", history.Annotations)
	}
}

func TestARelayOnlyClientReachesTheCallThroughTheEmbeddedTURN(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	ana, bo := newDevice(t, url, "Ana"), newDevice(t, url, "Bo")
	conv, _ := ana.c.OpenDirect(ctx, bo.user.ID)
	call, err := ana.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	ana.callID, bo.callID = call.ID, call.ID
	raw, err := ana.rtc("connect", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		ICEServers []webrtc.ICEServer `json:"ice_servers"`
	}
	if err := json.Unmarshal(raw, &ack); err != nil || len(ack.ICEServers) != 1 || ack.ICEServers[0].Username == "" {
		t.Fatalf("connect gave no TURN server: %s", raw)
	}
	// Ana's network lets nothing through but the relay.
	ana.config = webrtc.Configuration{ICEServers: ack.ICEServers, ICETransportPolicy: webrtc.ICETransportPolicyRelay}
	if _, err := bo.rtc("connect", nil); err != nil {
		t.Fatal(err)
	}
	if err := ana.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bo to receive ana's relayed media", func() bool { return bo.count(":camera") > 20 })
	pair, err := ana.pub.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Fatalf("ana's media did not go through the relay: %v %v", pair, err)
	}

	// Wrong credentials get no relay.
	server := strings.TrimSuffix(strings.TrimPrefix(ack.ICEServers[0].URLs[0], "turn:"), "?transport=udp")
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: server, Username: ack.ICEServers[0].Username,
		Password: "wrong", Realm: "parley", Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.Listen(); err != nil {
		t.Fatal(err)
	}
	if relay, err := tc.Allocate(); err == nil {
		relay.Close()
		t.Fatal("a relay was allocated with a wrong password")
	}
}

// sdpRequest posts an SDP offer to a WHIP or WHEP endpoint.
func sdpRequest(t *testing.T, method, url, token, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/sdp")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestWHIPPublishAndWHEPPlayback(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	ana, bo, eve := newDevice(t, url, "Ana"), newDevice(t, url, "Bo"), newDevice(t, url, "Eve")
	conv, _ := ana.c.OpenDirect(ctx, bo.user.ID)
	call, err := ana.c.StartCall(ctx, conv.ID, "video")
	if err != nil {
		t.Fatal(err)
	}
	anaToken, _ := ana.c.CreateToken(ctx, "obs")
	boToken, _ := bo.c.CreateToken(ctx, "player")
	eveToken, _ := eve.c.CreateToken(ctx, "snoop")

	// Ana publishes from "OBS": one offer with all candidates, no signaling.
	pub, _ := ana.api.NewPeerConnection(webrtc.Configuration{})
	defer pub.Close()
	var tracks []*webrtc.TrackLocalStaticSample
	for _, codec := range []string{webrtc.MimeTypeOpus, webrtc.MimeTypeVP8} {
		tr, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: codec}, codec, "obs")
		if _, err := pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		tracks = append(tracks, tr)
	}
	offer, _ := pub.CreateOffer(nil)
	_ = gather(pub, offer)
	whip := url + "/api/v1/calls/" + call.ID + "/whip"
	if res := sdpRequest(t, "POST", whip, eveToken, pub.LocalDescription().SDP); res.StatusCode != 404 {
		t.Fatalf("an outsider's WHIP: %d, want 404", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", whip, strings.NewReader(pub.LocalDescription().SDP))
	req.Header.Set("Authorization", "Bearer "+anaToken)
	req.Header.Set("Content-Type", "text/plain")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 415 {
		t.Fatalf("WHIP without application/sdp: %v %v", res.StatusCode, err)
	}
	res := sdpRequest(t, "POST", whip, anaToken, pub.LocalDescription().SDP)
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode != 201 || res.Header.Get("Content-Type") != "application/sdp" || res.Header.Get("Location") == "" {
		t.Fatalf("WHIP: %d %q location %q: %s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Location"), answer)
	}
	location := res.Header.Get("Location")
	if err := pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range tracks {
		go func() {
			frame := make([]byte, 400)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for range tick.C {
				if tr.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond}) != nil {
					return
				}
			}
		}()
	}

	// Bo watches with WHEP.
	view, _ := bo.api.NewPeerConnection(webrtc.Configuration{})
	defer view.Close()
	var video, audio atomic.Int64
	view.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := &audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			n = &video
		}
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			n.Add(1)
		}
	})
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := view.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, _ = view.CreateOffer(nil)
	_ = gather(view, offer)
	res = sdpRequest(t, "POST", url+"/api/v1/calls/"+call.ID+"/whep", boToken, view.LocalDescription().SDP)
	answer, _ = io.ReadAll(res.Body)
	if res.StatusCode != 201 {
		t.Fatalf("WHEP: %d %s", res.StatusCode, answer)
	}
	if err := view.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "WHEP to play WHIP's video and audio", func() bool { return video.Load() > 20 && audio.Load() > 20 })

	if res := sdpRequest(t, "DELETE", url+location, boToken, ""); res.StatusCode != 404 {
		t.Fatalf("someone else ending ana's WHIP session: %d, want 404", res.StatusCode)
	}
	if res := sdpRequest(t, "DELETE", url+location, anaToken, ""); res.StatusCode != 200 {
		t.Fatalf("ending the WHIP session: %d", res.StatusCode)
	}
	if res := sdpRequest(t, "DELETE", url+location, anaToken, ""); res.StatusCode != 404 {
		t.Fatalf("ending it twice: %d", res.StatusCode)
	}
}

func TestAHelpCallIsOneWay(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	customer, helper := newDevice(t, url, "Customer"), newDevice(t, url, "Helper")
	conv, _ := customer.c.OpenDirect(ctx, helper.user.ID)
	// The customer asks for help; the other person is the helper.
	call, err := customer.c.StartHelpCall(ctx, conv.ID, "customer")
	if err != nil {
		t.Fatal(err)
	}
	if call.Kind != "help" || !call.OneWay {
		t.Fatalf("a help call: %+v", call)
	}
	for _, m := range call.Members {
		want := map[string]string{customer.user.ID: "customer", helper.user.ID: "helper"}[m.UserID]
		if m.Role != want {
			t.Fatalf("member %s has role %q, want %q", m.UserID, m.Role, want)
		}
	}
	customer.callID, helper.callID = call.ID, call.ID
	perms := map[*device]sfu.Permissions{}
	for _, d := range []*device{customer, helper} {
		raw, err := d.rtc("connect", nil)
		if err != nil {
			t.Fatalf("%s connect: %v", d.user.Name, err)
		}
		var ack struct {
			ParticipantID string          `json:"participant_id"`
			Permissions   sfu.Permissions `json:"permissions"`
		}
		_ = json.Unmarshal(raw, &ack)
		perms[d] = ack.Permissions
	}
	if p := perms[customer]; p.May(sfu.Camera) || !p.May(sfu.Screen) || !p.May(sfu.Microphone) || p.Annotate {
		t.Fatalf("the customer's permissions: %+v", p)
	}
	if p := perms[helper]; !p.May(sfu.Camera) || p.May(sfu.Screen) || !p.Annotate {
		t.Fatalf("the helper's permissions: %+v", p)
	}

	// The server, not the page, keeps the customer's camera off.
	var fe *client.FrameError
	if err := customer.publish(sfu.Microphone, sfu.Camera); !errors.As(err, &fe) || fe.Code != "forbidden-source" {
		t.Fatalf("a customer's camera: %v, want forbidden-source", err)
	}
	customer.pub.Close()
	if err := customer.publish(sfu.Microphone, sfu.Screen); err != nil {
		t.Fatal(err)
	}
	if err := helper.publish(sfu.Microphone, sfu.Camera); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the helper to receive the customer's screen and voice", func() bool {
		return helper.count(":screen") > 20 && helper.count(":microphone") > 20
	})
	eventually(t, "the customer to see the helper", func() bool { return customer.count(":camera") > 20 })
	if n := helper.count(":camera"); n != 0 {
		t.Fatalf("the helper received %d packets of a customer camera", n)
	}
	// Only the helper draws.
	if _, err := customer.rtc("annotate", map[string]any{"annotation": map[string]any{"target": "x", "op": "clear"}}); !errors.As(err, &fe) || fe.Code != "forbidden" {
		t.Fatalf("a customer drawing: %v, want forbidden", err)
	}
}
