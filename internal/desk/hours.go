package desk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	// A queue's hours are kept in its own IANA zone, and the server may run
	// where there is no zone database (a scratch or distroless container).
	// Embedding one (about 450 KB) means every zone loads everywhere;
	// time.LoadLocation still prefers the system's copy, which may be newer.
	_ "time/tzdata"
)

// Limits on a schedule, so that one from the API stays small.
const (
	maxIntervalsPerDay = 48
	maxHolidays        = 1000
	maxExceptions      = 1000
	maxNameRunes       = 100

	// searchDays bounds NextOpen and NextClose: a desk closed (or open)
	// for more than a year has no answer.
	searchDays = 370
)

// FieldError names one invalid field by its JSON path, such as
// "weekly.monday[1].close" or "holidays[0].date". It has the shape of
// httpx.FieldError, so the HTTP layer can convert one into the other.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ValidationError lists every field of an input that breaks the rules:
// malformed or overlapping business hours, impossible staffing figures. It
// is the caller's mistake (a 422 at the HTTP layer), never ours.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("desk: invalid input: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Detail)
	}
	return b.String()
}

// fieldErrors collects field errors; err returns nil when there are none.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, detail string) {
	*fe = append(*fe, FieldError{Field: field, Detail: detail})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}

// Interval is one stretch of opening on a local date, as "HH:MM" times of
// day on the 24-hour clock. Open is 00:00 to 23:59; Close is after Open and
// at most 24:00, the end of the day.
type Interval struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// Holiday closes a whole local date ("2026-12-25"), whatever its weekday.
type Holiday struct {
	Date string `json:"date"`
	Name string `json:"name,omitempty"`
}

// Exception gives one local date its own hours, replacing its weekday's:
// either Intervals, or Closed with none.
type Exception struct {
	Date      string     `json:"date"`
	Name      string     `json:"name,omitempty"`
	Closed    bool       `json:"closed,omitempty"`
	Intervals []Interval `json:"intervals,omitempty"`
}

// Week holds the opening intervals of each weekday. In JSON its keys are
// lower-case English day names: {"monday": [{"open": "09:00", "close": "17:00"}]}.
type Week map[time.Weekday][]Interval

// Schedule is a queue's business hours: a weekly pattern in an IANA time
// zone, with holidays and one-off exceptions. It is plain data, as it comes
// from the API and the database; Validate checks it and Compile turns it
// into Hours for answering questions.
//
// Business hours are local: an interval opens when the queue's wall clock
// first reaches Open on its date and closes when it first reaches Close.
// On ordinary days that is simply the local date and time of day; the
// rule decides what daylight-saving changes do:
//
//   - When clocks spring forward, a skipped time is reached when the gap
//     ends: a desk opening at 02:30 on 2026-03-08 in America/New_York opens
//     at 03:00 EDT, and an interval wholly in the gap (02:00–02:45) does not
//     open at all that day.
//   - When clocks fall back, a repeated time is reached at its first
//     occurrence, and what has opened stays open until its Close is reached:
//     on 2026-11-01 in New York, 01:30–05:00 opens at 01:30 EDT and stays
//     open through the repeated hour (it does not close when the clock shows
//     01:00 again); 01:00–01:30 is open once, 01:00–01:30 EDT; and 00:00–03:00
//     lasts four hours.
//   - Intervals are half-open, [Open, Close): 09:00–17:00 is closed at 17:00,
//     and 13:00–17:00 may follow 09:00–13:00 directly.
//   - An interval may not cross midnight (22:00–02:00 is refused). Write it
//     as 22:00–24:00 on one day and 00:00–02:00 on the next: the two join
//     without a gap, and a holiday or exception on the second date then
//     plainly governs its early hours too.
//
// A date's intervals come from, in order: its exception, its holiday (none),
// or its weekday in Weekly. A day missing from Weekly is closed.
type Schedule struct {
	TimeZone   string      `json:"time_zone"`
	Weekly     Week        `json:"weekly"`
	Holidays   []Holiday   `json:"holidays,omitempty"`
	Exceptions []Exception `json:"exceptions,omitempty"`
}

// EveryDay is a week with the same intervals on all seven days.
func EveryDay(intervals ...Interval) Week {
	w := make(Week, 7)
	for d := time.Sunday; d <= time.Saturday; d++ {
		w[d] = slices.Clone(intervals)
	}
	return w
}

// weekOrder is the order days are written in: the working week first.
var weekOrder = [7]time.Weekday{
	time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday,
}

func dayName(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return fmt.Sprint(int(d))
	}
	return strings.ToLower(d.String())
}

