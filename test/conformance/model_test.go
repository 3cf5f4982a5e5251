package conformance_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/footlight/footlight/internal/awsmodel"
)

// The generator builds inputs from AWS's model alone: a valid baseline for any shape, and for
// every constraint a value that breaks it. Nothing here lists members by hand; the only
// special cases are by shape name, for values a pattern cannot describe (a real key).

// gen makes valid values. override, by shape name, supplies values the model cannot (a real
// P-384 key) or that must name existing resources (ARNs in TestValidRequests…).
type gen struct {
	t        testing.TB
	m        *awsmodel.Model
	override map[string]func() any
}

func (g *gen) shape(name string) *awsmodel.Shape {
	s := g.m.Shapes[name]
	if s == nil {
		g.t.Fatalf("shape %s is not in the model", name)
	}
	return s
}

// input is the baseline input of op: every member set, required or not, so every nested
// constraint has something to break.
func (g *gen) input(op string) map[string]any {
	o := g.m.Operations[op]
	if o == nil || o.Input == "" {
		return map[string]any{}
	}
	in := g.valid(g.shape(o.Input), 0).(map[string]any)
	if fix := baselineFixes[op]; fix != nil {
		fix(in)
	}
	return in
}

// baselineFixes keep the baseline inside the documented one-of rules (SPEC §9), which
// "every member set" would break.
var baselineFixes = map[string]func(map[string]any){
	"ListParticipants": func(in map[string]any) {
		delete(in, "filterByPublished")
		delete(in, "filterByState")
		delete(in, "filterByRecordingState")
	},
}

// valid is the minimal valid value of s: strings of min length matching the pattern (full
// ARNs for ARN shapes), the first enum value, integers max(min, 1) within bounds, lists and
// maps with max(min, 1) entries.
func (g *gen) valid(s *awsmodel.Shape, depth int) any {
	if f, ok := g.override[s.Name]; ok {
		return f()
	}
	if depth > 10 {
		g.t.Fatalf("shape %s: input nests more than 10 deep (recursive shape?)", s.Name)
	}
	switch s.Type {
	case "structure":
		obj := map[string]any{}
		for _, n := range s.MemberNames() {
			obj[n] = g.valid(g.shape(s.Members[n].Shape), depth+1)
		}
		return obj
	case "list":
		items := make([]any, entries(s))
		for i := range items {
			items[i] = g.valid(g.shape(s.Member.Shape), depth+1)
		}
		return items
	case "map":
		obj := map[string]any{}
		for i := 0; i < entries(s); i++ {
			obj[g.key(g.shape(s.Key.Shape), i)] = g.valid(g.shape(s.Value.Shape), depth+1)
		}
		return obj
	case "string":
		return g.str(s)
	case "integer", "long":
		n := 1.0
		if s.Min != nil && *s.Min > n {
			n = *s.Min
		}
		if s.Max != nil && *s.Max < n {
			n = *s.Max
		}
		return json.Number(strconv.FormatInt(int64(n), 10))
	case "float", "double":
		n := 1.0
		if s.Min != nil && *s.Min > n {
			n = *s.Min
		}
		if s.Max != nil && *s.Max < n {
			n = *s.Max
		}
		return json.Number(strconv.FormatFloat(n, 'f', -1, 64))
	case "boolean":
		return true
	case "timestamp":
		return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(time.RFC3339)
	}
	g.t.Fatalf("shape %s: no generator for type %s", s.Name, s.Type)
	return nil
}

// entries is how many items a baseline list or map gets: max(min, 1), at most max.
func entries(s *awsmodel.Shape) int {
	n := 1
	if s.Min != nil && int(*s.Min) > n {
		n = int(*s.Min)
	}
	if s.Max != nil && int(*s.Max) < n {
		n = int(*s.Max)
	}
	return n
}

// arnType finds the resource type an ARN pattern names ("…:storage-configuration/[…").
var arnType = regexp.MustCompile(`:([a-z][a-z-]*)/\[`)

