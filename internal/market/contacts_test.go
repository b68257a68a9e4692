package market

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func TestContactDetailsAreFoundButNotPricesTimesOrDates(t *testing.T) {
	for text, want := range map[string]string{
		"mail me at ana.kim+lessons@example.co.kr": "mail me at [contact hidden]",
		"call 010-1234-5678 tonight":               "call [contact hidden] tonight",
		"or +1 (212) 555-0199":                     "or [contact hidden]",
		"it is $15.00 for 30 minutes at 10:00":     "it is $15.00 for 30 minutes at 10:00",
		"on 2026-03-04 at 14:30, room 12345":       "on 2026-03-04 at 14:30, room 12345",
		"order 1234 5678":                          "order 1234 5678",
		"ANA@EXAMPLE.COM and 02 123 4567 8":        "[contact hidden] and [contact hidden]",
	} {
		if got := maskContacts(text); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

func TestPreSessionChatMasksContactDetailsUntilASessionHappened(t *testing.T) {
	eachMoney(t, func(t *testing.T, m *money) {
		m.svc.cfg.ContactPolicy = ContactMask
		ch := m.svc.cfg.Chat.(*chat.Service)
		ch.SetModerator(m.svc)
		ex, l := m.expertWith("cooking", perMinute("Kimchi", 100))
		lea, stranger := m.user("Lea"), m.user("Stranger")
		m.topUp(lea, 10_000)
		// Chat that is not about a session is left alone.
		other, _, _ := ch.OpenDirect(m.ctx, lea, stranger)
		msg, _, err := ch.Send(m.ctx, lea, other.ID, chat.SendInput{ClientID: "a", Body: "lea@example.com"})
		if err != nil || msg.Body != "lea@example.com" {
			t.Fatalf("outside the marketplace: %q %v", msg.Body, err)
		}
		start := time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
		se, err := m.svc.Book(m.ctx, lea, BookingInput{Listing: l.ID, Start: &start})
		if err != nil {
			t.Fatal(err)
		}
		msg, _, err = ch.Send(m.ctx, lea, se.ConversationID, chat.SendInput{ClientID: "b", Body: "text me: 010-1234-5678"})
		if err != nil || msg.Body != "text me: "+ContactHidden {
			t.Fatalf("before the session: %q %v", msg.Body, err)
		}
		edited, err := ch.Edit(m.ctx, lea, se.ConversationID, msg.ID, "or mail lea@example.com")
		if err != nil || !strings.Contains(edited.Body, ContactHidden) {
			t.Fatalf("an edit: %q %v", edited.Body, err)
		}
		// The flag policy keeps the words and tells the operator.
		m.svc.cfg.ContactPolicy = ContactFlag
		msg, _, err = ch.Send(m.ctx, ex, se.ConversationID, chat.SendInput{ClientID: "c", Body: "exa@example.com"})
		if err != nil || msg.Body != "exa@example.com" {
			t.Fatalf("flagged: %q %v", msg.Body, err)
		}
		flags, _ := m.svc.ContactFlags(context.Background(), 10)
		if len(flags) != 1 || flags[0].SenderID != ex || flags[0].Kinds[0] != "email" {
			t.Fatalf("the flags: %+v", flags)
		}
	})
}