// MarshalJSON writes the week with day names as keys, Monday first.
func (w Week) MarshalJSON() ([]byte, error) {
	for d := range w {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("desk: no weekday %d", int(d))
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, d := range weekOrder {
		intervals, ok := w[d]
		if !ok {
			continue
		}
		if intervals == nil {
			intervals = []Interval{}
		}
		v, err := json.Marshal(intervals)
		if err != nil {
			return nil, err
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%q:", dayName(d))
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads day names as keys. Unknown day names and unknown
// fields in an interval are refused, as the API refuses unknown fields.
func (w *Week) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	var byName map[string][]Interval
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&byName); err != nil {
		return err
	}
	week := make(Week, len(byName))
	for name, intervals := range byName {
		d, ok := parseDayName(name)
		if !ok {
			return fmt.Errorf("desk: unknown weekday %q in weekly: use monday, tuesday, … sunday", name)
		}
		week[d] = intervals
	}
	*w = week
	return nil
}

func parseDayName(name string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if name == dayName(d) {
			return d, true
		}
	}
	return 0, false
}

// Validate reports everything wrong with the schedule as a
// *ValidationError: an unknown time zone, malformed times or dates, an
// interval that closes before it opens, overlapping intervals on a day,
// and a date given twice among holidays and exceptions.
func (s Schedule) Validate() error {
	_, err := s.Compile()
	return err
}

// OpenAt reports whether the desk is open at t. An invalid schedule is
// never open. Each call compiles the schedule: to ask often, Compile once.
func (s Schedule) OpenAt(t time.Time) bool {
	h, err := s.Compile()
	return err == nil && h.OpenAt(t)
}

// NextOpen is Hours.NextOpen for a schedule compiled on the spot; an
// invalid schedule never opens.
func (s Schedule) NextOpen(t time.Time) (time.Time, bool) {
	h, err := s.Compile()
	if err != nil {
		return time.Time{}, false
	}
	return h.NextOpen(t)
}

// NextClose is Hours.NextClose for a schedule compiled on the spot; an
// invalid schedule has no answer.
func (s Schedule) NextClose(t time.Time) (time.Time, bool) {
	h, err := s.Compile()
	if err != nil {
		return time.Time{}, false
	}
	return h.NextClose(t)
}

// Hours is a validated schedule ready for questions. It is immutable and
// safe for concurrent use.
type Hours struct {
	loc    *time.Location
	weekly [7][]span
	// dates holds the dates with their own hours: exceptions, and holidays
	// with no spans at all. Keyed by civil day number (days since 1970-01-01).
	dates map[int64][]span
}

// span is an interval in minutes after local midnight, open ≤ m < close.
// A day's spans are sorted and do not overlap.
type span struct{ open, close int }

// Compile validates the schedule and prepares it for questions; its error
// is the same *ValidationError as Validate's.
func (s Schedule) Compile() (*Hours, error) {
	var errs fieldErrors
	h := &Hours{dates: make(map[int64][]span, len(s.Holidays)+len(s.Exceptions))}

	switch s.TimeZone {
	case "":
		errs.add("time_zone", "required: an IANA time zone such as America/New_York")
	case "Local":
		errs.add("time_zone", "name the zone: Local means whatever the server's is")
	default:
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			errs.add("time_zone", "not a known IANA time zone, such as America/New_York")
		} else {
			h.loc = loc
		}
	}

	var strange []int
	for d := range s.Weekly {
		if d < time.Sunday || d > time.Saturday {
			strange = append(strange, int(d))
		}
	}
	slices.Sort(strange)
	for _, d := range strange {
		errs.add("weekly", fmt.Sprintf("no weekday %d: days are sunday (0) to saturday (6)", d))
	}
	for _, d := range weekOrder {
		h.weekly[d] = checkIntervals(&errs, "weekly."+dayName(d), s.Weekly[d])
	}

	seen := make(map[int64]string) // date → the field that gave it first
	checkDate := func(field, value string) (int64, bool) {
		day, ok := parseDate(value)
		if !ok {
			errs.add(field, `must be a date "YYYY-MM-DD"`)
			return 0, false
		}
		if first, dup := seen[day]; dup {
			errs.add(field, fmt.Sprintf("%s is already given at %s", value, first))
			return 0, false
		}
		seen[day] = field
		return day, true
	}
	checkName := func(field, name string) {
		if utf8.RuneCountInString(name) > maxNameRunes {
			errs.add(field, fmt.Sprintf("at most %d characters", maxNameRunes))
		}
	}

	if len(s.Holidays) > maxHolidays {
		errs.add("holidays", fmt.Sprintf("at most %d holidays", maxHolidays))
	} else {
		for i, hol := range s.Holidays {
			field := fmt.Sprintf("holidays[%d]", i)
			checkName(field+".name", hol.Name)
			if day, ok := checkDate(field+".date", hol.Date); ok {
				h.dates[day] = []span{}
			}
		}
	}

	if len(s.Exceptions) > maxExceptions {
		errs.add("exceptions", fmt.Sprintf("at most %d exceptions", maxExceptions))
	} else {
		for i, ex := range s.Exceptions {
			field := fmt.Sprintf("exceptions[%d]", i)
			checkName(field+".name", ex.Name)
			day, dateOK := checkDate(field+".date", ex.Date)
			switch {
			case ex.Closed && len(ex.Intervals) > 0:
				errs.add(field+".intervals", "a closed day takes no intervals")
			case !ex.Closed && len(ex.Intervals) == 0:
				errs.add(field+".intervals", "give the day's intervals, or set closed")
			}
			spans := checkIntervals(&errs, field+".intervals", ex.Intervals)
			if dateOK {
				h.dates[day] = spans
			}
		}
	}

	if err := errs.err(); err != nil {
		return nil, err
	}
	return h, nil
}

