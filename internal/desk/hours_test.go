package desk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Time zone changes used below (from the IANA database):
//   - America/New_York: 2026-03-08 02:00 EST → 03:00 EDT (07:00Z) and
//     2026-11-01 02:00 EDT → 01:00 EST (06:00Z).
//   - Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST (01:00Z) and
//     2026-10-25 03:00 CEST → 02:00 CET (01:00Z).
//   - Asia/Seoul: no daylight saving time, UTC+9 all year.

func iv(open, closing string) Interval { return Interval{Open: open, Close: closing} }

func weekdays(intervals ...Interval) Week {
	w := make(Week)
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = slices.Clone(intervals)
	}
	return w
}

func compile(t *testing.T, s Schedule) *Hours {
	t.Helper()
	h, err := s.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return h
}

// instant parses an RFC 3339 time; writing the offset makes each test's
// side of a clock change plain to see.
func instant(t *testing.T, value string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, value)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// Schedules shared by the tests.
var (
	newYorkDaily = Schedule{TimeZone: "America/New_York", Weekly: EveryDay(iv("09:00", "21:00"))}
	// newYorkOffice: weekdays with a lunch break, Christmas and New Year
	// closed, a short Christmas Eve, New Year's Eve closed, one Sunday open.
	newYorkOffice = Schedule{
		TimeZone: "America/New_York",
		Weekly:   weekdays(iv("09:00", "12:00"), iv("13:00", "17:00")),
		Holidays: []Holiday{
			{Date: "2026-12-25", Name: "Christmas Day"},
			{Date: "2027-01-01", Name: "New Year's Day"},
		},
		Exceptions: []Exception{
			{Date: "2026-12-24", Name: "Christmas Eve", Intervals: []Interval{iv("09:00", "13:00")}},
			{Date: "2026-12-31", Closed: true},
			{Date: "2026-12-27", Name: "Sunday sale", Intervals: []Interval{iv("10:00", "14:00")}},
		},
	}
	// newYorkLate is open 22:00 Friday to 02:00 Saturday, written across
	// midnight as two intervals, and 02:30–04:00 on Sundays, which the
	// spring-forward of 2026-03-08 cuts short.
	newYorkLate = Schedule{TimeZone: "America/New_York", Weekly: Week{
		time.Friday:   {iv("22:00", "24:00")},
		time.Saturday: {iv("00:00", "02:00")},
		time.Sunday:   {iv("02:30", "04:00")},
	}}
	newYorkNight   = Schedule{TimeZone: "America/New_York", Weekly: EveryDay(iv("00:00", "03:00"))}
	newYorkInGap   = Schedule{TimeZone: "America/New_York", Weekly: EveryDay(iv("02:00", "02:45"))}
	newYorkTwice   = Schedule{TimeZone: "America/New_York", Weekly: EveryDay(iv("01:00", "01:30"))}
	newYorkHalfway = Schedule{TimeZone: "America/New_York", Weekly: EveryDay(iv("01:30", "05:00"))}
	alwaysOpen     = Schedule{TimeZone: "America/New_York", Weekly: EveryDay(iv("00:00", "24:00"))}
	neverOpen      = Schedule{TimeZone: "America/New_York"}
	seoulOffice    = Schedule{TimeZone: "Asia/Seoul", Weekly: weekdays(iv("09:00", "18:00"))}
	berlinShop     = Schedule{TimeZone: "Europe/Berlin", Weekly: Week{
		time.Saturday: {iv("08:00", "20:00")},
		time.Sunday:   {iv("02:00", "02:30"), iv("08:00", "12:00")},
	}}
)

