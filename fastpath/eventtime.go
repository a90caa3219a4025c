package fastpath

import (
	"time"

	"github.com/valyala/fastjson"
)

// eventTime is the event's meta.dt as a time, the Kafka timestamp eventgate-wikimedia gives an
// event (its dt_field): the ingestion time when enrichment wrote it, the event's own when it
// brought one. An event without a meta.dt, or with one that does not parse, gets the ingestion
// time (EventGate leaves it to the Kafka client, which takes the time of producing).
func eventTime(ev *fastjson.Value, req *Request) time.Time {
	v := ev.Get("meta", "dt")
	if v == nil || v == req.dtValue {
		return req.Time
	}
	b, err := v.StringBytes()
	if err != nil {
		return req.Time
	}
	if t, ok := parseDT(b2s(b)); ok {
		return t
	}
	return req.Time
}

// parseDT parses a date-time as Ajv 6's fast format takes it (fastDateTime: "T", "t" or a
// JavaScript space between date and time, any fraction, "Z", "z" or a numeric offset with or
// without a colon; RFC 3339 is one case), to the nanosecond. Out-of-range fields (a day 31 in
// June) roll over as time.Date rolls them.
func parseDT(s string) (time.Time, bool) {
	if !fastDateTime(s) {
		return time.Time{}, false
	}
	year, month, day := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	i := 11 // the separator is one byte, or a multi-byte JavaScript space
	if s[10] != 'T' && s[10] != 't' {
		_, n := jsSpaceAt(s, 10)
		i = 10 + n
	}
	hour, minute, sec := digits(s[i:i+2]), digits(s[i+3:i+5]), digits(s[i+6:i+8])
	i += 8
	nsec := 0
	if i < len(s) && s[i] == '.' {
		scale := 100_000_000
		for i++; i < len(s) && isDigit(s[i]); i++ {
			nsec += int(s[i]-'0') * scale
			scale /= 10
		}
	}
	offset := 0 // seconds east of UTC
	if c := s[i]; c == '+' || c == '-' {
		zone := s[i+1:]
		offset = digits(zone[0:2]) * 3600
		switch len(zone) {
		case 4: // hhmm
			offset += digits(zone[2:4]) * 60
		case 5: // hh:mm
			offset += digits(zone[3:5]) * 60
		}
		if c == '-' {
			offset = -offset
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// digits is the number written by s, all decimal digits.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
