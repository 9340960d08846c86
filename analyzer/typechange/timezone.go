package typechange

import (
	"strconv"
	"strings"
)

// zeroOffsetZones are tz database names whose offset has always been zero.
// PostgreSQL skips the rewrite between timestamp and timestamptz only when
// pg_get_timezone_offset reports a fixed zero offset, which rules out
// zones such as Europe/London or Africa/Abidjan that once had another one.
var zeroOffsetZones = map[string]bool{
	"utc": true, "uct": true, "gmt": true, "gmt0": true, "gmt+0": true, "gmt-0": true,
	"zulu": true, "universal": true, "greenwich": true,
	"etc/utc": true, "etc/uct": true, "etc/gmt": true, "etc/gmt0": true, "etc/gmt+0": true,
	"etc/gmt-0": true, "etc/zulu": true, "etc/universal": true, "etc/greenwich": true,
}

// fixedUTC reports whether PostgreSQL treats the session TimeZone setting
// as a fixed zero offset. Besides the zone names, it accepts a number of
// hours equal to zero ("0", "+0", "0.0") and POSIX-style specifications
// without a daylight-saving part ("UTC0", "FOO+0", "<+00>-00", "+00:00"),
// all measured on PostgreSQL 15.
func fixedUTC(tz string) bool {
	tz = strings.ToLower(strings.TrimSpace(tz))
	if tz == "" {
		return false
	}
	if zeroOffsetZones[tz] {
		return true
	}
	if f, err := strconv.ParseFloat(tz, 64); err == nil {
		return f == 0
	}
	return posixZero(tz)
}

// posixZero parses "name offset" where name is three or more letters or
// <...>, or empty, and offset is a signed zero hh[:mm[:ss]].
func posixZero(s string) bool {
	switch {
	case strings.HasPrefix(s, "<"):
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return false
		}
		s = s[end+1:]
	default:
		n := 0
		for n < len(s) && s[n] >= 'a' && s[n] <= 'z' {
			n++
		}
		if n != 0 && n < 3 {
			return false
		}
		s = s[n:]
	}
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 2 {
			return false
		}
		for _, r := range p {
			if r != '0' {
				return false
			}
		}
	}
	return true
}