func TestOpenAtFollowsTheLocalClock(t *testing.T) {
	tests := []struct {
		name     string
		schedule Schedule
		at       string
		want     bool
	}{
		{"daily opens at 09:00 EST", newYorkDaily, "2026-03-07T09:00:00-05:00", true},
		{"daily closed a second before", newYorkDaily, "2026-03-07T08:59:59-05:00", false},
		{"daily closed at 21:00, the close being exclusive", newYorkDaily, "2026-03-07T21:00:00-05:00", false},
		{"daily open a moment before 21:00", newYorkDaily, "2026-03-07T20:59:59.999-05:00", true},
		{"daily opens at 09:00 EDT after spring forward", newYorkDaily, "2026-03-08T09:00:00-04:00", true},
		{"daily closed at 08:00 EDT, which was 09:00 EST the day before", newYorkDaily, "2026-03-08T12:00:00Z", false},
		{"daily opens at 09:00 EST after fall back", newYorkDaily, "2026-11-01T14:00:00Z", true},
		{"daily closed at 08:00 EST, 09:00 EDT the day before", newYorkDaily, "2026-11-01T13:00:00Z", false},

		{"office morning", newYorkOffice, "2026-03-09T11:59:00-04:00", true},
		{"office lunch break", newYorkOffice, "2026-03-09T12:30:00-04:00", false},
		{"office afternoon", newYorkOffice, "2026-03-09T13:00:00-04:00", true},
		{"office closed on Saturday", newYorkOffice, "2026-03-07T10:00:00-05:00", false},
		{"office closed on Christmas, a Friday", newYorkOffice, "2026-12-25T10:00:00-05:00", false},
		{"office open on Christmas Eve morning", newYorkOffice, "2026-12-24T12:30:00-05:00", true},
		{"office closed on Christmas Eve afternoon", newYorkOffice, "2026-12-24T14:00:00-05:00", false},
		{"office closed on New Year's Eve", newYorkOffice, "2026-12-31T10:00:00-05:00", false},
		{"office open on the exceptional Sunday", newYorkOffice, "2026-12-27T10:00:00-05:00", true},
		{"office closed on an ordinary Sunday", newYorkOffice, "2026-12-20T10:00:00-05:00", false},

		{"late open on Friday night", newYorkLate, "2026-03-06T23:30:00-05:00", true},
		{"late open past midnight into Saturday", newYorkLate, "2026-03-07T00:30:00-05:00", true},
		{"late closed at 02:00 Saturday", newYorkLate, "2026-03-07T02:00:00-05:00", false},

		{"spring forward: closed before the gap", newYorkLate, "2026-03-08T01:59:59-05:00", false},
		{"spring forward: 02:30 is reached at 03:00 EDT", newYorkLate, "2026-03-08T03:00:00-04:00", true},
		{"spring forward: closes at 04:00 EDT", newYorkLate, "2026-03-08T04:00:00-04:00", false},
		{"spring forward: an interval inside the gap never opens", newYorkInGap, "2026-03-08T03:00:00-04:00", false},
		{"an interval inside the gap opens on other days", newYorkInGap, "2026-03-09T02:10:00-04:00", true},

		{"fall back: open at the first 01:15", newYorkTwice, "2026-11-01T01:15:00-04:00", true},
		{"fall back: not again at the second 01:15", newYorkTwice, "2026-11-01T01:15:00-05:00", false},
		{"fall back: opened at the first 01:30, open through the second 01:15", newYorkHalfway, "2026-11-01T01:15:00-05:00", true},
		{"fall back: not yet open at the first 01:15", newYorkHalfway, "2026-11-01T01:15:00-04:00", false},
		{"fall back: night shift still open at 02:59 EST", newYorkNight, "2026-11-01T02:59:00-05:00", true},

		{"always open", alwaysOpen, "2026-11-01T01:30:00-05:00", true},
		{"never open", neverOpen, "2026-06-01T12:00:00Z", false},

		{"Seoul opens at 09:00 KST Monday, still Sunday in UTC", seoulOffice, "2026-03-09T00:00:00Z", true},
		{"Seoul closed a minute earlier", seoulOffice, "2026-03-08T23:59:00Z", false},
		{"Seoul closed at 18:00 KST", seoulOffice, "2026-03-09T09:00:00Z", false},

		{"Berlin Saturday before its spring forward opens at 07:00Z", berlinShop, "2026-03-28T07:00:00Z", true},
		{"Berlin Saturday in summer time opens at 06:00Z", berlinShop, "2026-04-04T06:00:00Z", true},
		{"Berlin Saturday after its fall back opens at 07:00Z again", berlinShop, "2026-10-31T06:59:00Z", false},
		{"Berlin Sunday 02:00–02:30 falls in the gap", berlinShop, "2026-03-29T01:00:00Z", false},
		{"Berlin Sunday 08:00 CEST", berlinShop, "2026-03-29T06:00:00Z", true},
		{"Berlin fall back: 02:10 CEST is the first 02:10", berlinShop, "2026-10-25T02:10:00+02:00", true},
		{"Berlin fall back: not again at 02:10 CET", berlinShop, "2026-10-25T02:10:00+01:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := instant(t, tt.at)
			if got := compile(t, tt.schedule).OpenAt(at); got != tt.want {
				t.Errorf("OpenAt(%s) = %v, want %v", tt.at, got, tt.want)
			}
			if got := tt.schedule.OpenAt(at); got != tt.want {
				t.Errorf("Schedule.OpenAt(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestNextOpenAndNextClose(t *testing.T) {
	tests := []struct {
		name     string
		schedule Schedule
		from     string
		next     func(*Hours, time.Time) (time.Time, bool)
		want     string // "" when there is none
	}{
		{"open now is open now", newYorkDaily, "2026-03-07T10:00:00-05:00", (*Hours).NextOpen, "2026-03-07T10:00:00-05:00"},
		{"closed now is closed now", newYorkDaily, "2026-03-07T22:00:00-05:00", (*Hours).NextClose, "2026-03-07T22:00:00-05:00"},
		{"across spring forward, next 09:00 is EDT", newYorkDaily, "2026-03-07T21:00:00-05:00", (*Hours).NextOpen, "2026-03-08T09:00:00-04:00"},
		{"across fall back, next 09:00 is EST", newYorkDaily, "2026-10-31T21:00:00-04:00", (*Hours).NextOpen, "2026-11-01T09:00:00-05:00"},
		{"closes at 21:00 EDT", newYorkDaily, "2026-03-08T09:00:00-04:00", (*Hours).NextClose, "2026-03-08T21:00:00-04:00"},

		{"over a weekend, into a new offset", newYorkOffice, "2026-03-06T17:00:00-05:00", (*Hours).NextOpen, "2026-03-09T09:00:00-04:00"},
		{"after lunch", newYorkOffice, "2026-03-09T12:00:00-04:00", (*Hours).NextOpen, "2026-03-09T13:00:00-04:00"},
		{"lunch starts", newYorkOffice, "2026-03-09T09:30:00-04:00", (*Hours).NextClose, "2026-03-09T12:00:00-04:00"},
		{"Christmas Eve closes early", newYorkOffice, "2026-12-24T09:00:00-05:00", (*Hours).NextClose, "2026-12-24T13:00:00-05:00"},
		{"over Christmas to the Sunday sale", newYorkOffice, "2026-12-24T13:00:00-05:00", (*Hours).NextOpen, "2026-12-27T10:00:00-05:00"},
		{"after the sale, Monday", newYorkOffice, "2026-12-27T14:00:00-05:00", (*Hours).NextOpen, "2026-12-28T09:00:00-05:00"},
		{"over New Year's Eve, New Year and a weekend", newYorkOffice, "2026-12-30T17:00:00-05:00", (*Hours).NextOpen, "2027-01-04T09:00:00-05:00"},

		{"Friday night runs on past midnight", newYorkLate, "2026-03-06T22:00:00-05:00", (*Hours).NextClose, "2026-03-07T02:00:00-05:00"},
		{"spring forward: 02:30 opens at 03:00 EDT", newYorkLate, "2026-03-07T02:00:00-05:00", (*Hours).NextOpen, "2026-03-08T03:00:00-04:00"},
		{"spring forward: an ordinary Sunday opens at 02:30", newYorkLate, "2026-03-14T02:00:00-05:00", (*Hours).NextOpen, "2026-03-15T02:30:00-04:00"},
		{"spring forward: the gap's interval is skipped", newYorkInGap, "2026-03-08T00:00:00-05:00", (*Hours).NextOpen, "2026-03-09T02:00:00-04:00"},
		{"spring forward: night shift lasts two hours", newYorkNight, "2026-03-08T00:00:00-05:00", (*Hours).NextClose, "2026-03-08T03:00:00-04:00"},

		{"fall back: night shift lasts four hours", newYorkNight, "2026-11-01T00:00:00-04:00", (*Hours).NextClose, "2026-11-01T03:00:00-05:00"},
		{"fall back: 01:00–01:30 closes at the first 01:30", newYorkTwice, "2026-11-01T01:00:00-04:00", (*Hours).NextClose, "2026-11-01T01:30:00-04:00"},
		{"fall back: 01:00–01:30 does not open again that night", newYorkTwice, "2026-11-01T01:30:00-04:00", (*Hours).NextOpen, "2026-11-02T01:00:00-05:00"},
		{"fall back: 01:30 opens at its first occurrence", newYorkHalfway, "2026-11-01T00:00:00-04:00", (*Hours).NextOpen, "2026-11-01T01:30:00-04:00"},
		{"fall back: and stays open through the repeated hour", newYorkHalfway, "2026-11-01T01:30:00-04:00", (*Hours).NextClose, "2026-11-01T05:00:00-05:00"},

		{"always open never closes", alwaysOpen, "2026-11-01T00:00:00-04:00", (*Hours).NextClose, ""},
		{"never open never opens", neverOpen, "2026-11-01T00:00:00-04:00", (*Hours).NextOpen, ""},
		{"never open is closed now", neverOpen, "2026-11-01T00:00:00-04:00", (*Hours).NextClose, "2026-11-01T00:00:00-04:00"},

		{"Seoul over a weekend", seoulOffice, "2026-03-06T18:00:00+09:00", (*Hours).NextOpen, "2026-03-09T09:00:00+09:00"},
		{"Berlin Saturday to Sunday over its fall back", berlinShop, "2026-10-24T20:00:00+02:00", (*Hours).NextOpen, "2026-10-25T02:00:00+02:00"},
		{"Berlin Sunday's 02:00–02:30 is not repeated", berlinShop, "2026-10-25T02:30:00+02:00", (*Hours).NextOpen, "2026-10-25T08:00:00+01:00"},
		{"Berlin Sunday in the spring gap opens at 08:00 CEST", berlinShop, "2026-03-28T20:00:00+01:00", (*Hours).NextOpen, "2026-03-29T08:00:00+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := instant(t, tt.from)
			h := compile(t, tt.schedule)
			got, ok := tt.next(h, from)
			if tt.want == "" {
				if ok {
					t.Fatalf("got %s, want none", got.Format(time.RFC3339))
				}
				return
			}
			want := instant(t, tt.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("got %s (%v), want %s", got.Format(time.RFC3339), ok, tt.want)
			}
			if got.Location() != h.Location() {
				t.Errorf("got a time in %v, want the schedule's zone", got.Location())
			}
		})
	}
}

func TestScheduleMethodsMatchCompiledHours(t *testing.T) {
	from := instant(t, "2026-12-24T13:00:00-05:00")
	h := compile(t, newYorkOffice)
	wantOpen, _ := h.NextOpen(from)
	gotOpen, ok := newYorkOffice.NextOpen(from)
	if !ok || !gotOpen.Equal(wantOpen) {
		t.Errorf("Schedule.NextOpen = %v, %v; want %v", gotOpen, ok, wantOpen)
	}
	wantClose, _ := h.NextClose(wantOpen)
	gotClose, ok := newYorkOffice.NextClose(wantOpen)
	if !ok || !gotClose.Equal(wantClose) {
		t.Errorf("Schedule.NextClose = %v, %v; want %v", gotClose, ok, wantClose)
	}
	bad := Schedule{TimeZone: "Nowhere/Special", Weekly: EveryDay(iv("00:00", "24:00"))}
	if bad.OpenAt(from) {
		t.Error("an invalid schedule is open")
	}
	if _, ok := bad.NextOpen(from); ok {
		t.Error("an invalid schedule opens")
	}
	if _, ok := bad.NextClose(from); ok {
		t.Error("an invalid schedule closes")
	}
}

// TestHoursAgreeWithMinuteByMinuteWallClock checks the schedules above
// against a slow model of the rule: step through every minute (all clock
// changes and boundaries fall on whole minutes), note when the wall clock
// first reaches each interval's Open and Close, and compare OpenAt,
// NextOpen and NextClose with what the walk saw.
func TestHoursAgreeWithMinuteByMinuteWallClock(t *testing.T) {
	windows := []struct{ zone, start string }{
		{"America/New_York", "2026-03-04T00:00:00Z"},
		{"America/New_York", "2026-10-28T00:00:00Z"},
		{"America/New_York", "2026-12-23T00:00:00Z"},
		{"Europe/Berlin", "2026-03-25T00:00:00Z"},
		{"Europe/Berlin", "2026-10-21T00:00:00Z"},
		{"Asia/Seoul", "2026-03-04T00:00:00Z"},
	}
	schedules := map[string]Schedule{
		"daily": newYorkDaily, "office": newYorkOffice, "late": newYorkLate, "night": newYorkNight,
		"in gap": newYorkInGap, "twice": newYorkTwice, "halfway": newYorkHalfway,
		"always": alwaysOpen, "never": neverOpen, "seoul": seoulOffice, "berlin": berlinShop,
	}
	const days = 6
	for _, w := range windows {
		for name, s := range schedules {
			s.TimeZone = w.zone
			t.Run(w.zone+" "+w.start[:10]+" "+name, func(t *testing.T) {
				t.Parallel()
				h := compile(t, s)
				start := instant(t, w.start)
				open := wallClockModel(t, s, start, days*24*60)
				// A whole day each side is left out: the model only knows
				// what happens inside its window.
				from, to := 24*60, len(open)-24*60
				nextOpen, nextClose := -1, -1
				for m := len(open) - 1; m >= from; m-- {
					if open[m] {
						nextOpen = m
					} else {
						nextClose = m
					}
					if m >= to {
						continue
					}
					at := start.Add(time.Duration(m) * time.Minute)
					if got := h.OpenAt(at); got != open[m] {
						t.Fatalf("OpenAt(%s) = %v, want %v", at.In(h.loc).Format(time.RFC3339), got, open[m])
					}
					if got := h.OpenAt(at.Add(30 * time.Second)); got != open[m] {
						t.Fatalf("OpenAt(%s + 30s) = %v, want %v", at.In(h.loc).Format(time.RFC3339), got, open[m])
					}
					// NextOpen and NextClose are slower: ask them near each
					// change of state and now and then in between.
					if m%11 != 0 && !slices.Contains(open[m-2:m+3], !open[m]) {
						continue
					}
					if nextOpen >= 0 {
						got, ok := h.NextOpen(at)
						if want := start.Add(time.Duration(nextOpen) * time.Minute); !ok || !got.Equal(want) {
							t.Fatalf("NextOpen(%s) = %s, want %s", at.In(h.loc).Format(time.RFC3339), got.Format(time.RFC3339), want.In(h.loc).Format(time.RFC3339))
						}
					}
					if nextClose >= 0 {
						got, ok := h.NextClose(at)
						if want := start.Add(time.Duration(nextClose) * time.Minute); !ok || !got.Equal(want) {
							t.Fatalf("NextClose(%s) = %s, want %s", at.In(h.loc).Format(time.RFC3339), got.Format(time.RFC3339), want.In(h.loc).Format(time.RFC3339))
						}
					}
				}
			})
		}
	}
}

// wallClockModel returns, for each minute from start, whether the schedule
// is open, found by walking the wall clock.
func wallClockModel(t *testing.T, s Schedule, start time.Time, minutes int) []bool {
	t.Helper()
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	type wall struct {
		date   string
		minute int // of the day, 0 to 1440
	}
	walls := make([]wall, minutes)
	for m := range walls {
		local := start.Add(time.Duration(m) * time.Minute).In(loc)
		walls[m] = wall{local.Format(time.DateOnly), local.Hour()*60 + local.Minute()}
	}
	// reached returns the first minute whose wall clock reads date at
	// minute, or later; len(walls) if none does.
	reached := func(date string, minute int) int {
		for m, w := range walls {
			if w.date > date || (w.date == date && w.minute >= minute) {
				return m
			}
		}
		return len(walls)
	}
	open := make([]bool, minutes)
	seen := make(map[string]bool)
	for _, w := range walls {
		if seen[w.date] {
			continue
		}
		seen[w.date] = true
		intervals := intervalsOn(t, s, w.date)
		for _, i := range intervals {
			from := reached(w.date, clockMinutes(t, i.Open))
			to := reached(w.date, clockMinutes(t, i.Close))
			for m := from; m < to; m++ {
				open[m] = true
			}
		}
	}
	return open
}

// intervalsOn reads a date's intervals straight from the schedule.
func intervalsOn(t *testing.T, s Schedule, date string) []Interval {
	for _, e := range s.Exceptions {
		if e.Date == date {
			return e.Intervals
		}
	}
	for _, hol := range s.Holidays {
		if hol.Date == date {
			return nil
		}
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		t.Fatal(err)
	}
	return s.Weekly[d.Weekday()]
}

func clockMinutes(t *testing.T, hhmm string) int {
	var hour, minute int
	if _, err := fmt.Sscanf(hhmm, "%d:%d", &hour, &minute); err != nil {
		t.Fatal(err)
	}
	return hour*60 + minute
}

func TestValidateNamesEachBadField(t *testing.T) {
	ok := func(s *Schedule) {}
	tests := []struct {
		name   string
		change func(*Schedule)
		field  string // "" when valid
		detail string // a part of the detail
	}{
		{"a valid schedule", ok, "", ""},
		{"touching intervals", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00", "12:00"), iv("12:00", "17:00")} }, "", ""},
		{"unsorted intervals", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("13:00", "17:00"), iv("09:00", "12:00")} }, "", ""},
		{"open all day", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("00:00", "24:00")} }, "", ""},
		{"UTC", func(s *Schedule) { s.TimeZone = "UTC" }, "", ""},

		{"no time zone", func(s *Schedule) { s.TimeZone = "" }, "time_zone", "required"},
		{"unknown time zone", func(s *Schedule) { s.TimeZone = "Mars/Olympus_Mons" }, "time_zone", "IANA"},
		{"a path for a time zone", func(s *Schedule) { s.TimeZone = "../../etc/passwd" }, "time_zone", "IANA"},
		{"the server's zone", func(s *Schedule) { s.TimeZone = "Local" }, "time_zone", "Local"},
		{"one-digit hour", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("9:00", "17:00")} }, "weekly.monday[0].open", "HH:MM"},
		{"hour 25", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00", "25:00")} }, "weekly.monday[0].close", "HH:MM"},
		{"minute 60", func(s *Schedule) { s.Weekly[time.Tuesday] = []Interval{iv("09:60", "17:00")} }, "weekly.tuesday[0].open", "HH:MM"},
		{"letters", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("ab:cd", "17:00")} }, "weekly.monday[0].open", "HH:MM"},
		{"seconds", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00:00", "17:00")} }, "weekly.monday[0].open", "HH:MM"},
		{"empty", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00", "")} }, "weekly.monday[0].close", "HH:MM"},
		{"opening at 24:00", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("24:00", "24:00")} }, "weekly.monday[0].open", "HH:MM"},
		{"closing at 24:01", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("23:00", "24:01")} }, "weekly.monday[0].close", "HH:MM"},
		{"closing before opening", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("17:00", "09:00")} }, "weekly.monday[0].close", "after open"},
		{"closing when opening", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00", "09:00")} }, "weekly.monday[0].close", "after open"},
		{"crossing midnight", func(s *Schedule) { s.Weekly[time.Friday] = []Interval{iv("22:00", "02:00")} }, "weekly.friday[0].close", "24:00"},
		{"overlapping", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00", "12:00"), iv("11:00", "13:00")} }, "weekly.monday[1]", "overlaps 09:00 to 12:00"},
		{"overlapping the same", func(s *Schedule) { s.Weekly[time.Monday] = []Interval{iv("09:00", "12:00"), iv("09:00", "12:00")} }, "weekly.monday[1]", "overlaps"},
		{"too many intervals", func(s *Schedule) {
			var many []Interval
			for m := 0; m < 49*20; m += 20 {
				many = append(many, iv(fmt.Sprintf("%02d:%02d", m/60, m%60), fmt.Sprintf("%02d:%02d", (m+10)/60, (m+10)%60)))
			}
			s.Weekly[time.Monday] = many
		}, "weekly.monday", "at most 48"},
		{"a weekday that is none", func(s *Schedule) { s.Weekly[time.Weekday(7)] = []Interval{iv("09:00", "17:00")} }, "weekly", "no weekday 7"},

		{"malformed holiday", func(s *Schedule) { s.Holidays = []Holiday{{Date: "12/25/2026"}} }, "holidays[0].date", "YYYY-MM-DD"},
		{"holiday on February 30", func(s *Schedule) { s.Holidays = []Holiday{{Date: "2026-02-30"}} }, "holidays[0].date", "YYYY-MM-DD"},
		{"holiday in month 13", func(s *Schedule) { s.Holidays = []Holiday{{Date: "2026-13-01"}} }, "holidays[0].date", "YYYY-MM-DD"},
		{"holiday with a time", func(s *Schedule) { s.Holidays = []Holiday{{Date: "2026-12-25T00:00:00Z"}} }, "holidays[0].date", "YYYY-MM-DD"},
		{"duplicate holiday", func(s *Schedule) {
			s.Holidays = []Holiday{{Date: "2026-12-25", Name: "Christmas Day"}, {Date: "2026-12-25", Name: "Christmas again"}}
		}, "holidays[1].date", "already given at holidays[0].date"},
		{"holiday name too long", func(s *Schedule) { s.Holidays = []Holiday{{Date: "2026-12-25", Name: strings.Repeat("é", 101)}} }, "holidays[0].name", "at most 100"},
		{"too many holidays", func(s *Schedule) { s.Holidays = make([]Holiday, 1001) }, "holidays", "at most 1000"},

		{"exception on a holiday", func(s *Schedule) {
			s.Holidays = []Holiday{{Date: "2026-12-25"}}
			s.Exceptions = []Exception{{Date: "2026-12-25", Intervals: []Interval{iv("10:00", "12:00")}}}
		}, "exceptions[0].date", "already given at holidays[0].date"},
		{"closed exception with intervals", func(s *Schedule) {
			s.Exceptions = []Exception{{Date: "2026-12-24", Closed: true, Intervals: []Interval{iv("09:00", "13:00")}}}
		}, "exceptions[0].intervals", "no intervals"},
		{"exception with neither", func(s *Schedule) { s.Exceptions = []Exception{{Date: "2026-12-24"}} }, "exceptions[0].intervals", "or set closed"},
		{"exception with bad intervals", func(s *Schedule) {
			s.Exceptions = []Exception{{Date: "2026-12-24", Intervals: []Interval{iv("09:00", "13:00"), iv("12:00", "08:00")}}}
		}, "exceptions[0].intervals[1].close", "after open"},
		{"exception with overlapping intervals", func(s *Schedule) {
			s.Exceptions = []Exception{{Date: "2026-12-24", Intervals: []Interval{iv("09:00", "13:00"), iv("12:00", "14:00")}}}
		}, "exceptions[0].intervals[1]", "overlaps"},
		{"malformed exception date", func(s *Schedule) { s.Exceptions = []Exception{{Date: "", Closed: true}} }, "exceptions[0].date", "YYYY-MM-DD"},
		{"too many exceptions", func(s *Schedule) { s.Exceptions = make([]Exception, 1001) }, "exceptions", "at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Schedule{
				TimeZone: "America/New_York",
				Weekly:   weekdays(iv("09:00", "12:00"), iv("13:00", "17:00")),
				Holidays: []Holiday{{Date: "2026-07-03", Name: "Independence Day (observed)"}},
			}
			tt.change(&s)
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if len(invalid.Fields) != 1 {
				t.Errorf("got %d field errors, want 1: %v", len(invalid.Fields), invalid.Fields)
			}
			f := invalid.Fields[0]
			if f.Field != tt.field || !strings.Contains(f.Detail, tt.detail) {
				t.Errorf("got %s: %q, want %s: …%s…", f.Field, f.Detail, tt.field, tt.detail)
			}
			if _, err := s.Compile(); err == nil {
				t.Error("Compile accepted what Validate refused")
			}
		})
	}
}

