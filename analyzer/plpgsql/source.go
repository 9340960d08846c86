// Package plpgsql finds the SQL statements that procedural code runs: the
// body of a DO block, of a function or procedure in LANGUAGE plpgsql or sql,
// and the strings a body hands to EXECUTE. Every statement comes back with
// the byte offsets, in the file, of the text it was read from, so that it can
// be judged and shown where people wrote it.
package plpgsql

import (
	"strings"
	"unicode/utf8"
)

// Source is a text together with where each of its bytes stands in the
// file. Bodies written as '...' or E'...' strings are decoded before they
// run, so a statement's text and the file's bytes differ: Offsets keeps them
// apart. A Source with nil Offsets is a plain slice of the file at Base,
// but for its first lead bytes, which all stand at Base (the "SELECT " put
// before an expression), byte k after them standing at Base+k-lead.
type Source struct {
	Text    string
	Base    int
	Offsets []int // len(Text)+1 entries when set
	// lead, with nil Offsets, is how many bytes at the start stand at
	// Base: an offset per byte is then not needed for a text whose head
	// was added (TestLeadIsMapped holds it to mapped).
	lead int
}

// verbatim says the text stands verbatim in the file at Base.
func (s Source) verbatim() bool { return s.Offsets == nil && s.lead == 0 }

// Linear is text found verbatim at byte offset base of the file.
func Linear(text string, base int) Source { return Source{Text: text, Base: base} }

// At returns the file offset of Text[i]; i is clamped to the text.
func (s Source) At(i int) int {
	if i < 0 {
		i = 0
	}
	if i > len(s.Text) {
		i = len(s.Text)
	}
	if s.Offsets == nil {
		return s.Base + max(i-s.lead, 0)
	}
	return s.Offsets[i]
}

// IsLinear says the text stands verbatim in the file.
func (s Source) IsLinear() bool {
	if s.Offsets == nil {
		return s.lead == 0 || s.Text == ""
	}
	for i := 1; i < len(s.Offsets); i++ {
		if s.Offsets[i] != s.Offsets[0]+i {
			return false
		}
	}
	return true
}

// Slice is Text[i:j] with its offsets.
func (s Source) Slice(i, j int) Source {
	i, j = clamp(i, len(s.Text)), clamp(j, len(s.Text))
	if j < i {
		j = i
	}
	if s.Offsets == nil {
		return Source{Text: s.Text[i:j], Base: s.Base + max(i-s.lead, 0), lead: max(s.lead-i, 0)}
	}
	return Source{Text: s.Text[i:j], Offsets: s.Offsets[i : j+1]}
}

// mapped builds a Source for text whose byte k stands at Text[at(k)].
func (s Source) mapped(text string, at func(k int) int) Source {
	offs := make([]int, len(text)+1)
	for k := range offs {
		offs[k] = s.At(at(k))
	}
	return Source{Text: text, Offsets: offs}
}

// shifted is mapped for text whose byte k stands at Text[at+k]: a plain
// slice of the file when s is one, without an offset per byte.
func (s Source) shifted(text string, at int) Source {
	if s.verbatim() && at >= 0 && at+len(text) <= len(s.Text) && text != "" {
		return Source{Text: text, Base: s.Base + at}
	}
	return s.mapped(text, func(k int) int { return at + k })
}

// led is mapped for text whose first lead bytes stand at Text[at] and
// byte k after them at Text[at+k-lead] (an expression after the "SELECT "
// put before it): without an offset per byte when s stands verbatim in the
// file and the text within it.
func (s Source) led(text string, lead, at int) Source {
	if s.verbatim() && at >= 0 && lead >= 0 && lead <= len(text) && at+len(text)-lead <= len(s.Text) {
		return Source{Text: text, Base: s.Base + at, lead: lead}
	}
	return s.mapped(text, func(k int) int { return at + max(k-lead, 0) })
}

// pinned is text that cannot be mapped byte for byte: every byte stands at
// the file offset of Text[at].
func (s Source) pinned(text string, at int) Source { return s.spanned(text, at, at) }

// spanned is text that cannot be mapped byte for byte but was read from
// Text[from:to] (a folded concatenation, a string with escapes): every byte
// stands at from, and its end at to, so that the whole stands for the span.
func (s Source) spanned(text string, from, to int) Source {
	base := s.At(from)
	offs := make([]int, len(text)+1)
	for k := range offs {
		offs[k] = base
	}
	offs[len(text)] = max(base, s.At(to))
	return Source{Text: text, Offsets: offs}
}

func clamp(i, n int) int {
	if i < 0 {
		return 0
	}
	if i > n {
		return n
	}
	return i
}

