package realtime

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeFrame: whatever a client sends, decoding never panics; it
// either yields a frame of a known type that passed its checks, or a frame
// error with a code, and never accepts text that is not UTF-8.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"send","id":"1","conversation_id":"c","client_id":"x","body":"hi"}`,
		`{"v":1,"type":"read","conversation_id":"c","seq":3}`,
		`{"v":1,"type":"watch","user_ids":["a","b"]}`,
		`{"v":1,"type":"presence","status":"away"}`,
		`{"v":1,"type":"ping","id":"p"}`,
		`{"v":2}`, `[]`, `null`, `{"v":1,"type":"send","body":"\ud800"}`, "\xff\xfe", `{"v":1,"type":"read","conversation_id":"c","seq":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := decodeFrame(data)
		if err != nil {
			var fe *frameError
			if !errors.As(err, &fe) || fe.code == "" || fe.detail == "" {
				t.Fatalf("%q: error %v is not a frame error with a code", data, err)
			}
			if b := encodeFrame(errorFrame{V: 1, Type: FrameError, ID: fe.id, Code: fe.code, Detail: fe.detail}); !json.Valid(b) {
				t.Fatalf("error frame is not JSON: %s", b)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("accepted invalid UTF-8: %q", data)
		}
		switch frame.Type {
		case FrameSend, FrameRead, FrameTyping:
			if frame.ConversationID == "" {
				t.Fatalf("%q: %s without a conversation", data, frame.Type)
			}
		case FramePresence, FrameWatch, FramePing:
		default:
			t.Fatalf("%q: accepted unknown type %q", data, frame.Type)
		}
		if frame.V != ProtocolVersion || len(frame.ID) > MaxRequestID || frame.Seq < 0 {
			t.Fatalf("%q: accepted %+v", data, frame)
		}
	})
}