// str is the baseline string of s.
func (g *gen) str(s *awsmodel.Shape) string {
	if f, ok := g.override[s.Name]; ok {
		v, _ := f().(string)
		return v
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if strings.Contains(s.Pattern, "arn:aws:ivs") {
		typ := "stage" // ResourceArn's pattern (fixed, SPEC §9) takes any resource type
		if m := arnType.FindStringSubmatch(s.Pattern); m != nil {
			typ = m[1]
		}
		return g.check(s, "arn:aws:ivs:us-east-1:123456789012:"+typ+"/abcdABCD1234")
	}
	return g.check(s, g.sample(s, minLen(s)))
}

// nonEmpty is a valid string of s with at least one character, to break by substitution.
func (g *gen) nonEmpty(s *awsmodel.Shape) string {
	if v := g.str(s); v != "" {
		return v
	}
	return g.check(s, g.sample(s, max(minLen(s), 1)))
}

// key is the i-th distinct valid key of a map whose keys have shape s.
func (g *gen) key(s *awsmodel.Shape, i int) string {
	if i < len(s.Enum) {
		return s.Enum[i]
	}
	// Keys are at least one character even when the shape allows "", for readability.
	base := g.nonEmpty(s)
	for _, c := range []string{"k" + strconv.Itoa(i), base + strconv.Itoa(i), strconv.Itoa(i)} {
		for utf8.RuneCountInString(c) < minLen(s) {
			c += "a"
		}
		if g.ok(s, c) {
			return c
		}
	}
	g.t.Fatalf("shape %s: cannot make distinct key %d", s.Name, i)
	return ""
}

func minLen(s *awsmodel.Shape) int {
	if s.Min == nil {
		return 0
	}
	return int(*s.Min)
}

// ok reports whether v satisfies every string constraint of s.
func (g *gen) ok(s *awsmodel.Shape, v string) bool {
	n := utf8.RuneCountInString(v)
	if s.Min != nil && float64(n) < *s.Min || s.Max != nil && float64(n) > *s.Max {
		return false
	}
	if re := s.PatternRE(); re != nil && !re.MatchString(v) {
		return false
	}
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			if e == v {
				return true
			}
		}
		return false
	}
	return true
}

// check fails the test when the generator made an invalid value: every baseline must be valid.
func (g *gen) check(s *awsmodel.Shape, v string) string {
	if !g.ok(s, v) {
		g.t.Fatalf("generator bug: %q does not satisfy shape %s (min %v max %v pattern %v)", v, s.Name, s.Min, s.Max, s.PatternRE())
	}
	return v
}

// sample derives a string of about n characters from the shape's anchored pattern: literals
// as written, one preferred character per class, repetitions grown until n is reached.
func (g *gen) sample(s *awsmodel.Shape, n int) string {
	re := s.PatternRE()
	if re == nil {
		return strings.Repeat("a", n)
	}
	parsed, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		g.t.Fatalf("shape %s: parse pattern: %v", s.Name, err)
	}
	zero := 0
	extra := n - utf8.RuneCountInString(sampleRE(parsed, &zero))
	return sampleRE(parsed, &extra)
}

