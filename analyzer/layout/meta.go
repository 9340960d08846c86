package layout

import (
	"encoding/json"
	"strings"
)

// tomlString reads a top-level `key = "value"` from a small TOML file such as
// prisma's migration_lock.toml; nothing else in those files matters here.
func tomlString(b []byte, key string) string {
	val := ""
	eachLine(b, bomLen(b), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			return true
		}
		if t[0] == '[' {
			return false
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) != key {
			return true
		}
		v = strings.TrimSpace(v)
		if i := strings.Index(v, "#"); i >= 0 && !strings.HasPrefix(v, `"`) {
			v = strings.TrimSpace(v[:i])
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
				v = v[1 : end+1]
			}
		}
		val = v
		return false
	})
	return val
}

// journalEntry is one entry of drizzle-kit's meta/_journal.json.
type journalEntry struct {
	Idx         int    `json:"idx"`
	Tag         string `json:"tag"`
	When        int64  `json:"when"`
	Breakpoints bool   `json:"breakpoints"`
}

type journal struct {
	Dialect string         `json:"dialect"`
	Entries []journalEntry `json:"entries"`
}

func parseJournal(b []byte) ([]journalEntry, error) {
	var j journal
	if err := json.Unmarshal(b[bomLen(b):], &j); err != nil {
		return nil, err
	}
	return j.Entries, nil
}

func journalDialect(b []byte) string {
	var j journal
	if err := json.Unmarshal(b[bomLen(b):], &j); err != nil {
		return ""
	}
	return j.Dialect
}

// propertyValue reads one key of a Java properties file (Flyway's
// .sql.conf): "key=value" or "key: value", # and ! start comments.
func propertyValue(b []byte, key string) (string, int, bool) {
	var val string
	var line int
	found := false
	eachLine(b, bomLen(b), func(l textLine) bool {
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' || t[0] == '!' {
			return true
		}
		i := strings.IndexAny(t, "=:")
		if i < 0 {
			return true
		}
		if strings.TrimSpace(t[:i]) == key {
			val, line, found = strings.TrimSpace(t[i+1:]), l.no, true
		}
		return true
	})
	return val, line, found
}
