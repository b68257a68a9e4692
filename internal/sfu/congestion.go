package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Bandwidth estimation bounds: a new subscriber's estimate starts at
// bweInitial and GCC keeps it between bweMin and bweMax.
const (
	bweInitial = 1_000_000
	bweMin     = 50_000
	bweMax     = 20_000_000
)

// A subscribe connection needs a bandwidth estimate only to choose
// simulcast layers. Pion's sender-side GCC costs on every packet sent
// (the transport-wide sequence number, OnSent bookkeeping) and on every
// RTCP packet read (a copy and a parse): at 50 subscribers of a plain
// camera it was a quarter of the server's forwarding work
// (docs/PERFORMANCE.md). So each connection's GCC sits behind a gate that
// is closed until the connection first carries a simulcast track; while
// closed, packets and feedback go straight past it. Once open it stays
// open (the estimator's history would be wrong after a gap).

// ccGate is one connection's switch for its congestion-control
// interceptors (the TWCC header extension and GCC).
type ccGate struct{ on atomic.Bool }

// ccGates hands the interceptors of one connection the same gate, by the
// connection's id, until the participant takes it with the connection.
type ccGates struct{ m sync.Map } // connection id → *ccGate

func (g *ccGates) get(id string) *ccGate {
	v, _ := g.m.LoadOrStore(id, &ccGate{})
	return v.(*ccGate)
}

func (g *ccGates) take(id string) *ccGate {
	if v, ok := g.m.LoadAndDelete(id); ok {
		return v.(*ccGate)
	}
	return &ccGate{} // no congestion control registered: a gate nobody reads
}

// gatedFactory builds an interceptor that is bypassed while its
// connection's gate is closed.
type gatedFactory struct {
	inner interceptor.Factory
	gates *ccGates
}

func (f *gatedFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	in, err := f.inner.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &gated{inner: in, gate: f.gates.get(id)}, nil
}

// gated binds its inner interceptor to everything, and picks per packet
// whether the packet goes through it or past it.
type gated struct {
	inner interceptor.Interceptor
	gate  *ccGate
}

func (g *gated) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	through := g.inner.BindRTCPReader(reader)
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		if g.gate.on.Load() {
			return through.Read(b, a)
		}
		return reader.Read(b, a)
	})
}

func (g *gated) BindRTCPWriter(writer interceptor.RTCPWriter) interceptor.RTCPWriter {
	return g.inner.BindRTCPWriter(writer)
}

func (g *gated) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	through := g.inner.BindLocalStream(info, writer)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if g.gate.on.Load() {
			return through.Write(h, payload, a)
		}
		return writer.Write(h, payload, a)
	})
}

func (g *gated) UnbindLocalStream(info *interceptor.StreamInfo) { g.inner.UnbindLocalStream(info) }

func (g *gated) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	return g.inner.BindRemoteStream(info, reader)
}

func (g *gated) UnbindRemoteStream(info *interceptor.StreamInfo) { g.inner.UnbindRemoteStream(info) }

func (g *gated) Close() error { return g.inner.Close() }

// registerCongestionControl gives every connection a sender-side bandwidth
// estimator (Google Congestion Control over TWCC feedback), behind its
// gate, so the SFU knows how much a subscriber of a simulcast track can
// receive and picks layers to match. The pacer is a no-op: the estimate
// only chooses layers, it must never delay or queue forwarded packets.
func (s *SFU) registerCongestionControl(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(bweInitial),
			gcc.SendSideBWEMinBitrate(bweMin),
			gcc.SendSideBWEMaxBitrate(bweMax),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(id string, e cc.BandwidthEstimator) { s.estimators.Store(id, e) })
	ir.Add(&gatedFactory{inner: f, gates: &s.gates})
	// Sequence numbers for TWCC on what the SFU sends; subscribers answer
	// with feedback that the estimator reads.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return err
		}
	}
	ext, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return err
	}
	ir.Add(&gatedFactory{inner: ext, gates: &s.gates})
	return nil
}
