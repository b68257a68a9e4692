// Package sfu is Parley's media server: rooms of participants who publish
// audio, camera, screen and screen audio tracks and receive each other's,
// with what each may publish and receive decided by the server (a help
// customer never publishes a camera, whatever its browser offers). All
// media of the node goes through one UDP port (ICE UDP mux), with ICE over
// one TCP port as a fallback.
//
// Each participant has two PeerConnections: one it offers on to publish,
// and one the server offers on to send it others' tracks. Negotiation then
// never collides (no glare), and a subscriber's renegotiation never
// disturbs what it publishes.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Source is what a track carries.
type Source string

const (
	Microphone  Source = "microphone"
	Camera      Source = "camera"
	Screen      Source = "screen"
	ScreenAudio Source = "screen_audio"
)

// Kind is the media kind a source must have.
func (s Source) Kind() (webrtc.RTPCodecType, bool) {
	switch s {
	case Microphone, ScreenAudio:
		return webrtc.RTPCodecTypeAudio, true
	case Camera, Screen:
		return webrtc.RTPCodecTypeVideo, true
	}
	return 0, false
}

// Permissions say what a participant may do in a room. The server enforces
// them; a client's UI only reflects them.
type Permissions struct {
	Publish   []Source `json:"publish"`
	Subscribe bool     `json:"subscribe"`
	Annotate  bool     `json:"annotate"`
}

// May reports whether src may be published.
func (p Permissions) May(src Source) bool {
	for _, s := range p.Publish {
		if s == src {
			return true
		}
	}
	return false
}

// Config sets up the media server; zero fields take the defaults.
type Config struct {
	// UDPPort carries all media (ICE UDP mux); 0 picks a free port.
	UDPPort int
	// TCPPort carries ICE over TCP for networks that block UDP; 0 picks a
	// free port, -1 turns it off.
	TCPPort int
	// ListenIP is the address the media ports bind to (default all).
	ListenIP string
	// PublicIPs are announced instead of the host's own addresses (1:1 NAT).
	PublicIPs []string
	// IncludeLoopback offers 127.0.0.1 candidates (tests, one-machine demos).
	IncludeLoopback bool
	// MaxParticipants per room (50) and MaxTracks per participant (4).
	MaxParticipants int
	MaxTracks       int
	// DisconnectTimeout: a participant whose connection is gone this long
	// is removed (5 s).
	DisconnectTimeout time.Duration
	// TURNPort is the embedded TURN relay's UDP port (0 picks a free one,
	// -1 turns it off).
	TURNPort int
}

func (c Config) withDefaults() Config {
	if c.MaxParticipants == 0 {
		c.MaxParticipants = 50
	}
	if c.MaxTracks == 0 {
		c.MaxTracks = 4
	}
	if c.DisconnectTimeout == 0 {
		c.DisconnectTimeout = 5 * time.Second
	}
	return c
}

// Errors callers map to answers.
var (
	ErrRoomFull        = errors.New("sfu: room is full")
	ErrAlreadyJoined   = errors.New("sfu: already in the room")
	ErrForbiddenSource = errors.New("sfu: source not allowed")
	ErrTooManyTracks   = errors.New("sfu: too many tracks")
	ErrBadSDP          = errors.New("sfu: malformed session description")
	ErrClosed          = errors.New("sfu: closed")
	ErrNoSubscribe     = errors.New("sfu: may not receive")
)

// SFU is the media server of one node.
type SFU struct {
	cfg    Config
	log    *slog.Logger
	pubAPI *webrtc.API // publish connections
	subAPI *webrtc.API // subscribe connections

	udp       net.PacketConn
	batch     *batchConn // udp as the ICE mux writes to it
	tcp       net.Listener
	turn      *turnServer
	closeMuxs func()

	// estimators holds each PeerConnection's bandwidth estimator by the
	// connection's id, from its creation until the participant takes it;
	// gates the switch that turns it on (congestion.go).
	estimators sync.Map // string → cc.BandwidthEstimator
	gates      ccGates

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
}