func sampleRE(re *syntax.Regexp, extra *int) string {
	zero := 0
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCharClass:
		return string(pickRune(re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return "a"
	case syntax.OpCapture:
		return sampleRE(re.Sub[0], extra)
	case syntax.OpConcat:
		var b strings.Builder
		for _, sub := range re.Sub {
			b.WriteString(sampleRE(sub, extra))
		}
		return b.String()
	case syntax.OpAlternate:
		return sampleRE(re.Sub[0], extra)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		var b strings.Builder
		for i := 0; i < lo; i++ {
			b.WriteString(sampleRE(re.Sub[0], &zero))
		}
		for i := lo; *extra > 0 && (hi < 0 || i < hi); i++ {
			one := sampleRE(re.Sub[0], &zero)
			n := utf8.RuneCountInString(one)
			if n == 0 || n > *extra {
				break
			}
			b.WriteString(one)
			*extra -= n
		}
		return b.String()
	}
	return "" // anchors, empty matches
}

// pickRune prefers a plain letter or digit from a character class.
func pickRune(ranges []rune) rune {
	for _, want := range []rune{'a', 'A', '0'} {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= want && want <= ranges[i+1] {
				return want
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] > ' ' {
			return ranges[i]
		}
	}
	return ranges[0]
}

// ---- violations ----

// violation is one input that breaks exactly one constraint of the model.
type violation struct {
	Name   string         // e.g. "participantTokenConfigurations[0].duration above max (20161)"
	Member string         // the leaf member the reply must name
	Input  map[string]any // the whole input, otherwise valid
}

// violations walks every constrained member of op's input, recursively through structures,
// list items and map keys and values, and breaks each constraint in turn.
func (g *gen) violations(op string) []violation {
	o := g.m.Operations[op]
	if o == nil || o.Input == "" {
		return nil
	}
	w := &walker{g: g, base: g.input(op)}
	in := g.shape(o.Input)
	for _, name := range in.MemberNames() {
		ref := in.Members[name]
		// Path labels and query values are strings on the wire: no JSON type can be wrong.
		typed := ref.Location == ""
		w.member(g.shape(ref.Shape), []any{name}, name, in.IsRequired(name), typed)
	}
	return w.out
}

type walker struct {
	g    *gen
	base map[string]any
	out  []violation
}

func (w *walker) add(path []any, member, what string, v any, del bool) {
	w.out = append(w.out, violation{Name: pathString(path) + ": " + what, Member: member, Input: with(w.base, path, v, del)})
}

func pathString(path []any) string {
	var b strings.Builder
	for i, p := range path {
		switch x := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", x)
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(x)
		}
	}
	return b.String()
}

func shown(v any) string {
	s := fmt.Sprint(v)
	if b, err := json.Marshal(v); err == nil {
		s = string(b)
	}
	if len(s) > 40 {
		s = s[:40] + fmt.Sprintf("…(%d chars)", len(s))
	}
	return s
}

// member adds the violations of the member at path (its value in the baseline is valid).
// typed is false for members bound to the path or query, which carry only strings.
func (w *walker) member(s *awsmodel.Shape, path []any, member string, required, typed bool) {
	g := w.g
	if required {
		w.add(path, member, "required member removed", nil, true)
		if typed {
			w.add(path, member, "required member null", nil, false)
		}
	}
	if typed {
		for _, v := range wrongTypes(s) {
			w.add(path, member, "wrong JSON type "+shown(v), v, false)
		}
	}
	switch s.Type {
	case "string":
		for _, v := range g.badStrings(s) {
			w.add(path, member, v.what, v.value, false)
		}
	case "integer", "long", "float", "double":
		if s.Min != nil {
			v := json.Number(strconv.FormatFloat(*s.Min-1, 'f', -1, 64))
			w.add(path, member, "below min "+string(v), v, false)
		}
		if s.Max != nil {
			v := json.Number(strconv.FormatFloat(*s.Max+1, 'f', -1, 64))
			w.add(path, member, "above max "+string(v), v, false)
		}
	case "list":
		elem := g.shape(s.Member.Shape)
		item := func() any { return g.valid(elem, 0) }
		if s.Max != nil {
			w.add(path, member, fmt.Sprintf("%g items, above max", *s.Max+1), repeat(int(*s.Max)+1, item), false)
		}
		if s.Min != nil && *s.Min > 0 {
			w.add(path, member, fmt.Sprintf("%g items, below min", *s.Min-1), repeat(int(*s.Min)-1, item), false)
		}
		if entries(s) > 0 {
			if typed {
				w.add(append(clone(path), 0), member, "null item", nil, false)
			}
			w.member(elem, append(clone(path), 0), member, false, typed)
		}
	case "map":
		keyShape, valShape := g.shape(s.Key.Shape), g.shape(s.Value.Shape)
		if s.Max != nil {
			w.add(path, member, fmt.Sprintf("%g entries, above max", *s.Max+1), w.mapOf(keyShape, valShape, int(*s.Max)+1), false)
		}
		if s.Min != nil && *s.Min > 0 {
			w.add(path, member, fmt.Sprintf("%g entries, below min", *s.Min-1), w.mapOf(keyShape, valShape, int(*s.Min)-1), false)
		}
		for _, k := range g.badStrings(keyShape) {
			w.add(path, member, "key "+k.what, map[string]any{k.value.(string): g.valid(valShape, 0)}, false)
		}
		if entries(s) > 0 {
			first := g.key(keyShape, 0)
			if typed {
				w.add(append(clone(path), first), member, "null value", nil, false)
			}
			w.member(valShape, append(clone(path), first), member, false, typed)
		}
	case "structure":
		for _, name := range s.MemberNames() {
			w.member(g.shape(s.Members[name].Shape), append(clone(path), name), name, s.IsRequired(name), typed)
		}
	}
}

