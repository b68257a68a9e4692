package realtime

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/httpx"
)

// gorillaWriteBuffers is gorilla's write-buffer pool. Parley writes its
// frames itself (write.go), so gorilla never takes a buffer from it; with a
// pool set, it does not give each connection one of its own either.
var gorillaWriteBuffers sync.Pool

// Handler answers GET /api/v1/ws: it upgrades an authenticated request to a
// WebSocket. A browser (which sends cookies on its own) must connect from
// this site's origin; a program with a bearer token may connect from
// anywhere.
func (g *Gateway) Handler(trustedOrigins []string) http.HandlerFunc {
	upgrader := websocket.Upgrader{
		// Parley reads and writes the socket itself (read.go, write.go);
		// gorilla's buffers, never used, cost nothing.
		ReadBufferSize:    1,
		WriteBufferSize:   4096,
		WriteBufferPool:   &gorillaWriteBuffers,
		HandshakeTimeout:  10 * time.Second,
		EnableCompression: false,
		// A page that offers its token as a subprotocol also offers
		// "parley.v1", which the server picks (a browser refuses a
		// handshake that picks none of those it offered).
		Subprotocols: []string{"parley.v1"},
		CheckOrigin: func(r *http.Request) bool {
			origin := r.Header.Get("Origin")
			if origin == "" || r.Header.Get("Authorization") != "" || auth.WebSocketToken(r) != "" {
				return true
			}
			u, err := url.Parse(origin)
			if err != nil {
				return false
			}
			if strings.EqualFold(u.Host, r.Host) {
				return true
			}
			for _, t := range trustedOrigins {
				if strings.EqualFold(strings.TrimSuffix(t, "/"), origin) {
					return true
				}
			}
			return false
		},
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			httpx.WriteError(w, r, g.log, httpx.NewProblem(status, "websocket", "WebSocket handshake failed", reason.Error()))
		},
	}
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := auth.Need(r)
		if err != nil {
			httpx.WriteError(w, r, g.log, err)
			return
		}
		select {
		case <-g.draining:
			httpx.WriteError(w, r, g.log, httpx.NewProblem(http.StatusServiceUnavailable, "draining",
				"Node is shutting down", "connect again; another node will answer"))
			return
		default:
		}
		ws, err := upgrader.Upgrade(w, r, http.Header{httpx.RequestIDHeader: {httpx.RequestID(r.Context())}})
		if err != nil {
			return // the upgrader has answered
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		// The connection is served on a goroutine of its own and the
		// handler returns: net/http's goroutine (whose stack the middleware
		// chain has grown), its buffers and the request are freed, which
		// more than halves what an idle connection costs.
		g.connsWG.Add(1) // done when the connection finishes
		go g.serve(ws, p, host)
	}
}

func newConnID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serve sets up one connection, then hands its socket to the poller and
// returns (or, where the socket cannot be polled, reads it until it
// closes). The connection ends in conn.finish.
func (g *Gateway) serve(ws *websocket.Conn, p *auth.Principal, host string) {
	c := &conn{
		g: g, ws: ws, nc: ws.NetConn(), id: newConnID(), userID: p.User.ID, host: host, sessionID: p.SessionID, tokenID: p.TokenID,
		convs: map[string]struct{}{}, status: "active", closeSent: make(chan struct{}),
		limiter:    rate.NewLimiter(rate.Limit(g.cfg.FrameRate), g.cfg.FrameBurst),
		lastTyping: map[string]time.Time{},
		reading:    true, // this goroutine, until the poller takes over
	}
	c.raw = pollable(c.nc)
	c.flushShard = g.flushers.shard()
	g.readers.Add(1)
	if err := g.attach(context.Background(), c); err != nil {
		g.log.Warn("attach connection", "user", c.userID, "err", err)
		g.detach(c)
		c.closeAndWait(websocket.CloseInternalServerErr, "try again")
		_ = ws.Close()
		g.readers.Add(-1)
		g.connsWG.Done()
		return
	}
	g.presence.localChanged(c.userID)
	c.send(encodeFrame(helloFrame{V: ProtocolVersion, Type: FrameHello, UserID: c.userID, ConnectionID: c.id,
		Node: g.cfg.Node, PingSeconds: int(g.cfg.PingInterval / time.Second)}))

	c.extend()
	c.mu.Lock()
	c.expiry = time.AfterFunc(2*g.cfg.PingInterval, c.expired)
	c.mu.Unlock()

	if g.poller != nil && !blockingReads.Load() {
		c.rc = pollable(c.nc)
	}
	if c.rc != nil {
		c.mu.Lock()
		if c.ending {
			c.mu.Unlock()
			c.finish()
			return
		}
		c.reading = false
		err := g.poller.add(c)
		if err == nil {
			g.readers.Add(-1)
			c.mu.Unlock()
			return
		}
		c.reading, c.rc = true, nil
		c.mu.Unlock()
	}
	br := bufio.NewReaderSize(c.nc, 1024)
	c.readFrames(br, true)
	c.finish()
}

