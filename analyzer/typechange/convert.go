package typechange

import (
	"fmt"

	"github.com/migration-guard/migration-guard/analyzer/catalog"
)

// mech is what PostgreSQL's coercion expression does to the stored data.
// It mirrors ATColumnChangeRequiresRewrite: a plain column reference or a
// RelabelType keeps the heap, timestamp<->timestamptz may keep it, any
// other function rewrites it.
type mech int

const (
	mechNone    mech = iota // no function touches the data (identity, binary coercion, simplified length check)
	mechTZ                  // timestamp <-> timestamptz, skipped under a fixed UTC TimeZone on 12+
	mechFunc                // a function or I/O conversion runs on every value
	mechUnknown             // not analysed: assume a function
	mechNoPath              // PostgreSQL has no cast in this context
)

// dims tag a loss or failure so that a later step failing on the same
// property hides an earlier silent cut: "cut to 60, then fail above 50"
// fails for every value the cut would have touched.
const (
	dimLength = "length"
	dimOther  = ""
)

type note struct{ text, dim string }

// conv is one coercion step from one type to another.
type conv struct {
	mech      mech
	narrowing bool
	fails     []note
	losses    []note
	why       string
}

func (c *conv) fail(dim, format string, a ...any) {
	c.narrowing = true
	c.fails = append(c.fails, note{fmt.Sprintf(format, a...), dim})
}

func (c *conv) lose(dim, format string, a ...any) {
	c.narrowing = true
	c.losses = append(c.losses, note{fmt.Sprintf(format, a...), dim})
}

// shift reinterprets values without being able to lose any (time zones).
func (c *conv) shift(format string, a ...any) {
	c.losses = append(c.losses, note{fmt.Sprintf(format, a...), dimOther})
}

const noChange = "is no change"

type env struct {
	ver int
	cat *catalog.Catalog
}

// convert describes PostgreSQL coercing a value of type from to type to,
// as ALTER COLUMN TYPE does (assignment context) or as an explicit cast
// in USING does (explicit context).
func convert(from, to typ, explicit bool, e env) conv {
	switch {
	case from.same(to):
		return conv{mech: mechNone, why: noChange}
	case from.Name == "" || to.Name == "":
		return conv{mech: mechUnknown, why: "involves a type that is not known"}
	case from.kind == kindDomain && !from.array:
		if from.dom == nil {
			return conv{mech: mechUnknown, why: fmt.Sprintf("involves domain %s, whose base type is not known, so a rewrite is assumed", from.sql())}
		}
		// A domain column reads as its base type, without the base's typmod.
		b := *from.dom
		b.modsUnknown = true
		c := convert(b, to, explicit, e)
		if c.why == noChange {
			c.why = fmt.Sprintf("only relabels the values of domain %s", from.sql())
		}
		return c
	case to.kind == kindDomain && !to.array:
		if to.dom == nil {
			return conv{mech: mechUnknown, why: fmt.Sprintf("involves domain %s, whose base type is not known, so a rewrite is assumed", to.sql())}
		}
		c := convert(from, *to.dom, explicit, e)
		if c.mech == mechNoPath || c.mech == mechUnknown || !to.domChecks {
			if c.why == noChange {
				c.why = fmt.Sprintf("only relabels the values: domain %s has no constraints", to.sql())
			}
			return c
		}
		// ATColumnChangeRequiresRewrite rewrites whenever the domain has
		// constraints, to check them on every row.
		c.mech = mechFunc
		c.why = fmt.Sprintf("checks the constraints of domain %s on every row", to.sql())
		c.fails = append(c.fails, note{fmt.Sprintf("values that violate the constraints of domain %s", to.sql()), dimOther})
		return c
	case from.array || to.array:
		return convertArray(from, to, explicit, e)
	case from.kind == kindEnum || to.kind == kindEnum:
		return convertEnum(from, to, explicit)
	case from.kind == kindUser || to.kind == kindUser:
		return convertUser(from, to, explicit)
	}
	return convertBuiltin(from, to, explicit, e)
}

