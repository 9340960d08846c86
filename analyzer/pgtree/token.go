package pgtree

import (
	"log/slog"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"github.com/pganalyze/pg_query_go/v5/parser"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Token is one token of PostgreSQL's scanner: the fields of
// pg_query.ScanToken without the protobuf message around them. A file's
// tokens are thousands; held as values in one slice, with no pointer
// among them, they cost one allocation and the garbage collector never
// scans them, where the messages cost 64 bytes each, a pointer to each,
// and a scan of both.
type Token struct {
	// Start and End are the token's byte offsets in the scanned text.
	Start, End  int32
	Token       pg_query.Token
	KeywordKind pg_query.KeywordKind
}

// GetStart, GetEnd, GetToken and GetKeywordKind are pg_query.ScanToken's
// accessors, so that code reading tokens reads either alike.
func (t Token) GetStart() int32                      { return t.Start }
func (t Token) GetEnd() int32                        { return t.End }
func (t Token) GetToken() pg_query.Token             { return t.Token }
func (t Token) GetKeywordKind() pg_query.KeywordKind { return t.KeywordKind }

// ScanTokens is pg_query.Scan's tokens, read from the scanner's protobuf
// bytes straight into Tokens (decodeTokens). Bytes decodeTokens does not
// read are left to proto.Unmarshal, as Parse leaves its own. A text
// without tokens gives nil.
func ScanTokens(sql string) ([]Token, error) {
	b, err := parser.ScanToProtobuf(sql)
	if err != nil {
		return nil, err
	}
	toks, err := decodeTokens(b)
	if err == nil {
		return toks, nil
	}
	slog.Debug("scan result left to proto.Unmarshal", "err", err)
	res := &pg_query.ScanResult{}
	if err := proto.Unmarshal(b, res); err != nil {
		return nil, err
	}
	return tokensOf(res), nil
}

// tokensOf is the Tokens of a scan result's messages; nil when it has
// none.
func tokensOf(res *pg_query.ScanResult) []Token {
	if len(res.GetTokens()) == 0 {
		return nil
	}
	toks := make([]Token, len(res.GetTokens()))
	for i, t := range res.GetTokens() {
		toks[i] = Token{Start: t.GetStart(), End: t.GetEnd(), Token: t.GetToken(), KeywordKind: t.GetKeywordKind()}
	}
	return toks
}

// decodeTokens reads a pg_query.ScanResult's bytes into its tokens, as
// proto.Unmarshal reads them into messages: the fields are counted first,
// so that the tokens take one slice of the right length, then each token
// is read by readToken; a token field, a tag and a length of one byte
// each, as the scanner writes every token, is read in place (shortToken),
// any other field through protowire. The version field is read and
// dropped. Whatever decodeScanResult (the generated decoder) would refuse
// this refuses as well, and ScanTokens leaves it to proto.Unmarshal. No
// tokens give nil.
func decodeTokens(b []byte) ([]Token, error) {
	n := 0
	for rest := b; len(rest) > 0; {
		if _, k := shortToken(rest); k > 0 {
			n, rest = n+1, rest[k:]
			continue
		}
		num, typ, k := protowire.ConsumeTag(rest)
		if k < 0 {
			return nil, wireError(k)
		}
		rest = rest[k:]
		if k = protowire.ConsumeFieldValue(num, typ, rest); k < 0 {
			return nil, wireError(k)
		}
		rest = rest[k:]
		if num == 2 {
			n++
		}
	}
	var toks []Token
	if n > 0 {
		toks = make([]Token, n)
	}
	return readTokens(b, toks)
}

// readTokens reads the fields of b into toks, one token for each token
// field (decodeTokens counted them).
func readTokens(b []byte, toks []Token) ([]Token, error) {
	i := 0
	var err error
	for len(b) > 0 {
		v, k := shortToken(b)
		if k > 0 {
			b = b[k:]
		} else {
			var num protowire.Number
			var typ protowire.Type
			if num, typ, k = protowire.ConsumeTag(b); k < 0 {
				return nil, wireError(k)
			}
			b = b[k:]
			switch num {
			case 1: // version
				if _, b, err = varintField(b, typ); err != nil {
					return nil, err
				}
				continue
			case 2: // tokens
				if v, b, err = lenField(b, typ); err != nil {
					return nil, err
				}
			default:
				return nil, fieldError("ScanResult", num, typ)
			}
		}
		if err = readToken(v, &toks[i]); err != nil {
			return nil, err
		}
		i++
	}
	return toks, nil
}

// shortToken reads a token field (field 2, length-delimited) whose length
// fits in one byte, as every token's does (four varints): its contents
// and the bytes it takes, or 0 bytes when b does not start with one.
func shortToken(b []byte) ([]byte, int) {
	const tokenTag = 2<<3 | byte(protowire.BytesType)
	if len(b) < 2 || b[0] != tokenTag || b[1] >= 0x80 || int(b[1]) > len(b)-2 {
		return nil, 0
	}
	end := 2 + int(b[1])
	return b[2:end], end
}

// readToken is decodeScanToken for one token. The scanner writes a
// token as fields 1, 2, 4 and 5, each a varint, with a tag of one byte
// and a value of one or two (an offset below 16384): such a field is read
// here in place, its tag and wire type matched as one byte. From the
// first field written otherwise, readTokenFields reads the rest, as a
// field read again by it only sets what it set already.
func readToken(b []byte, m *Token) error {
	const (
		start       = 1<<3 | byte(protowire.VarintType)
		end         = 2<<3 | byte(protowire.VarintType)
		token       = 4<<3 | byte(protowire.VarintType)
		keywordKind = 5<<3 | byte(protowire.VarintType)
	)
	for i := 0; i < len(b); {
		field := i
		var v uint64
		switch {
		case i+1 < len(b) && b[i+1] < 0x80:
			v, i = uint64(b[i+1]), i+2
		case i+2 < len(b) && b[i+2] < 0x80:
			// b[i+1] has its high bit set: its seven bits, then the next.
			v, i = uint64(b[i+1]&0x7f)|uint64(b[i+2])<<7, i+3
		default:
			return readTokenFields(b[field:], m)
		}
		switch b[field] {
		case start:
			m.Start = int32(v)
		case end:
			m.End = int32(v)
		case token:
			m.Token = pg_query.Token(int32(v))
		case keywordKind:
			m.KeywordKind = pg_query.KeywordKind(int32(v))
		default:
			return readTokenFields(b[field:], m)
		}
	}
	return nil
}

// readTokenFields reads any token field: its tag and value through
// protowire.ConsumeVarint where they do not fit in a byte. It accepts what
// decodeScanToken accepts, fields 1, 2, 4 and 5 as varints, the last of
// a field written twice winning, and refuses the rest.
func readTokenFields(b []byte, m *Token) error {
	for i := 0; i < len(b); {
		tag, n := protowire.ConsumeVarint(b[i:])
		if n < 0 {
			return wireError(n)
		}
		i += n
		num, typ := protowire.Number(tag>>3), protowire.Type(tag&7)
		if typ != protowire.VarintType {
			return fieldError("ScanToken", num, typ)
		}
		v, n := protowire.ConsumeVarint(b[i:])
		if n < 0 {
			return wireError(n)
		}
		i += n
		switch num {
		case 1:
			m.Start = int32(v)
		case 2:
			m.End = int32(v)
		case 4:
			m.Token = pg_query.Token(int32(v))
		case 5:
			m.KeywordKind = pg_query.KeywordKind(int32(v))
		default:
			return fieldError("ScanToken", num, typ)
		}
	}
	return nil
}