// handle carries out one well-formed frame.
func (g *Gateway) handle(ctx context.Context, c *conn, f inFrame) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch f.Type {
	case FrameRTC:
		if g.ext == nil {
			g.replyError(c, f.ID, &frameError{code: "unknown-type", detail: "calls are not served here", id: f.ID})
			return
		}
		reply, err := g.ext.Frame(ctx, c, f.raw)
		if err != nil {
			g.replyError(c, f.ID, err)
			return
		}
		if f.ID != "" {
			if reply == nil {
				reply = map[string]any{}
			}
			reply["v"], reply["type"], reply["id"] = ProtocolVersion, FrameAck, f.ID
			c.send(encodeFrame(reply))
		}
	case FramePing:
		c.send(encodeFrame(ackFrame{V: ProtocolVersion, Type: FramePong, ID: f.ID}))
	case FrameSend:
		m, created, err := g.chat.Send(ctx, c.userID, f.ConversationID, chat.SendInput{
			ClientID: f.ClientID, Body: f.Body, ReplyTo: f.ReplyTo, Mentions: f.Mentions, Attachments: f.Attachments,
		})
		if err != nil {
			g.replyError(c, f.ID, err)
			return
		}
		c.send(encodeFrame(ackFrame{V: ProtocolVersion, Type: FrameAck, ID: f.ID, Message: m, Created: &created}))
	case FrameRead:
		cursor, err := g.chat.MarkRead(ctx, c.userID, f.ConversationID, f.Seq)
		if err != nil {
			g.replyError(c, f.ID, err)
			return
		}
		c.send(encodeFrame(ackFrame{V: ProtocolVersion, Type: FrameAck, ID: f.ID, ReadSeq: &cursor}))
	case FrameTyping:
		if !g.isMember(c, f.ConversationID) {
			g.replyError(c, f.ID, errNotMember)
			return
		}
		now := g.cfg.Now()
		// One notice per conversation every 2 s is plenty for "typing…".
		if last, ok := c.lastTyping[f.ConversationID]; ok && now.Sub(last) < 2*time.Second {
			return
		}
		c.lastTyping[f.ConversationID] = now
		data, _ := json.Marshal(typingNotice{ConversationID: f.ConversationID, UserID: c.userID, Until: now.Add(TypingTTL).UTC()})
		if err := g.bus.Publish(ctx, "chat.typing."+f.ConversationID, data); err != nil {
			g.log.Warn("publish typing", "err", err)
		}
	case FramePresence:
		g.usersMu.Lock()
		c.status = f.Status
		g.usersMu.Unlock()
		g.presence.localChanged(c.userID)
	case FrameWatch:
		users, err := g.chat.Contacts(ctx, c.userID, f.UserIDs)
		if err != nil {
			g.replyError(c, f.ID, err)
			return
		}
		g.usersMu.Lock()
		g.presence.setWatches(c, users)
		g.usersMu.Unlock()
		statuses := g.presence.statuses(ctx, users)
		c.send(encodeFrame(struct {
			ackFrame
			Presence []Status `json:"presence"`
		}{ackFrame{V: ProtocolVersion, Type: FrameAck, ID: f.ID}, statuses}))
	}
}

// replyError answers a frame that failed with an error frame carrying the
// same codes the REST API uses.
func (g *Gateway) replyError(c *conn, id string, err error) {
	ef := errorFrame{V: ProtocolVersion, Type: FrameError, ID: id}
	var (
		p  *httpx.Problem
		fe *frameError
	)
	switch {
	case errors.As(err, &fe):
		ef.Code, ef.Detail = fe.code, fe.detail
	case errors.As(err, &p):
		ef.Code, ef.Detail = strings.TrimPrefix(p.Type, httpx.ProblemTypePrefix), p.Detail
		if len(p.Errors) > 0 {
			ef.Fields = p.Errors
		}
	case errors.Is(err, chat.ErrNotFound), errors.Is(err, errNotMember):
		ef.Code, ef.Detail = "not-found", "no such conversation"
	case errors.Is(err, chat.ErrForbidden):
		ef.Code, ef.Detail = "forbidden", "not allowed"
	case errors.Is(err, context.DeadlineExceeded):
		ef.Code, ef.Detail = "timeout", "the server is overloaded and gave up on this frame; retry it (a send is safe to retry with the same client_id)"
	default:
		g.log.Error("frame failed", "user", c.userID, "err", err)
		ef.Code, ef.Detail = "internal", "something went wrong on our side"
	}
	c.send(encodeFrame(ef))
}