func convertArray(from, to typ, explicit bool, e env) conv {
	switch {
	case from.array && to.array:
		c := convert(from.elem(), to.elem(), explicit, e)
		switch c.mech {
		case mechNoPath, mechUnknown:
			return c
		case mechNone:
			// Measured: an ArrayCoerceExpr is never simplified away, so even
			// varchar(10)[] -> varchar(20)[] and varchar[] -> text[] rewrite.
			c.why = "converts every array element, and PostgreSQL rewrites array columns even when the elements need no conversion"
		default:
			c.why = "converts every array element"
		}
		c.mech = mechFunc
		return c
	case from.array && to.isString():
		c := conv{mech: mechFunc, why: "converts every array to its text form"}
		lengthTo(&c, 0, to, explicit, "values whose text form is longer than")
		return c
	case to.array && from.isString():
		if !explicit {
			return conv{mech: mechNoPath}
		}
		c := conv{mech: mechFunc, why: "parses every value as an array"}
		c.fail(dimOther, "values that are not valid %s literals", to.sql())
		return c
	}
	return conv{mech: mechNoPath}
}

func convertEnum(from, to typ, explicit bool) conv {
	switch {
	case from.kind == kindEnum && to.isString():
		c := conv{mech: mechFunc, why: "converts every value to its label text"}
		lengthTo(&c, from.maxLen(), to, explicit, "labels longer than")
		return c
	case to.kind == kindEnum && from.isString():
		if !explicit {
			return conv{mech: mechNoPath}
		}
		c := conv{mech: mechFunc, why: "looks up every value among the enum's labels"}
		c.fail(dimOther, "values that are not labels of %s", to.sql())
		return c
	}
	return conv{mech: mechNoPath}
}

func convertUser(from, to typ, explicit bool) conv {
	if from.kind == kindUser && to.isString() {
		// Any type converts to a string type through its output function.
		c := conv{mech: mechFunc, why: fmt.Sprintf("converts every value of %s, a type that is not known here, through its text form, so a rewrite is assumed", from.sql())}
		lengthTo(&c, 0, to, explicit, "values whose text form is longer than")
		return c
	}
	u := from
	if to.kind == kindUser {
		u = to
	}
	return conv{mech: mechUnknown, why: fmt.Sprintf("involves type %s, which is not known here, so a rewrite is assumed", u.sql())}
}

// lengthTo records what a length limit on the target does to values of at
// most srcMax characters (0: unlimited).
func lengthTo(c *conv, srcMax int64, to typ, explicit bool, subject string) {
	n := to.maxLen()
	if to.base == "name" {
		if srcMax == 0 || srcMax > 63 {
			// name(text) truncates silently even in assignment context.
			c.lose(dimLength, "%s 63 bytes are cut to 63 bytes", subject)
		}
		return
	}
	if (to.base != "varchar" && to.base != "bpchar") || n == 0 || (srcMax > 0 && srcMax <= n) {
		return
	}
	if explicit {
		c.lose(dimLength, "%s %d characters are cut to %d", subject, n, n)
	} else {
		c.fail(dimLength, "%s %d characters", subject, n)
	}
}

// hasLengthFunc lists the types whose typmod is applied by a length
// coercion function; its support function (if any) is modelled by
// lengthSimplifies.
var hasLengthFunc = map[string]bool{
	"varchar": true, "bpchar": true, "bit": true, "varbit": true, "numeric": true,
	"timestamp": true, "timestamptz": true, "time": true, "timetz": true, "interval": true,
}