func TestValidateListsEveryProblemAtOnce(t *testing.T) {
	s := Schedule{
		TimeZone: "Europe/Atlantis",
		Weekly: Week{
			// The third overlaps the first, not the second: each must be
			// compared with the latest close so far, not just its neighbour.
			time.Monday:  {iv("09:00", "17:00"), iv("10:00", "11:00"), iv("12:00", "13:00")},
			time.Tuesday: {iv("9am", "5pm")},
		},
		Holidays:   []Holiday{{Date: "2026-12-25"}, {Date: "2026-12-25"}},
		Exceptions: []Exception{{Date: "2026-12-24", Closed: true, Intervals: []Interval{iv("09:00", "13:00")}}},
	}
	err := s.Validate()
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var fields []string
	for _, f := range invalid.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{
		"time_zone", "weekly.monday[1]", "weekly.monday[2]", "weekly.tuesday[0].open", "weekly.tuesday[0].close",
		"holidays[1].date", "exceptions[0].intervals",
	}
	if !slices.Equal(fields, want) {
		t.Errorf("fields = %q, want %q", fields, want)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "desk: invalid input: time_zone: ") {
		t.Errorf("Error() = %q", msg)
	}
}

func TestScheduleJSONUsesDayNames(t *testing.T) {
	const body = `{"time_zone":"America/New_York",` +
		`"weekly":{"monday":[{"open":"09:00","close":"12:00"},{"open":"13:00","close":"17:00"}],"saturday":[],"sunday":[{"open":"10:00","close":"14:00"}]},` +
		`"holidays":[{"date":"2026-12-25","name":"Christmas Day"}],` +
		`"exceptions":[{"date":"2026-12-24","intervals":[{"open":"09:00","close":"13:00"}]},{"date":"2026-12-31","closed":true}]}`
	var s Schedule
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := s.Weekly[time.Sunday]; !slices.Equal(got, []Interval{iv("10:00", "14:00")}) {
		t.Errorf("sunday = %v", got)
	}
	if _, ok := s.Weekly[time.Saturday]; !ok {
		t.Error("saturday's empty list was lost")
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != body {
		t.Errorf("round trip:\n got %s\nwant %s", out, body)
	}
}

func TestWeekJSONRefusesUnknownNames(t *testing.T) {
	for _, body := range []string{
		`{"mon":[]}`,
		`{"Monday":[]}`,
		`{"1":[]}`,
		`{"monday":[{"open":"09:00","clsoe":"17:00"}]}`,
		`{"monday":{"open":"09:00"}}`,
		`[]`,
	} {
		var w Week
		if err := json.Unmarshal([]byte(body), &w); err == nil {
			t.Errorf("%s: accepted as %v", body, w)
		}
	}
	var w Week
	if err := json.Unmarshal([]byte(`null`), &w); err != nil || w != nil {
		t.Errorf("null: %v, %v", w, err)
	}
	if _, err := json.Marshal(Week{time.Weekday(9): nil}); err == nil {
		t.Error("a weekday that is none was written")
	}
}

// FuzzSchedule feeds schedules as they would arrive from the API: whatever
// Compile accepts must answer consistently and never panic.
func FuzzSchedule(f *testing.F) {
	for _, s := range []Schedule{newYorkDaily, newYorkOffice, newYorkLate, newYorkHalfway, seoulOffice, berlinShop, alwaysOpen} {
		body, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, int64(1793596800)) // 2026-11-01T02:00:00Z
	}
	f.Add([]byte(`{"time_zone":"Pacific/Apia","weekly":{"friday":[{"open":"00:00","close":"24:00"}]}}`), int64(1325203200))
	f.Add([]byte(`{"time_zone":"America/Santiago","weekly":{"sunday":[{"open":"00:00","close":"00:30"}]}}`), int64(1775365200))
	f.Fuzz(func(t *testing.T, body []byte, unix int64) {
		var s Schedule
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&s) != nil {
			return
		}
		h, err := s.Compile()
		if err != nil {
			var invalid *ValidationError
			if !errors.As(err, &invalid) || len(invalid.Fields) == 0 {
				t.Fatalf("Compile: %v is not a *ValidationError listing fields", err)
			}
			return
		}
		// Years 1900 to 2200.
		at := time.Unix(-2208988800+((unix%(300*365*86400))+300*365*86400)%(300*365*86400), 0)
		open := h.OpenAt(at)
		if next, ok := h.NextOpen(at); ok {
			if next.Before(at) || !h.OpenAt(next) || next.Equal(at) != open {
				t.Fatalf("at %v: NextOpen = %v, OpenAt = %v", at, next, open)
			}
			if next.After(at) && h.OpenAt(next.Add(-time.Nanosecond)) {
				t.Fatalf("at %v: open just before NextOpen %v", at, next)
			}
		} else if open {
			t.Fatalf("at %v: open but no NextOpen", at)
		}
		if next, ok := h.NextClose(at); ok {
			if next.Before(at) || h.OpenAt(next) || next.Equal(at) == open {
				t.Fatalf("at %v: NextClose = %v, OpenAt = %v", at, next, open)
			}
			if next.After(at) && !h.OpenAt(next.Add(-time.Nanosecond)) {
				t.Fatalf("at %v: closed just before NextClose %v", at, next)
			}
		} else if !open {
			t.Fatalf("at %v: closed but no NextClose", at)
		}
	})
}