// checkIntervals validates one day's intervals, recording what is wrong
// under field, and returns them as sorted spans.
func checkIntervals(errs *fieldErrors, field string, intervals []Interval) []span {
	if len(intervals) > maxIntervalsPerDay {
		errs.add(field, fmt.Sprintf("at most %d intervals a day", maxIntervalsPerDay))
		return nil
	}
	type indexed struct {
		span
		index int
	}
	valid := make([]indexed, 0, len(intervals))
	for i, iv := range intervals {
		at := fmt.Sprintf("%s[%d]", field, i)
		open, openOK := parseClock(iv.Open, false)
		if !openOK {
			errs.add(at+".open", `must be a time of day "HH:MM" from 00:00 to 23:59`)
		}
		closing, closeOK := parseClock(iv.Close, true)
		if !closeOK {
			errs.add(at+".close", `must be a time of day "HH:MM" from 00:01 to 24:00`)
		}
		if !openOK || !closeOK {
			continue
		}
		if closing <= open {
			errs.add(at+".close", "must be after open; to stay open past midnight, close at 24:00 and open at 00:00 the next day")
			continue
		}
		valid = append(valid, indexed{span{open, closing}, i})
	}
	slices.SortStableFunc(valid, func(a, b indexed) int { return a.open - b.open })
	// Compare each interval with the latest-closing one before it, so that
	// 09:00–17:00 is caught overlapping 12:00–13:00 even after 10:00–11:00.
	latest := -1
	for k, iv := range valid {
		if latest >= 0 && iv.open < valid[latest].close {
			prev := intervals[valid[latest].index]
			errs.add(fmt.Sprintf("%s[%d]", field, iv.index),
				fmt.Sprintf("overlaps %s to %s at %s[%d]", prev.Open, prev.Close, field, valid[latest].index))
		}
		if latest < 0 || iv.close > valid[latest].close {
			latest = k
		}
	}
	// Intervals that touch (09:00–12:00, 12:00–17:00) are one opening.
	spans := make([]span, 0, len(valid))
	for _, iv := range valid {
		if n := len(spans); n > 0 && spans[n-1].close >= iv.open {
			spans[n-1].close = max(spans[n-1].close, iv.close)
			continue
		}
		spans = append(spans, iv.span)
	}
	return spans
}

// parseClock reads "HH:MM" as minutes after midnight. "24:00", the end of
// the day, is a closing time only.
func parseClock(s string, closing bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range [...]int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	hour := int(s[0]-'0')*10 + int(s[1]-'0')
	minute := int(s[3]-'0')*10 + int(s[4]-'0')
	switch {
	case minute > 59:
		return 0, false
	case hour < 24:
		return hour*60 + minute, true
	case closing && hour == 24 && minute == 0:
		return 24 * 60, true
	}
	return 0, false
}

// parseDate reads "YYYY-MM-DD" as a civil day number.
func parseDate(s string) (int64, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, false
	}
	return dayOf(t), true
}

// Civil times — a local date and time of day, with no zone — are kept as
// time.Time values in UTC, which never skips or repeats a wall time; a
// civil day is then always 24 hours long.

// dayOf returns the civil day number of a civil time.
func dayOf(civil time.Time) int64 {
	secs := civil.Unix()
	day := secs / 86400
	if secs%86400 < 0 {
		day--
	}
	return day
}