// lengthSimplifies mirrors varchar_support, varbit_support, numeric_support,
// TemporalSimplify (timestamp_support, time_support) and interval_support:
// the length coercion is dropped when it cannot change any value. src is
// the typmod PostgreSQL sees on the input, which is unknown (no Mods)
// after any type conversion. bpchar and bit have no support function.
func lengthSimplifies(base string, src, dst typ, srcKnown bool) bool {
	if len(dst.Mods) == 0 {
		return true
	}
	has := srcKnown && len(src.Mods) > 0
	switch base {
	case "varchar", "varbit":
		return has && dst.mod(0) >= src.mod(0)
	case "numeric":
		if !has || len(src.Mods) < 2 || len(dst.Mods) < 2 {
			return false
		}
		return dst.mod(1) == src.mod(1) && dst.mod(0) >= src.mod(0)
	case "timestamp", "timestamptz", "time", "timetz":
		return dst.mod(0) == maxTimePrecision || (has && dst.mod(0) >= src.mod(0))
	case "interval":
		return intervalNoop(src, dst, has)
	}
	return false
}

// Interval typmod masks and the ordering interval_support uses for the
// least significant field (0 = second ... 5 = year).
const (
	imMonth     = 1 << 1
	imYear      = 1 << 2
	imDay       = 1 << 3
	imHour      = 1 << 10
	imMinute    = 1 << 11
	imSecond    = 1 << 12
	imFullRange = 0x7FFF
	// intervalFullPrecision is the precision field of a typmod without one.
	intervalFullPrecision = 0xFFFF
)

func intervalLeast(t typ, has bool) int {
	if !has {
		return 0
	}
	switch t.mod(0) {
	case imYear:
		return 5
	case imMonth, imYear | imMonth:
		return 4
	case imDay:
		return 3
	case imHour, imDay | imHour:
		return 2
	case imMinute, imDay | imHour | imMinute, imHour | imMinute:
		return 1
	}
	return 0
}

func intervalPrecision(t typ, has bool) int64 {
	if !has || len(t.Mods) < 2 {
		return intervalFullPrecision
	}
	return t.mod(1)
}

func intervalNoop(src, dst typ, has bool) bool {
	oldLeast, newLeast := intervalLeast(src, has), intervalLeast(dst, true)
	oldPrec, newPrec := intervalPrecision(src, has), intervalPrecision(dst, true)
	return newLeast <= oldLeast && (oldLeast > 0 || newPrec >= maxTimePrecision || newPrec >= oldPrec)
}

var intervalFieldNames = []string{"second", "minute", "hour", "day", "month", "year"}

func convertBuiltin(from, to typ, explicit bool, e env) conv {
	var c conv
	sameBase := from.base == to.base
	if !sameBase {
		ci, ok := pgCasts()[[2]string{from.base, to.base}]
		switch {
		case ok && ci.context == 'e' && !explicit:
			return conv{mech: mechNoPath}
		case ok && ci.method == 'b':
			c.mech = mechNone
		case ok && (from.base == "timestamp" && to.base == "timestamptz" || from.base == "timestamptz" && to.base == "timestamp"):
			c.mech = mechTZ
		case ok:
			c.mech = mechFunc
		case to.isString():
			c.mech = mechFunc // I/O conversion to a string type: assignment
		case from.isString() && explicit:
			c.mech = mechFunc // I/O conversion from a string type: explicit only
		default:
			return conv{mech: mechNoPath}
		}
	}
	typmodFunc := hasLengthFunc[to.base] && !lengthSimplifies(to.base, from, to, sameBase && !from.modsUnknown)
	if typmodFunc {
		c.mech = mechFunc
	}
	semantics(&c, from, to, explicit, e)
	c.why = whyBuiltin(from, to, c, sameBase, typmodFunc)
	return c
}

