package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML file at path and parses it with Parse, naming the file
// by path in every problem. env looks up environment variables; nil means
// os.LookupEnv.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, env)
}

// Parse builds a Config from YAML. It
//
//  1. parses data into a YAML node tree;
//  2. decodes it strictly into a Config: unknown fields and values of the
//     wrong type are problems, and ${VAR} and ${VAR:-default} in values (not
//     keys) are replaced with values from env ($${ is a literal ${);
//  3. applies ApplyDefaults and then checks the result as Validate does.
//
// A variable that is unset and has no default is a problem too, even where
// an empty value would be allowed: it is most likely a forgotten export, and
// ${VAR:-} says that it may be unset.
//
// Every problem of every stage is reported, located by filename, line and
// path, in file order, as a Problems error; the Config is then nil. env
// looks up environment variables; nil means os.LookupEnv.
func Parse(data []byte, filename string, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	root, p := parseYAML(data)
	if p != nil {
		p.File = filename
		return nil, Problems{*p}
	}

	d := &decoder{
		env:   env,
		lines: map[string]int{},
		notes: map[string]string{},
		muted: map[string]bool{},
	}
	cfg := new(Config)
	if root != nil {
		d.lines[""] = root.Line
		d.walk(reflect.ValueOf(cfg).Elem(), root, "")
	}
	if d.aborted {
		// The tree was not decoded whole; validating part of it would
		// only add noise.
		return nil, inFile(d.problems, filename)
	}
	cfg.storeDefaults(env)
	cfg.ApplyDefaults()

	ps := d.problems
	reported := map[string]bool{}
	for _, p := range validate(cfg, d.notes) {
		if d.isMuted(p.Path) {
			continue
		}
		p.Line = d.line(p.Path)
		ps = append(ps, p)
		reported[p.Path] = true
	}
	// An unset variable is a problem even where an empty value is allowed,
	// unless validation has already said so.
	for _, u := range d.unset {
		if !reported[u.path] && !d.isMuted(u.path) {
			ps = append(ps, u.problem())
		}
	}
	if len(ps) == 0 {
		return cfg, nil
	}
	return nil, inFile(ps, filename)
}

// inFile names the file in each problem and sorts them in file order;
// problems on one line keep the order the stages found them in.
func inFile(ps Problems, filename string) Problems {
	for i := range ps {
		ps[i].File = filename
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return ps
}

// parseYAML parses data into its root node: nil for an empty document.
func parseYAML(data []byte) (root *yaml.Node, p *Problem) {
	// The YAML parser has panicked on odd input in the past; a config file,
	// however odd, must get an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			root, p = nil, &Problem{Msg: fmt.Sprintf("invalid YAML (%v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxProblem(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxProblem(err)
	default:
		return nil, &Problem{Line: next.Line, Msg: "a second YAML document: the file must hold one"}
	}
	root = &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		root = doc.Content[0]
	}
	return root, nil
}

// syntaxProblem turns the YAML parser's "yaml: line 3: ..." into a Problem.
func syntaxProblem(err error) *Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := &Problem{Msg: "invalid YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				p.Line, p.Msg = n, "invalid YAML: "+text
			}
		}
	}
	if strings.Contains(msg, "did not find expected alphabetic or numeric character") {
		// The usual cause: `match: *` or `match: *-latest`, where a bare *
		// starts an alias.
		p.Msg += ` (a value starting with * must be quoted, e.g. match: "*")`
	}
	return p
}

// maxSteps bounds the decoder's work. Aliases let a small file describe a
// huge tree (the "billion laughs"); a real config is a few thousand nodes.
const maxSteps = 200_000

// decoder decodes a YAML node tree into a Config by walking the tree and the
// Config's type together. Doing the walk itself, rather than handing the tree
// to yaml's KnownFields decoder, gives every problem a path as well as a line,
// lets decoding go on past the first problem, and interpolates values one
// field at a time so that it knows which field an unset variable left empty.
// Each leaf value is still decoded by yaml (Node.Decode).
type decoder struct {
	env      func(string) (string, bool)
	lines    map[string]int    // path -> line of its key (field, map entry) or item
	notes    map[string]string // path -> why interpolation left it empty ("${X} is not set")
	muted    map[string]bool   // paths whose validation problems would only echo a decoding problem
	unset    []unsetAt         // values that used unset variables without a default
	problems Problems
	steps    int
	aborted  bool
}

func (d *decoder) add(n *yaml.Node, path, msg string) {
	d.problems = append(d.problems, Problem{Line: n.Line, Path: path, Msg: msg})
}

