package mail

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"testing"
)

// smtpSink is a minimal SMTP server for the test: it takes one message
// and hands back what it received.
func smtpSink(t *testing.T) (addr string, got <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer conn.Close()
		tp := textproto.NewConn(conn)
		_ = tp.PrintfLine("220 sink ready")
		var data strings.Builder
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
			case "EHLO", "HELO":
				_ = tp.PrintfLine("250-sink\r\n250 AUTH PLAIN")
			case "AUTH":
				_ = tp.PrintfLine("235 ok")
			case "MAIL", "RCPT":
				data.WriteString(line + "\n")
				_ = tp.PrintfLine("250 ok")
			case "DATA":
				_ = tp.PrintfLine("354 go on")
				body, _ := io.ReadAll(tp.DotReader())
				data.Write(body)
				_ = tp.PrintfLine("250 queued")
			case "QUIT":
				_ = tp.PrintfLine("221 bye")
				out <- data.String()
				return
			default:
				_ = tp.PrintfLine("502 no")
			}
		}
	}()
	return ln.Addr().String(), out
}

func TestSMTPDeliversAPlainTextMessage(t *testing.T) {
	addr, got := smtpSink(t)
	s, err := NewSMTP("smtp://parley:secret@" + addr + "?from=parley@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "lea@example.com", Subject: "Your session in 15 minutes — 세션", Body: "See you soon.\nParley"}); err != nil {
		t.Fatal(err)
	}
	msg := <-got
	for _, want := range []string{"MAIL FROM:<parley@example.com>", "RCPT TO:<lea@example.com>", "Subject: =?utf-8?q?", "See you soon.\nParley"} { // DotReader turns CRLF into LF
		if !strings.Contains(msg, want) {
			t.Fatalf("the message lacks %q:\n%s", want, msg)
		}
	}
}

func TestBadMessagesAndURLsAreRefused(t *testing.T) {
	for _, raw := range []string{"http://host", "smtp://", "smtp://host:25", "smtp://host:25?from=not-an-address"} {
		if _, err := NewSMTP(raw); err == nil {
			t.Errorf("%q was taken", raw)
		}
	}
	l := Log{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, m := range []Message{{To: "nobody"}, {To: "a@example.com", Subject: "two\r\nlines"}} {
		if err := l.Send(context.Background(), m); err == nil {
			t.Errorf("%+v was sent", m)
		}
	}
	var buf strings.Builder
	ok := Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := ok.Send(context.Background(), Message{To: "a@example.com", Subject: "Hi", Body: "x"}); err != nil || !strings.Contains(buf.String(), "a@example.com") {
		t.Fatalf("the log mailer: %v %q", err, buf.String())
	}
}