func whyBuiltin(from, to typ, c conv, sameBase, typmodFunc bool) string {
	if sameBase {
		if c.mech == mechNone {
			switch {
			case len(to.Mods) == 0:
				return "removes the limit"
			case from.base == "numeric":
				return "keeps the scale and does not lower the precision"
			case temporal[from.base] || from.base == "interval":
				return "keeps at least the old precision"
			}
			return "only raises the limit"
		}
		if from.modsUnknown {
			return "cannot skip the length check, because PostgreSQL does not see the domain's limit on the stored values"
		}
		switch from.base {
		case "bpchar", "bit":
			return "changes the length of a fixed-length type, which PostgreSQL always applies to every value"
		case "numeric":
			if len(from.Mods) < 2 {
				return "adds a precision limit, so every value is checked"
			}
			if from.mod(1) != to.mod(1) {
				return "changes the scale, so every value is converted"
			}
			return "lowers the precision, so every value is checked"
		case "interval":
			return "narrows the interval's fields or precision, so every value is adjusted"
		}
		if temporal[from.base] {
			return "lowers the fractional-second precision, so every value is rounded"
		}
		if len(from.Mods) == 0 {
			return "adds a length limit, so every value is checked"
		}
		return "lowers the limit, so every value is checked"
	}
	switch c.mech {
	case mechNone:
		return "is binary coercible"
	case mechTZ:
		return "converts every value using the session TimeZone"
	}
	if typmodFunc && pgCasts()[[2]string{from.base, to.base}].method == 'b' {
		return fmt.Sprintf("adds a limit that PostgreSQL checks on every value, even when all of them fit (there is no shortcut from %s)", from.sql())
	}
	if _, ok := pgCasts()[[2]string{from.base, to.base}]; !ok {
		return "converts every value through its text form"
	}
	return "converts every value with a function"
}

// semantics fills in what the conversion does to the values themselves.
func semantics(c *conv, from, to typ, explicit bool, e env) {
	f, t := from.base, to.base
	switch {
	case from.isString() && to.isString():
		stringSemantics(c, from, to, explicit)
	case to.isString():
		lengthTo(c, from.maxLen(), to, explicit, "values whose text form is longer than")
	case from.isString():
		c.fail(dimOther, "values that are not valid %s input", to.sql())
	case numeric[f] && numeric[t]:
		numericSemantics(c, from, to, e)
	case (f == "bit" || f == "varbit") && (t == "bit" || t == "varbit"):
		bitSemantics(c, from, to, explicit)
	case f == t && f == "interval":
		intervalSemantics(c, from, to)
	case dateTime[f] && dateTime[t]:
		timeSemantics(c, from, to)
	case f == "json" && t == "jsonb":
		c.fail(dimOther, `values containing the \u0000 escape`)
		c.lose(dimOther, "duplicate object keys keep only their last value, and key order and whitespace are not kept")
	case f == "inet" && t == "cidr":
		c.lose(dimOther, "host bits are zeroed (10.1.2.3/8 becomes 10.0.0.0/8)")
	case f == "macaddr8" && t == "macaddr":
		c.fail(dimOther, "values whose 4th and 5th bytes are not FF:FE")
	}
}

func stringSemantics(c *conv, from, to typ, explicit bool) {
	f, t := from.base, to.base
	if t == "bpchar" && f == "bpchar" && !explicit && to.maxLen() > 0 && (from.maxLen() == 0 || from.maxLen() > to.maxLen()) {
		c.fail(dimLength, "values longer than %d characters (not counting trailing spaces)", to.maxLen())
	} else {
		lengthTo(c, from.maxLen(), to, explicit, "values longer than")
	}
	// The new type compares values the old one told apart, so a rebuilt
	// unique index can meet duplicates.
	if t == "bpchar" && f != "bpchar" {
		c.fails = append(c.fails, note{"a unique index on the column holds values that differ only in trailing spaces", dimOther})
	}
	if t == "citext" && f != "citext" {
		c.fails = append(c.fails, note{"a unique index on the column holds values that differ only in letter case", dimOther})
	}
}

var numeric = map[string]bool{"int2": true, "int4": true, "int8": true, "numeric": true, "float4": true, "float8": true, "money": true}

var dateTime = map[string]bool{"timestamp": true, "timestamptz": true, "date": true, "time": true, "timetz": true, "interval": true}

func isInt(b string) bool   { return b == "int2" || b == "int4" || b == "int8" }
func isFloat(b string) bool { return b == "float4" || b == "float8" }