// New opens the media ports and builds the WebRTC stack.
func New(cfg Config, log *slog.Logger) (*SFU, error) {
	cfg = cfg.withDefaults()
	ip := net.ParseIP(cfg.ListenIP)
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("sfu: media UDP port: %w", err)
	}
	s := &SFU{cfg: cfg, log: log.With("component", "sfu"), udp: udp, rooms: map[string]*Room{}}

	se := webrtc.SettingEngine{}
	s.batch = newBatchConn(udp)
	udpMux := webrtc.NewICEUDPMux(nil, s.batch)
	se.SetICEUDPMux(udpMux)
	var tcpMux interface{ Close() error }
	if cfg.TCPPort >= 0 {
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: cfg.TCPPort})
		if err != nil {
			udp.Close()
			return nil, fmt.Errorf("sfu: media TCP port: %w", err)
		}
		s.tcp = tcp
		m := webrtc.NewICETCPMux(nil, tcp, 8)
		se.SetICETCPMux(m)
		tcpMux = m
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6})
	}
	s.closeMuxs = func() {
		_ = udpMux.Close()
		if tcpMux != nil {
			_ = tcpMux.Close()
		}
	}
	if len(cfg.PublicIPs) > 0 {
		// Behind 1:1 NAT, host candidates announce the public addresses.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			s.Close()
			return nil, fmt.Errorf("sfu: public IPs: %w", err)
		}
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	se.SetICETimeouts(cfg.DisconnectTimeout/2, cfg.DisconnectTimeout, time.Second)

	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		s.Close()
		return nil, err
	}
	// Browsers put each packet's audio level in a header extension: the
	// active speaker is known without decoding audio.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		s.Close()
		return nil, err
	}
	// Publish and subscribe connections get different interceptors: each
	// of pion's receiving-side interceptors runs a ticker per connection
	// (NACK and TWCC feedback every 100 ms, receiver reports every second),
	// which a subscribe connection, receiving no media, would run for
	// nothing: two thousand wake-ups a second at 100 subscribers. Both
	// share one media engine, so every offer says the same.
	pubIR, subIR := &interceptor.Registry{}, &interceptor.Registry{}
	if err := s.registerCongestionControl(me, subIR); err != nil {
		s.Close()
		return nil, err
	}
	if err := registerPublishInterceptors(me, pubIR); err != nil {
		s.Close()
		return nil, err
	}
	s.pubAPI = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(pubIR), webrtc.WithSettingEngine(se))
	s.subAPI = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(subIR), webrtc.WithSettingEngine(se))
	if cfg.TURNPort >= 0 {
		if s.turn, err = startTURN(cfg, ownAddresses(cfg)); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// registerPublishInterceptors sets up what pion does on a publish
// connection; a subscribe connection has only congestion control
// (congestion.go). Not pion's defaults, which would add these costs on
// every packet sent to every subscriber:
//
//   - the NACK responder, which copies each packet per subscriber to
//     answer retransmission requests; the SFU answers them itself from one
//     cache per published stream (packetCache), so only NACK generation
//     (asking publishers to resend what the SFU lost) is pion's;
//   - the stats interceptor, which clones each packet's header into its
//     records; nothing in Parley reads pion's RTP stream statistics;
//   - the sender-report interceptor, which takes a lock and reads the
//     clock on every packet to every subscriber; the SFU counts what it
//     sends and writes the reports itself (reports.go).
//
// What stays: NACK and PLI feedback, receiver reports, TWCC
// feedback to publishers (their browsers' bandwidth estimates), and the
// mid, rid and repaired-rid header extensions that let a simulcast
// publisher's layers arrive as separate tracks.
func registerPublishInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	generator, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(generator)
	// Receiver reports to publishers are pion's; sender reports to
	// subscribers are the SFU's own (reports.go).
	receiver, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	ir.Add(receiver)
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(me, ir)
}

// newPublishConnection opens a connection a participant publishes on.
func (s *SFU) newPublishConnection() (*webrtc.PeerConnection, error) {
	return s.pubAPI.NewPeerConnection(webrtc.Configuration{})
}

// newSubscribeConnection opens a connection a participant receives on,
// and returns it with its bandwidth estimator (nil if pion made none) and
// the gate that turns congestion control on for it.
func (s *SFU) newSubscribeConnection() (*webrtc.PeerConnection, cc.BandwidthEstimator, *ccGate, error) {
	pc, err := s.subAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, nil, err
	}
	gate := s.gates.take(pc.ID())
	e, ok := s.estimators.LoadAndDelete(pc.ID())
	if !ok {
		return pc, nil, gate, nil
	}
	return pc, e.(cc.BandwidthEstimator), gate, nil
}

// UDPAddr is the media UDP port's address.
func (s *SFU) UDPAddr() net.Addr { return s.udp.LocalAddr() }

// TCPAddr is the ICE-TCP port's address, or nil when off.
func (s *SFU) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Room returns the room with id, creating it.
func (s *SFU) Room(id string) (*Room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	r := s.rooms[id]
	if r == nil {
		r = newRoom(s, id)
		s.rooms[id] = r
	}
	return r, nil
}

// LookupRoom returns an existing room.
func (s *SFU) LookupRoom(id string) (*Room, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[id]
	return r, ok
}

func (s *SFU) forget(r *Room) {
	s.mu.Lock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
	}
	s.mu.Unlock()
}

// Close ends every room and releases the media ports.
func (s *SFU) Close() {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.Close()
	}
	if s.closeMuxs != nil {
		s.closeMuxs()
	}
	if s.turn != nil {
		s.turn.close()
	}
	_ = s.udp.Close()
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
}