func BenchmarkHoursOpenAt(b *testing.B) {
	h, err := newYorkOffice.Compile()
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 24, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		h.OpenAt(at)
	}
}

func BenchmarkHoursNextCloseAlwaysOpen(b *testing.B) {
	h, err := alwaysOpen.Compile()
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 24, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		h.NextClose(at)
	}
}

// Go's ZoneBounds can answer an end before the instant on the last day of
// a leap year in zones ruled by their TZ footer (golang/go#81583); walking
// the zone's stretches must neither stall nor go wrong there.
func TestHoursAcrossTheEndOfALeapYearInFooterRuledZones(t *testing.T) {
	for _, zone := range []string{"Africa/Cairo", "Europe/Warsaw", "America/New_York"} {
		h := compile(t, Schedule{TimeZone: zone, Weekly: Week{
			time.Monday: {iv("09:00", "17:00")},
			time.Sunday: {iv("00:00", "24:00")},
		}})
		// 2040-12-30 is a Sunday and 2040-12-31 a Monday.
		loc := h.Location()
		sunday := time.Date(2040, 12, 30, 12, 0, 0, 0, loc)
		if got, ok := h.NextClose(sunday); !ok || !got.Equal(time.Date(2040, 12, 31, 0, 0, 0, 0, loc)) {
			t.Errorf("%s: NextClose(%v) = %v, %v", zone, sunday, got, ok)
		}
		if got, ok := h.NextOpen(time.Date(2040, 12, 31, 1, 0, 0, 0, loc)); !ok || !got.Equal(time.Date(2040, 12, 31, 9, 0, 0, 0, loc)) {
			t.Errorf("%s: NextOpen = %v, %v", zone, got, ok)
		}
		if got, ok := h.NextClose(time.Date(2040, 12, 31, 12, 0, 0, 0, loc)); !ok || !got.Equal(time.Date(2040, 12, 31, 17, 0, 0, 0, loc)) {
			t.Errorf("%s: NextClose = %v, %v", zone, got, ok)
		}
		if got, ok := h.NextOpen(time.Date(2040, 12, 31, 17, 0, 0, 0, loc)); !ok || !got.Equal(time.Date(2041, 1, 6, 0, 0, 0, 0, loc)) {
			t.Errorf("%s: NextOpen = %v, %v", zone, got, ok)
		}
	}
}