func numericSemantics(c *conv, from, to typ, e env) {
	f, t := from.base, to.base
	switch {
	case isInt(t):
		lo, hi, _ := intRange(t)
		outside := fmt.Sprintf("values outside %d..%d", lo, hi)
		switch {
		case isInt(f):
			if intDigits(f) > intDigits(t) {
				c.fail(dimOther, "%s", outside)
			}
		case f == "numeric":
			s := from.numSpec()
			if s.scale != 0 && !from.integral {
				c.lose(dimOther, "fractional parts are rounded to the nearest integer (halves away from zero)")
			}
			switch {
			case s.intDigits < 0 && e.ver >= 14:
				c.fail(dimOther, "%s, NaN or infinity", outside)
			case s.intDigits < 0 || s.intDigits >= intDigits(t):
				c.fail(dimOther, "%s, or NaN", outside)
			default:
				c.fail(dimOther, "NaN values")
			}
		case isFloat(f):
			if !from.integral {
				c.lose(dimOther, "fractional parts are rounded to the nearest integer (halves to even)")
			}
			c.fail(dimOther, "%s, NaN or infinity", outside)
		case f == "money":
			// No cast exists; the mechanics report it.
		}
	case t == "numeric":
		numericTarget(c, from, to, e)
	case t == "float4" || t == "float8":
		digits, maxExp, name := int64(15), int64(308), "double precision"
		if t == "float4" {
			digits, maxExp, name = 6, 38, "real"
		}
		switch {
		case isInt(f):
			if intDigits(f) > digits+1 {
				exact := int64(1) << 53
				if t == "float4" {
					exact = 1 << 24
				}
				c.lose(dimOther, "integers beyond ±%d are rounded to the nearest %s value", exact, name)
			}
		case f == "numeric":
			s := from.numSpec()
			if s.intDigits < 0 || s.intDigits+s.scale > digits {
				c.lose(dimOther, "values are rounded to about %d significant digits", digits)
			}
			if s.intDigits < 0 || s.intDigits > maxExp {
				c.fail(dimOther, "values beyond the %s range (about ±1e%d)", name, maxExp)
			}
		case f == "float8" && t == "float4":
			c.lose(dimOther, "values are rounded to about 6 significant digits")
			c.fail(dimOther, "values beyond the real range (magnitude above about 3.4e38, or non-zero below about 1.4e-45)")
		}
	case t == "money":
		switch {
		case f == "int8":
			c.fail(dimOther, "values beyond ±92233720368547758")
		case f == "numeric":
			c.lose(dimOther, "values are rounded to the currency's fraction digits (lc_monetary)")
			c.fail(dimOther, "values beyond about ±92233720368547758")
		}
	}
}

// numericTarget handles any number converted to numeric or numeric(p,s).
func numericTarget(c *conv, from, to typ, e env) {
	src, dst := from.numSpec(), to.numSpec()
	float := isFloat(from.base)
	if float {
		digits := int64(15)
		if from.base == "float4" {
			digits = 6
		}
		c.shift("values are rounded to %d significant digits", digits)
	}
	if len(to.Mods) > 0 {
		rounds := dst.scale >= 0 && (src.scale < 0 || src.scale > dst.scale) && !from.integral
		if rounds {
			c.lose(dimOther, "values are rounded to %s", places(dst.scale))
		}
		switch {
		case src.intDigits < 0 || src.intDigits > dst.intDigits:
			c.fail(dimOther, "%s", moreDigits(dst.intDigits))
		case rounds && src.intDigits == dst.intDigits:
			// 99.99 rounds to 100.0, one digit more than numeric(3,1) holds.
			c.fail(dimOther, "%s after rounding to %s", moreDigits(dst.intDigits), places(dst.scale))
		}
	}
	// Numeric has infinity only from 14, and a constrained numeric never
	// holds it.
	switch {
	case float && (len(to.Mods) > 0 || e.ver < 14):
		c.fail(dimOther, "infinite values")
	case from.base == "numeric" && len(from.Mods) == 0 && len(to.Mods) > 0 && e.ver >= 14:
		c.fail(dimOther, "infinite values")
	}
}