func (w *walker) mapOf(k, v *awsmodel.Shape, n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[w.g.key(k, i)] = w.g.valid(v, 0)
	}
	if len(m) != n {
		w.g.t.Fatalf("shape %s: made %d distinct keys, want %d", k.Name, len(m), n)
	}
	return m
}

type badString struct {
	what  string
	value any
}

// badStrings breaks each constraint of a string shape: length below min and above max,
// a forbidden character at a valid length, a value outside the enum. Min length 0 cannot
// be broken.
func (g *gen) badStrings(s *awsmodel.Shape) []badString {
	var out []badString
	valid := []rune(g.nonEmpty(s))
	if s.Min != nil && *s.Min > 0 {
		n := int(*s.Min) - 1
		v := string(valid[:min(n, len(valid))])
		for utf8.RuneCountInString(v) < n {
			v += "a"
		}
		out = append(out, badString{fmt.Sprintf("length %d, below min %g", n, *s.Min), v})
	}
	if s.Max != nil {
		n := int(*s.Max) + 1
		// Grow by repeating the last character, which keeps patterns like ARNs matching.
		last := valid[len(valid)-1]
		v := string(valid)
		if re := s.PatternRE(); re != nil && !re.MatchString(v+string(last)) {
			last = 'a'
		}
		for utf8.RuneCountInString(v) < n {
			v += string(last)
		}
		v = string([]rune(v)[:n])
		out = append(out, badString{fmt.Sprintf("length %d, above max %g", n, *s.Max), v})
	}
	if re := s.PatternRE(); re != nil {
		if v, ok := mismatch(s, re, valid); ok {
			out = append(out, badString{"pattern mismatch " + shown(v), v})
		} else {
			g.t.Errorf("shape %s: could not break pattern %s by one character", s.Name, re)
		}
	}
	if len(s.Enum) > 0 {
		v := "NOT_A_" + s.Enum[0]
		out = append(out, badString{"outside enum " + v, v})
	}
	return out
}

// mismatch replaces one character of a valid value, from the end, with a character the
// pattern forbids; the length stays valid.
func mismatch(s *awsmodel.Shape, re *regexp.Regexp, valid []rune) (string, bool) {
	for i := len(valid) - 1; i >= 0; i-- {
		for _, c := range []rune{'!', '#', '*', ' ', '~', 'é', '\t'} {
			r := clone(valid)
			r[i] = c
			if v := string(r); !re.MatchString(v) {
				return v, true
			}
		}
	}
	return "", false
}

// wrongTypes are JSON values of a type other than the shape's.
func wrongTypes(s *awsmodel.Shape) []any {
	switch s.Type {
	case "string":
		return []any{json.Number("123"), map[string]any{}}
	case "integer", "long":
		return []any{"1", json.Number("1.5"), true}
	case "float", "double":
		return []any{"1", false}
	case "boolean":
		return []any{"true", json.Number("1")}
	case "list":
		return []any{map[string]any{}, "x"}
	case "map", "structure":
		return []any{[]any{}, "x"}
	case "timestamp":
		return []any{true}
	}
	return nil
}

func repeat(n int, f func() any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f()
	}
	return out
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }

// with returns a deep copy of root with the value at path replaced by v, or deleted.
func with(root map[string]any, path []any, v any, del bool) map[string]any {
	cp := deepCopy(root).(map[string]any)
	var cur any = cp
	for i, step := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			k := step.(string)
			if last {
				if del {
					delete(c, k)
				} else {
					c[k] = v
				}
				return cp
			}
			cur = c[k]
		case []any:
			idx := step.(int)
			if last {
				c[idx] = v
				return cp
			}
			cur = c[idx]
		default:
			panic(fmt.Sprintf("path %v: step %d is not a container", path, i))
		}
	}
	return cp
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}
