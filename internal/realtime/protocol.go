package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ProtocolVersion is the version of the frames in docs/PROTOCOL.md. Frames
// may gain fields within a version; clients ignore what they do not know.
const ProtocolVersion = 1

// Frame types a client sends.
const (
	FrameSend     = "send"     // a message; answered by ack or error
	FrameRead     = "read"     // move the read cursor
	FrameTyping   = "typing"   // "I am typing" in a conversation
	FramePresence = "presence" // this device's status: active or away
	FrameWatch    = "watch"    // follow the presence of some people
	FramePing     = "ping"     // application-level keepalive; answered by pong
)

// Frame types the server sends.
const (
	FrameHello    = "hello"
	FrameAck      = "ack"
	FrameError    = "error"
	FrameEvent    = "event"
	FrameReceipt  = "receipt"
	FramePong     = "pong"
	FrameTypingTo = "typing"
	FrameStatus   = "presence"
	FrameCall     = "call"   // a call's state changed: ringing, joined, ended
	FrameDesk     = "desk"   // the help desk's news for one person: an offer, a request's place in line
	FrameNotice   = "notice" // a notice for one person: a session's reminder
)

// inFrame is any frame a client may send; which fields matter depends on
// Type. Decoding is strict: unknown fields are refused, so a typo does not
// pass silently.
type inFrame struct {
	V              int      `json:"v"`
	Type           string   `json:"type"`
	ID             string   `json:"id,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	ClientID       string   `json:"client_id,omitempty"`
	Body           string   `json:"body,omitempty"`
	ReplyTo        string   `json:"reply_to,omitempty"`
	Mentions       []string `json:"mentions,omitempty"`
	Attachments    []string `json:"attachments,omitempty"`
	Seq            int64    `json:"seq,omitempty"`
	Status         string   `json:"status,omitempty"`
	UserIDs        []string `json:"user_ids,omitempty"`

	raw []byte // the whole frame, for an Extension
}

// Limits on what a client may send in one frame.
const (
	MaxFrameBytes = 64 << 10
	MaxRequestID  = 64
	MaxWatch      = 1000
)

// frameError is a bad frame: its code goes back to the client in an error
// frame, with the request id when the frame had one.
type frameError struct {
	code, detail, id string
}

func (e *frameError) Error() string { return e.code + ": " + e.detail }

func badFrame(id, detail string) *frameError {
	return &frameError{code: "bad-frame", detail: detail, id: id}
}

// decodeFrame parses and checks one client frame.
func decodeFrame(data []byte) (inFrame, error) {
	var f inFrame
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, changing
	// what the person sent.
	if !utf8.Valid(data) {
		return f, badFrame("", "frames must be valid UTF-8")
	}
	if ext, ok := extensionFrame(data); ok {
		return ext, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, badFrame("", "not a valid frame: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return f, badFrame(f.ID, "one JSON object per message")
	}
	if len(f.ID) > MaxRequestID {
		return f, badFrame("", fmt.Sprintf("id is longer than %d bytes", MaxRequestID))
	}
	if f.V != ProtocolVersion {
		return f, &frameError{code: "unsupported-version", detail: fmt.Sprintf("this server speaks v%d", ProtocolVersion), id: f.ID}
	}
	switch f.Type {
	case FrameSend:
		if f.ConversationID == "" {
			return f, badFrame(f.ID, "send needs conversation_id")
		}
	case FrameRead:
		if f.ConversationID == "" || f.Seq < 0 {
			return f, badFrame(f.ID, "read needs conversation_id and seq ≥ 0")
		}
	case FrameTyping:
		if f.ConversationID == "" {
			return f, badFrame(f.ID, "typing needs conversation_id")
		}
	case FramePresence:
		if f.Status != "active" && f.Status != "away" {
			return f, badFrame(f.ID, `presence status must be "active" or "away"`)
		}
	case FrameWatch:
		if len(f.UserIDs) > MaxWatch {
			return f, badFrame(f.ID, fmt.Sprintf("watch at most %d people", MaxWatch))
		}
	case FramePing:
	case "":
		return f, badFrame(f.ID, "missing type")
	default:
		return f, &frameError{code: "unknown-type", detail: "unknown frame type " + f.Type, id: f.ID}
	}
	return f, nil
}

// FrameRTC is the calls' signaling frame, served by an Extension.
const FrameRTC = "rtc"

// extensionFrame recognises a frame an Extension serves and keeps its raw
// bytes for it: the extension decodes (strictly) what only it knows.
func extensionFrame(data []byte) (inFrame, bool) {
	var head struct {
		V    int    `json:"v"`
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if json.Unmarshal(data, &head) != nil || head.Type != FrameRTC || head.V != ProtocolVersion || len(head.ID) > MaxRequestID {
		return inFrame{}, false
	}
	return inFrame{V: head.V, Type: head.Type, ID: head.ID, raw: data}, true
}

// errNotMember is returned for a conversation the connection's user is not
// in: the same answer as for one that does not exist.
var errNotMember = errors.New("realtime: no such conversation")

// Server frames are built by hand around pre-encoded payloads, so an event
// is encoded once for every recipient on every node.
func eventFrame(event []byte) []byte {
	return wrapFrame(FrameEvent, "event", event)
}

func wrapFrame(typ, field string, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+len(typ)+len(field)+32)
	b = append(b, `{"v":1,"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, field...)
	b = append(b, `":`...)
	b = append(b, payload...)
	b = append(b, '}')
	return b
}

func encodeFrame(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("realtime: encode frame: " + err.Error())
	}
	return b
}

type ackFrame struct {
	V       int    `json:"v"`
	Type    string `json:"type"`
	ID      string `json:"id"`
	Message any    `json:"message,omitempty"`
	ReadSeq *int64 `json:"read_seq,omitempty"`
	Created *bool  `json:"created,omitempty"`
}

type errorFrame struct {
	V      int    `json:"v"`
	Type   string `json:"type"`
	ID     string `json:"id,omitempty"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Fields any    `json:"errors,omitempty"`
}

type helloFrame struct {
	V            int    `json:"v"`
	Type         string `json:"type"`
	UserID       string `json:"user_id"`
	ConnectionID string `json:"connection_id"`
	Node         string `json:"node"`
	PingSeconds  int    `json:"ping_interval"`
}