func moreDigits(d int64) string {
	if d <= 0 {
		return fmt.Sprintf("values of magnitude 1e%d or more", d)
	}
	return fmt.Sprintf("values with more than %s before the decimal point", plural(d, "digit", "digits"))
}

func places(s int64) string {
	switch {
	case s == 0:
		return "whole numbers"
	case s < 0:
		return fmt.Sprintf("the nearest 1e%d", -s)
	}
	return plural(s, "decimal place", "decimal places")
}

func bitSemantics(c *conv, from, to typ, explicit bool) {
	n, m := from.maxLen(), to.maxLen()
	switch {
	case m == 0:
	case to.base == "bit":
		fixed := from.base == "bit" && n > 0
		switch {
		case explicit && fixed && n > m:
			c.lose(dimLength, "values are cut to %d bits", m)
		case explicit && fixed:
			c.shift("values are padded on the right with zero bits to %d bits", m)
		case explicit:
			c.lose(dimLength, "values are padded with zero bits or cut to exactly %d bits", m)
		case fixed:
			c.fail(dimLength, "any non-NULL value, because bit(%d) accepts exactly %d bits and the values have %d", m, m, n)
		default:
			c.fail(dimLength, "values that are not exactly %d bits long", m)
		}
	case n == 0 || n > m:
		if explicit {
			c.lose(dimLength, "values longer than %d bits are cut to %d", m, m)
		} else {
			c.fail(dimLength, "values longer than %d bits", m)
		}
	}
}

func intervalSemantics(c *conv, from, to typ) {
	if len(to.Mods) == 0 {
		return
	}
	has := len(from.Mods) > 0
	if ol, nl := intervalLeast(from, has), intervalLeast(to, true); nl > ol {
		c.lose(dimOther, "values are truncated to whole %ss", intervalFieldNames[nl])
	}
	if op, np := intervalPrecision(from, has), intervalPrecision(to, true); intervalLeast(to, true) == 0 && np < maxTimePrecision && np < op {
		c.lose(dimOther, "%s", fracRounded(np))
	}
}

func fracRounded(p int64) string {
	if p <= 0 {
		return "fractional seconds are rounded to whole seconds"
	}
	return fmt.Sprintf("fractional seconds beyond %s are rounded", plural(p, "digit", "digits"))
}

func timePrecision(t typ) int64 {
	switch {
	case t.base == "date":
		return 0
	case temporal[t.base] && len(t.Mods) > 0:
		return t.mod(0)
	}
	return maxTimePrecision
}

func timeSemantics(c *conv, from, to typ) {
	f, t := from.base, to.base
	switch {
	case f == "timestamp" && t == "timestamptz":
		c.shift("existing values are read as local time in the session TimeZone")
	case f == "timestamptz" && t == "timestamp":
		c.lose(dimOther, "the time zone is dropped: values become local time in the session TimeZone")
	case f == "date" && t == "timestamptz":
		c.shift("dates become midnight local time in the session TimeZone")
	case f == "timestamp" && t == "date":
		c.lose(dimOther, "the time of day is dropped")
	case f == "timestamptz" && t == "date":
		c.lose(dimOther, "the time of day is dropped: values become dates in the session TimeZone")
	case (f == "timestamp" || f == "timestamptz") && t == "time":
		c.lose(dimOther, "the date is dropped")
	case f == "timestamptz" && t == "timetz":
		c.lose(dimOther, "the date is dropped; times keep the session TimeZone's offset")
	case f == "time" && t == "timetz":
		c.shift("values get the session TimeZone's current UTC offset")
	case f == "timetz" && t == "time":
		c.lose(dimOther, "the UTC offset is dropped")
	case f == "interval" && t == "time":
		c.lose(dimOther, "only the time of day of each interval is kept: days, months and years are dropped")
	}
	if temporal[t] && timePrecision(to) < timePrecision(from) {
		c.lose(dimOther, "%s", fracRounded(timePrecision(to)))
	}
}