// fail records a problem with the value at path, which is left as it was.
// Validation problems at or under path are muted: "type is required" after
// "type: expected a string, got a list" would say nothing new.
func (d *decoder) fail(n *yaml.Node, path, msg string) {
	d.add(n, path, msg)
	d.muted[path] = true
}

// isMuted reports whether path or one of its ancestors is muted.
func (d *decoder) isMuted(path string) bool {
	for {
		if d.muted[path] {
			return true
		}
		parent, ok := parentPath(path)
		if !ok {
			return false
		}
		path = parent
	}
}

// line returns the line for a validation problem at path: the line of path
// itself or, for a field missing from the file, of its nearest ancestor.
func (d *decoder) line(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		parent, ok := parentPath(path)
		if !ok {
			return 0
		}
		path = parent
	}
}

// parentPath strips the last element of a path: a[0].b -> a[0] -> a -> "".
func parentPath(path string) (string, bool) {
	if path == "" {
		return "", false
	}
	if strings.HasSuffix(path, `"]`) { // a map key, quoted: a.headers["X-Y"]
		if i := strings.LastIndex(path, `["`); i >= 0 {
			return path[:i], true
		}
	}
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return "", true
	}
	return path[:i], true
}

// tick counts a step; it reports true once the budget is spent.
func (d *decoder) tick(n *yaml.Node) bool {
	if d.aborted {
		return true
	}
	d.steps++
	if d.steps > maxSteps {
		d.aborted = true
		d.problems = append(d.problems, Problem{Line: n.Line, Msg: "the file is too large once its aliases are expanded"})
	}
	return d.aborted
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

const (
	nullTag  = "!!null"
	mergeTag = "!!merge"
)

// walk decodes n into v; path names v in problems.
func (d *decoder) walk(v reflect.Value, n *yaml.Node, path string) {
	if d.tick(n) {
		return
	}
	if n = deref(n); n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == nullTag {
		return // "field:" with nothing after it keeps the zero value, and so the default
	}
	switch v.Kind() {
	case reflect.Struct:
		d.walkStruct(v, n, path)
	case reflect.Slice:
		d.walkSlice(v, n, path)
	case reflect.Map:
		d.walkMap(v, n, path)
	default:
		d.leaf(v, n, path)
	}
}

func (d *decoder) walkStruct(v reflect.Value, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, ": expected a mapping, got "+describe(n))
		return
	}
	t := v.Type()
	names := make([]string, 0, t.NumField())
	index := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		index[name] = i
	}
	fieldPath := func(name string) string { return joinPath(path, name) }
	for _, kv := range d.pairs(n, path, fieldPath, nil) {
		name := kv.key.Value
		p := fieldPath(name)
		i, ok := index[name]
		if !ok {
			msg := ": unknown field"
			if s := suggest(name, names); s != "" {
				msg += " (did you mean " + s + "?)"
				// The field the typo meant is probably missing now; saying
				// so as well would be noise.
				d.muted[joinPath(path, s)] = true
			}
			d.add(kv.key, p, msg)
			continue
		}
		d.lines[p] = kv.key.Line
		d.walk(v.Field(i), kv.value, p)
	}
}

func (d *decoder) walkSlice(v reflect.Value, n *yaml.Node, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, ": expected a list, got "+describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = item.Line
		d.walk(s.Index(i), item, p)
	}
	v.Set(s)
}

func (d *decoder) walkMap(v reflect.Value, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, ": expected a mapping, got "+describe(n))
		return
	}
	t := v.Type()
	m := reflect.MakeMap(t)
	entryPath := func(key string) string { return path + "[" + strconv.Quote(key) + "]" }
	for _, kv := range d.pairs(n, path, entryPath, nil) {
		p := entryPath(kv.key.Value)
		d.lines[p] = kv.key.Line
		elem := reflect.New(t.Elem()).Elem()
		d.walk(elem, kv.value, p)
		m.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(t.Key()), elem)
	}
	v.Set(m)
}

// leaf decodes a scalar into v, interpolating ${VAR} first.
func (d *decoder) leaf(v reflect.Value, n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, ": expected "+want(v.Type())+", got "+describe(n))
		return
	}
	node := n
	val, blanks, err := expand(n.Value, d.env)
	if err != nil {
		d.fail(n, path, ": "+err.Error())
		return
	}
	if len(blanks) > 0 {
		d.notes[path] = describeBlanks(blanks)
		var unset []blankVar
		for _, b := range blanks {
			if !b.Set {
				unset = append(unset, b)
			}
		}
		if len(unset) > 0 {
			d.unset = append(d.unset, unsetAt{path, n.Line, val == "", unset})
		}
	}
	if val != n.Value {
		c := *n
		c.Value = val
		// A plain ${PORT} was resolved as a string; what it stands for
		// should be resolved as if it had been written out (8080, an int),
		// unless a string is wanted anyway: then a value such as "null"
		// or "0x1F" must stay the text it is.
		if v.Kind() != reflect.String &&
			n.Style&(yaml.TaggedStyle|yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			c.Tag = ""
		}
		node = &c
	}
	if err := decodeScalar(node, v); err != nil {
		d.fail(n, path, ": expected "+want(v.Type())+", got "+quoteShort(node.Value))
	}
}

