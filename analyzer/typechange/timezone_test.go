package typechange

import "testing"

// timeZoneCases were each measured on PostgreSQL 15: utc says whether the
// server skipped the heap rewrite of timestamp -> timestamptz.
var timeZoneCases = []struct {
	name string
	utc  bool
}{
	{"UTC", true}, {"utc", true}, {"Etc/UTC", true}, {"ETC/UTC", true}, {"GMT", true},
	{"Zulu", true}, {"UCT", true}, {"Universal", true}, {"Greenwich", true},
	{"GMT0", true}, {"GMT+0", true}, {"GMT-0", true}, {"Etc/GMT", true},
	{"Etc/GMT+0", true}, {"Etc/GMT-0", true}, {"Etc/GMT0", true}, {"Etc/Universal", true},
	{"Etc/Zulu", true}, {"Etc/UCT", true}, {"Etc/Greenwich", true},
	{"UTC+0", true}, {"UTC0", true}, {"UTC-0", true}, {"utc0", true}, {"FOO0", true},
	{"abc+0", true}, {"<+00>-00", true}, {"<+00>+0", true}, {"UTC+00:00", true},
	{"GMT+00:00:00", true}, {"0", true}, {"+0", true}, {"-0", true}, {"0.0", true},
	{"+00:00", true}, {"-00:00", true}, {"00:00", true}, {"+00", true}, {"0:00", true},
	{"Europe/London", false}, {"Africa/Abidjan", false}, {"Iceland", false},
	{"Atlantic/Reykjavik", false}, {"America/New_York", false}, {"Etc/GMT+1", false},
	{"UTC+1", false}, {"EST5", false}, {"0.5", false}, {"UTC0UTC", false},
}

func TestFixedUTC(t *testing.T) {
	for _, c := range timeZoneCases {
		if got := fixedUTC(c.name); got != c.utc {
			t.Errorf("fixedUTC(%q) = %v, want %v", c.name, got, c.utc)
		}
	}
	for _, s := range []string{"", "<", "<+00", "ab0", "UTC+", "UTC+000", "UTC+0:0:0:0", "NaN", "Inf"} {
		if fixedUTC(s) {
			t.Errorf("fixedUTC(%q) = true", s)
		}
	}
}