// decodeLiteral reads the string constant token lit (as written) and returns
// its value with, for each byte of the value, its byte index in lit. ok is
// false for forms it does not decode (U&'...', an escape it does not know):
// the caller then pins the value to the literal's start.
func decodeLiteral(lit string) (value string, index []int, ok bool) {
	var b strings.Builder
	var idx []int
	emit := func(s string, at int) {
		for k := 0; k < len(s); k++ {
			idx = append(idx, at)
		}
		b.WriteString(s)
	}
	switch {
	case strings.HasPrefix(lit, "$"):
		end := strings.IndexByte(lit[1:], '$')
		if end < 0 {
			return "", nil, false
		}
		tag := lit[:end+2]
		if len(lit) < 2*len(tag) || !strings.HasSuffix(lit, tag) {
			return "", nil, false
		}
		body := lit[len(tag) : len(lit)-len(tag)]
		idx = make([]int, len(body)+1)
		for k := range idx {
			idx[k] = len(tag) + k
		}
		return body, idx, true
	case strings.HasPrefix(lit, "'"), strings.HasPrefix(lit, "E'"), strings.HasPrefix(lit, "e'"):
		escapes := lit[0] != '\''
		i := strings.IndexByte(lit, '\'') + 1
		for {
			if i >= len(lit) {
				return "", nil, false
			}
			c := lit[i]
			switch {
			case c == '\'' && i+1 < len(lit) && lit[i+1] == '\'':
				emit("'", i)
				i += 2
			case c == '\'':
				// The end, or a continuation: 'a'<newline>'b' is 'ab'.
				j := i + 1
				for j < len(lit) && strings.IndexByte(" \t\r\n\f", lit[j]) >= 0 {
					j++
				}
				if j < len(lit) && lit[j] == '\'' && strings.Contains(lit[i+1:j], "\n") {
					i = j + 1
					continue
				}
				if j != len(lit) {
					return "", nil, false
				}
				idx = append(idx, i)
				return b.String(), idx, true
			case c == '\\' && escapes:
				s, n, good := backslashEscape(lit[i:])
				if !good {
					return "", nil, false
				}
				emit(s, i)
				i += n
			default:
				_, size := utf8.DecodeRuneInString(lit[i:])
				for k := 0; k < size; k++ {
					idx = append(idx, i+k)
				}
				b.WriteString(lit[i : i+size])
				i += size
			}
		}
	}
	return "", nil, false
}

// dollarBody says where the value of a dollar-quoted literal ($tag$...$tag$)
// starts; ok is false for any other literal.
func dollarBody(lit string) (at int, ok bool) {
	if !strings.HasPrefix(lit, "$") {
		return 0, false
	}
	end := strings.IndexByte(lit[1:], '$')
	if end < 0 {
		return 0, false
	}
	tag := lit[:end+2]
	if len(lit) < 2*len(tag) || !strings.HasSuffix(lit, tag) {
		return 0, false
	}
	return len(tag), true
}

// dollarQuoteAt finds a dollar-quoted string constant at byte from of
// text, or after an AS and blanks there, as PostgreSQL's scanner reads it:
// the constant spans text[start:end], its tag is tag bytes long ($$: 2). It
// says no (ok false) to anything else, a comment before the constant
// included: the caller then scans.
func dollarQuoteAt(text string, from int) (start, tag, end int, ok bool) {
	i := from
	if i+2 < len(text) && (text[i] == 'a' || text[i] == 'A') && (text[i+1] == 's' || text[i+1] == 'S') {
		j := i + 2
		for j < len(text) && strings.IndexByte(" \t\n\r\f", text[j]) >= 0 {
			j++
		}
		if j == i+2 {
			return 0, 0, 0, false // "as$$" is one identifier
		}
		i = j
	}
	if i >= len(text) || text[i] != '$' {
		return 0, 0, 0, false
	}
	// The tag: $$, or $ then a letter, _ or a byte of a multibyte
	// character, then those or digits, then $ ($1 is a parameter).
	k := i + 1
	identByte := func(c byte, first bool) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80 || !first && c >= '0' && c <= '9'
	}
	for k < len(text) && identByte(text[k], k == i+1) {
		k++
	}
	if k >= len(text) || text[k] != '$' {
		return 0, 0, 0, false
	}
	delim := text[i : k+1]
	// Inside the constant every $ starts a token of the scanner, so the
	// constant ends at the first occurrence of its tag.
	close := strings.Index(text[k+1:], delim)
	if close < 0 {
		return 0, 0, 0, false
	}
	return i, len(delim), k + 1 + close + len(delim), true
}

// backslashEscape decodes one escape of an E'...' string at the start of s
// and says how many bytes it took.
func backslashEscape(s string) (string, int, bool) {
	if len(s) < 2 {
		return "", 0, false
	}
	switch c := s[1]; c {
	case 'b':
		return "\b", 2, true
	case 'f':
		return "\f", 2, true
	case 'n':
		return "\n", 2, true
	case 'r':
		return "\r", 2, true
	case 't':
		return "\t", 2, true
	case 'x', 'u', 'U':
		// Hexadecimal and Unicode escapes are rare in bodies; the caller
		// pins such a body to its start rather than guess.
		return "", 0, false
	default:
		if c >= '0' && c <= '7' {
			v, n := 0, 1
			for n < 4 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
				v = v*8 + int(s[n]-'0')
				n++
			}
			if v == 0 || v > 0x7f {
				return "", 0, false
			}
			return string(rune(v)), n, true
		}
		_, size := utf8.DecodeRuneInString(s[1:])
		return s[1 : 1+size], 1 + size, true
	}
}