// decodeScalar decodes a scalar node into v with yaml's own rules (Go duration
// strings for time.Duration, YAML 1.2 numbers), recovering from any panic.
func decodeScalar(n *yaml.Node, v reflect.Value) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	tmp := reflect.New(v.Type())
	if err := n.Decode(tmp.Interface()); err != nil {
		return err
	}
	v.Set(tmp.Elem()) // only on success: a failed decode leaves the zero value
	return nil
}

// unsetAt is a value that used variables that are not set and have no
// default: most likely a forgotten export, so Parse reports it.
type unsetAt struct {
	path  string
	line  int
	empty bool // the whole value came out empty
	vars  []blankVar
}

// problem reports u; one who means it to be optional writes ${VAR:-}.
func (u unsetAt) problem() Problem {
	msg := ": " + describeBlanks(u.vars)
	if u.empty {
		msg = "is empty: " + describeBlanks(u.vars)
	}
	return Problem{Line: u.line, Path: u.path, Msg: msg + " (write ${" + u.vars[0].Name + ":-} to allow that)"}
}

type keyValue struct{ key, value *yaml.Node }

// pairs returns a mapping's entries with YAML merge keys (<<: *anchor)
// resolved: an entry written in the mapping beats a merged one, and an
// earlier merged mapping beats a later one. A key written twice is a
// problem; the first is kept. merging holds the mappings being merged, to
// stop a mapping that merges itself.
func (d *decoder) pairs(n *yaml.Node, path string, pathOf func(key string) string, merging []*yaml.Node) []keyValue {
	var own, merged []keyValue
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if d.tick(n.Content[i]) {
			return nil
		}
		if k == nil || k.Kind != yaml.ScalarNode {
			d.add(n.Content[i], path, ": a key must be a string, not "+describe(n.Content[i]))
			continue
		}
		if k.ShortTag() == mergeTag {
			merged = append(merged, d.merge(val, path, pathOf, append(merging, n))...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k, pathOf(k.Value), fmt.Sprintf(": duplicate key (first at line %d)", first.Line))
			continue
		}
		seen[k.Value] = k
		own = append(own, keyValue{k, val})
	}
	for _, kv := range merged {
		if _, ok := seen[kv.key.Value]; !ok {
			seen[kv.key.Value] = kv.key
			own = append(own, kv)
		}
	}
	return own
}

// merge returns the entries a merge key's value brings in.
func (d *decoder) merge(val *yaml.Node, path string, pathOf func(string) string, merging []*yaml.Node) []keyValue {
	src := deref(val)
	var maps []*yaml.Node
	switch {
	case src != nil && src.Kind == yaml.MappingNode:
		maps = []*yaml.Node{src}
	case src != nil && src.Kind == yaml.SequenceNode:
		for _, item := range src.Content {
			if m := deref(item); m != nil && m.Kind == yaml.MappingNode {
				maps = append(maps, m)
				continue
			}
			d.add(item, path, ": << merges mappings, not "+describe(item))
		}
	default:
		d.add(val, path, ": << must be followed by a mapping or a list of mappings, not "+describe(val))
		return nil
	}
	var out []keyValue
	for _, m := range maps {
		if slices.Contains(merging, m) {
			d.add(val, path, ": << merges a mapping into itself")
			continue
		}
		out = append(out, d.pairs(m, path, pathOf, merging)...)
	}
	return out
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// describe names what a node is, without quoting it: the value might be a
// secret written in the wrong place.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case nullTag:
			return "null"
		}
		return "a string"
	}
	return "an alias"
}

// want names what a Go type expects, for "expected ..." messages.
func want(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 30s, 5m or 1h30m"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	}
	return "a mapping"
}

// quoteShort quotes a value for a message, cut to a readable length.
func quoteShort(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		return strconv.Quote(string(r[:max])) + "..."
	}
	return strconv.Quote(s)
}

// suggest returns the known name closest to name, if it is close enough to
// be a likely typo.
func suggest(name string, known []string) string {
	lower := strings.ToLower(name)
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(lower, k); dist < bestDist && 2*dist <= len(k) {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes; it
// gives up (returning 3) once the lengths alone differ by more than 2.
func editDistance(a, b string) int {
	if len(a)-len(b) > 2 || len(b)-len(a) > 2 {
		return 3
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