func dayStart(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

// weekdayOf returns the weekday of a civil day number; day 0 was a Thursday.
func weekdayOf(day int64) time.Weekday {
	return time.Weekday(((day % 7) + 7 + int64(time.Thursday)) % 7)
}

func (h *Hours) spansOn(day int64) []span {
	if spans, ok := h.dates[day]; ok {
		return spans
	}
	return h.weekly[weekdayOf(day)]
}

// Location is the schedule's time zone.
func (h *Hours) Location() *time.Location { return h.loc }

// OpenAt reports whether the desk is open at t.
func (h *Hours) OpenAt(t time.Time) bool {
	open, _, ok := h.openingAfter(t)
	return ok && !open.After(t)
}

// NextOpen returns the first instant at or after t when the desk is open
// (t itself when it is open at t), in the schedule's zone. It looks 370
// local days ahead; false means the desk does not open in that time.
func (h *Hours) NextOpen(t time.Time) (time.Time, bool) {
	open, _, ok := h.openingAfter(t)
	switch {
	case !ok:
		return time.Time{}, false
	case open.After(t):
		return open, true
	}
	return t.In(h.loc), true
}

// NextClose returns the first instant at or after t when the desk is
// closed (t itself when it is closed at t), in the schedule's zone. It
// looks 370 local days ahead; false means the desk stays open all that
// time. The opening under way at t ends at NextClose(t), and the one after
// starts at NextOpen of that.
func (h *Hours) NextClose(t time.Time) (time.Time, bool) {
	first := h.civilDay(t)
	last := first + searchDays
	at := t
	for open, closing := range h.openings(first, last) {
		if !closing.After(at) {
			continue
		}
		if open.After(at) {
			break // closed from at until this opening
		}
		at = closing // intervals that touch, also across midnight, run on
	}
	if at.Before(h.reach(dayStart(last + 1))) {
		return at.In(h.loc), true
	}
	return time.Time{}, false
}

// openingAfter returns the first opening, in 370 local days from t, that
// closes after t.
func (h *Hours) openingAfter(t time.Time) (open, closing time.Time, ok bool) {
	first := h.civilDay(t)
	for open, closing := range h.openings(first, first+searchDays) {
		if closing.After(t) {
			return open, closing, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// civilDay returns the local date of t as a civil day number. No opening
// of an earlier date can still be under way at t: each ends by the time the
// clock first reaches the next date, which it has at t.
func (h *Hours) civilDay(t time.Time) int64 {
	_, offset := t.In(h.loc).Zone()
	return dayOf(t.Add(time.Duration(offset) * time.Second).UTC())
}

// openings yields the instants each opening of the days first to last
// starts and ends, in order. They never overlap, as reach never runs
// backwards; an interval lying wholly in a spring-forward gap is skipped.
func (h *Hours) openings(first, last int64) iter.Seq2[time.Time, time.Time] {
	return func(yield func(open, closing time.Time) bool) {
		for day := first; day <= last; day++ {
			midnight := dayStart(day)
			for _, s := range h.spansOn(day) {
				open := h.reach(midnight.Add(time.Duration(s.open) * time.Minute))
				closing := h.reach(midnight.Add(time.Duration(s.close) * time.Minute))
				if open.Before(closing) && !yield(open, closing) {
					return
				}
			}
		}
	}
}

// reach returns the first instant at which the schedule's wall clock reads
// civil or later. That is the instant itself on an ordinary day; the end
// of the gap for a time a spring-forward skips; and the first of the two
// for a time a fall-back repeats.
//
// It walks stretches of constant UTC offset: within one the wall clock runs
// evenly with real time, so the first stretch whose wall times reach civil
// holds the answer.
func (h *Hours) reach(civil time.Time) time.Time {
	// No instant a day or more before civil (as if it were UTC) can read
	// civil on any wall: UTC offsets stay within ±14 hours.
	at := civil.Add(-24 * time.Hour)
	for {
		local := at.In(h.loc)
		_, offset := local.Zone()
		shift := time.Duration(offset) * time.Second
		_, end := local.ZoneBounds()
		if !end.IsZero() && !end.After(at) {
			// On the last day of a leap year under a zone's TZ footer rule,
			// ZoneBounds can answer an end at or before the instant asked
			// about (golang/go#81583). The clock does not change there:
			// step an hour and ask again.
			end = at.Add(time.Hour)
		}
		if end.IsZero() || end.Add(shift).After(civil) {
			if at.Add(shift).Before(civil) {
				return civil.Add(-shift).In(h.loc)
			}
			return local // civil falls in a gap, which ends at this stretch's start
		}
		at = end
	}
}
