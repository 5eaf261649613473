package metalrt

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// No Mac compiles the MSL here, so these tests read it: every contract has
// exactly one kernel of its name, whose buffer slots, address spaces,
// constness, element types and parameter struct match the contract, and
// whose threadgroup memory matches the geometry.

// mslParam is one kernel parameter: "device const uchar *weight [[buffer(0)]]"
// is Type "device const uchar*", Name "weight", Attr "buffer(0)".
type mslParam struct{ Type, Name, Attr string }

// mslKernel is a kernel function, possibly a template: TmplParams are the
// names of its parameters, types (typename B) or values (short N).
type mslKernel struct {
	Func       string
	TmplParams []string
	Params     []mslParam
}

// mslHost is a kernel as the runtime sees it: a host name, the function
// and the template arguments it was instantiated with.
type mslHost struct {
	Kernel *mslKernel
	Args   []string
}

type mslField struct{ Type, Name string }

type mslSource struct {
	kernels map[string]*mslKernel
	hosts   map[string][]mslHost
	structs map[string][]mslField
	defines map[string]string
	asserts map[string]int // block struct → asserted sizeof
	text    string         // without comments
}

var (
	reKernel   = regexp.MustCompile(`(?:template\s*<([^<>]*)>\s*)?kernel\s+void\s+(\w+)\s*\(`)
	reTmpl     = regexp.MustCompile(`^(?:typename|short|int)\s+(\w+)$`)
	reInstance = regexp.MustCompile(`template\s*\[\[\s*host_name\(\s*"([^"]*)"\s*\)\s*\]\]\s*kernel\s+(\w+)\s+(\w+)\s*<([^<>;]*)>\s*;`)
	reTypedef  = regexp.MustCompile(`typedef\s+decltype\(\s*(\w+)\s*<([^<>]*)>\s*\)\s+(\w+)\s*;`)
	reStruct   = regexp.MustCompile(`struct\s+(\w+)\s*\{([^{}]*)\};`)
	reDefine   = regexp.MustCompile(`(?m)^#define\s+(\w+)\s+(.*?)\s*$`)
	reAssert   = regexp.MustCompile(`static_assert\(\s*sizeof\((\w+)\)\s*==\s*(\d+)\s*,`)
	reParam    = regexp.MustCompile(`^(?s)(.*?)\s*\[\[\s*(.*?)\s*\]\]$`)
	reWord     = regexp.MustCompile(`\w+`)
)

// stripComments blanks // and /* */ comments, keeping string literals and
// line structure.
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' && s[j] != '\n' {
				j++
			}
			b.WriteString(s[i:min(j+1, len(s))])
			i = j
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			if i < len(s) {
				b.WriteByte('\n')
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				end = len(s) - i - 2
			}
			b.WriteString(strings.Repeat(" ", end+4))
			i += end + 3
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// closing returns the index of the bracket closing the one at open.
func closing(s string, open int) (int, error) {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed %q at offset %d", s[open], open)
}

// splitTop splits at commas outside brackets.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(', '[', '{', '<':
			depth++
		case ')', ']', '}', '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// normType collapses spaces and binds * and & to the type: "device float*".
func normType(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, " *", "*")
	return strings.ReplaceAll(s, " &", "&")
}

func parseParam(s string) (mslParam, error) {
	m := reParam.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return mslParam{}, fmt.Errorf("parameter %q has no [[attribute]]", strings.TrimSpace(s))
	}
	decl := strings.TrimRight(m[1], " \n")
	i := strings.LastIndexFunc(decl, func(r rune) bool { return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') })
	if i < 0 || i == len(decl)-1 {
		return mslParam{}, fmt.Errorf("parameter %q has no name", decl)
	}
	return mslParam{Type: normType(decl[:i+1]), Name: decl[i+1:], Attr: strings.Join(strings.Fields(m[2]), "")}, nil
}

// parseMSL reads the kernel files into kernels, host names, structs,
// defines and block size assertions. Every "kernel" and "host_name" in
// the text must belong to a declaration it understood.
func parseMSL(files []KernelFile) (*mslSource, error) {
	var all strings.Builder
	for _, f := range files {
		all.WriteString(stripComments(f.Source))
		all.WriteByte('\n')
	}
	text := all.String()
	src := &mslSource{kernels: map[string]*mslKernel{}, hosts: map[string][]mslHost{}, structs: map[string][]mslField{},
		defines: map[string]string{}, asserts: map[string]int{}, text: text}

	for _, m := range reKernel.FindAllStringSubmatchIndex(text, -1) {
		k := &mslKernel{Func: text[m[4]:m[5]]}
		if m[2] >= 0 {
			for _, p := range tmplArgs(text[m[2]:m[3]]) {
				tp := reTmpl.FindStringSubmatch(p)
				if tp == nil {
					return nil, fmt.Errorf("kernel %s: template parameter %q is no typename, short or int", k.Func, p)
				}
				k.TmplParams = append(k.TmplParams, tp[1])
			}
		}
		open := m[1] - 1
		end, err := closing(text, open)
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", k.Func, err)
		}
		for _, p := range splitTop(text[open+1 : end]) {
			mp, err := parseParam(p)
			if err != nil {
				return nil, fmt.Errorf("kernel %s: %w", k.Func, err)
			}
			k.Params = append(k.Params, mp)
		}
		if src.kernels[k.Func] != nil {
			return nil, fmt.Errorf("kernel function %s defined twice", k.Func)
		}
		src.kernels[k.Func] = k
		if k.TmplParams == nil {
			src.hosts[k.Func] = append(src.hosts[k.Func], mslHost{Kernel: k})
		}
	}

	type typedef struct {
		fn   string
		args []string
	}
	typedefs := map[string]typedef{}
	for _, m := range reTypedef.FindAllStringSubmatch(text, -1) {
		typedefs[m[3]] = typedef{m[1], tmplArgs(m[2])}
	}
	instances := reInstance.FindAllStringSubmatch(text, -1)
	for _, m := range instances {
		host, typ, fn, args := m[1], m[2], m[3], tmplArgs(m[4])
		k := src.kernels[fn]
		if k == nil || k.TmplParams == nil {
			return nil, fmt.Errorf("host name %s instantiates %s, which is no kernel template", host, fn)
		}
		if len(args) != len(k.TmplParams) {
			return nil, fmt.Errorf("host name %s: %d template arguments for the %d of %s", host, len(args), len(k.TmplParams), fn)
		}
		td, ok := typedefs[typ]
		if !ok || td.fn != fn || len(td.args) != len(args) {
			return nil, fmt.Errorf("host name %s: type %s is not decltype of %s", host, typ, fn)
		}
		// A signature that names a template parameter differs per argument.
		for i, tp := range k.TmplParams {
			for _, p := range k.Params {
				if reWordIn(tp, p.Type) && td.args[i] != args[i] {
					return nil, fmt.Errorf("host name %s: %s<%s> has the type of %s<%s>", host, fn, strings.Join(args, ", "), fn, strings.Join(td.args, ", "))
				}
			}
		}
		src.hosts[host] = append(src.hosts[host], mslHost{Kernel: k, Args: args})
	}
	if n, want := len(regexp.MustCompile(`\bhost_name\b`).FindAllString(text, -1)), len(instances); n != want {
		return nil, fmt.Errorf("%d host_name attributes, %d understood instantiations", n, want)
	}
	kernelWords := len(regexp.MustCompile(`\bkernel\b`).FindAllString(text, -1))
	if want := len(src.kernels) + len(instances); kernelWords != want {
		return nil, fmt.Errorf(`%d "kernel" keywords, %d understood kernels and instantiations`, kernelWords, want)
	}

	for _, m := range reStruct.FindAllStringSubmatch(text, -1) {
		var fields []mslField
		for _, f := range strings.Split(m[2], ";") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			w := strings.Fields(f)
			if len(w) < 2 {
				return nil, fmt.Errorf("struct %s: field %q", m[1], f)
			}
			fields = append(fields, mslField{Type: strings.Join(w[:len(w)-1], " "), Name: w[len(w)-1]})
		}
		src.structs[m[1]] = fields
	}
	for _, m := range reDefine.FindAllStringSubmatch(text, -1) {
		src.defines[m[1]] = m[2]
	}
	for _, m := range reAssert.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[2])
		src.asserts[m[1]] = n
	}
	return src, nil
}

// tmplArgs splits a template's parameter or argument list at its commas.
func tmplArgs(list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		out = append(out, strings.Join(strings.Fields(a), " "))
	}
	return out
}

func reWordIn(word, s string) bool {
	for _, w := range reWord.FindAllString(s, -1) {
		if w == word {
			return true
		}
	}
	return false
}

// snake turns a Go field name into the MSL one: Rows → rows, RowsQ →
// rows_q, KVHeads → kv_heads, FreqScale → freq_scale, Pos0 → pos0, _ → pad.
func snake(name string) string {
	if name == "_" {
		return "pad"
	}
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) &&
			(unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// structErrors compares an MSL struct with a Go parameter struct: same
// fields, same order, int32 as int and float32 as float.
func structErrors(src *mslSource, goType reflect.Type) []string {
	fields, ok := src.structs[goType.Name()]
	if !ok {
		return []string{fmt.Sprintf("no MSL struct %s", goType.Name())}
	}
	var errs []string
	if len(fields) != goType.NumField() {
		errs = append(errs, fmt.Sprintf("struct %s has %d fields, Go has %d", goType.Name(), len(fields), goType.NumField()))
	}
	for i := range min(len(fields), goType.NumField()) {
		gf := goType.Field(i)
		want := mslField{Name: snake(gf.Name)}
		switch gf.Type.Kind() {
		case reflect.Int32:
			want.Type = "int"
		case reflect.Float32:
			want.Type = "float"
		default:
			errs = append(errs, fmt.Sprintf("Go %s.%s is %s, not 4 bytes", goType.Name(), gf.Name, gf.Type))
		}
		if fields[i] != want {
			errs = append(errs, fmt.Sprintf("struct %s field %d is %s %s, want %s %s", goType.Name(), i, fields[i].Type, fields[i].Name, want.Type, want.Name))
		}
	}
	return errs
}

var weightRoles = map[string]bool{"weight": true, "wq": true, "wk": true, "wv": true, "w_gate": true, "w_up": true, "table": true}

// roleType is the MSL type a role's buffer must have; a cache's is the
// kernel's first template parameter.
func roleType(c plan.Contract, role plan.Role, tmpl []string) string {
	base, _, _ := strings.Cut(c.Family, "@")
	access := "device const "
	if role.Write {
		access = "device "
	}
	switch {
	case role.Name == "step":
		return "device const StepParams*"
	case role.Name == "tokens":
		return "device const int*"
	case weightRoles[role.Name] && (base == "embed" || base == "matvec" || base == "mtmatvec" || base == "matmul"):
		return "device const uchar*"
	case role.Name == "k_cache" || role.Name == "v_cache":
		return access + strings.Join(tmpl[:min(len(tmpl), 1)], "") + "*"
	}
	return access + "float*"
}

// contractHosts are the host names of a contract's pipelines, each with
// the template arguments its kernel must be instantiated with: the
// weight's block decoder or the cache element type, and for a multi-token
// mat-vec or attention decode a host per token count N, instantiated with
// N too.
func contractHosts(c plan.Contract) map[string][]string {
	base, _, _ := strings.Cut(c.Family, "@")
	switch base {
	case "mtmatvec":
		out := map[string][]string{}
		for n := int32(1); n <= mtmatvecMaxN; n++ {
			out[tokensKey(c.Name, n)] = []string{"Dec" + c.Weight.String(), strconv.Itoa(int(n))}
		}
		return out
	case "embed", "matvec", "matmul":
		return map[string][]string{c.Name: {"Dec" + c.Weight.String()}}
	case "attn_decode":
		out := map[string][]string{}
		for n := int32(1); n <= attnDecodeMaxN; n++ {
			out[tokensKey(c.Name, n)] = []string{map[quant.Type]string{quant.F32: "float", quant.F16: "half"}[c.Cache], strconv.Itoa(int(n))}
		}
		return out
	case "kv_write", "rope_kv_write", "attn_prefill":
		return map[string][]string{c.Name: {map[quant.Type]string{quant.F32: "float", quant.F16: "half"}[c.Cache]}}
	}
	return map[string][]string{c.Name: nil}
}

// builtinAttrs are the thread-position attributes kernels may take, with
// the one type each is declared with everywhere (MSL wants related
// attributes to agree in width).
var builtinAttrs = map[string]string{
	"threadgroup_position_in_grid":   "uint3",
	"thread_index_in_threadgroup":    "ushort",
	"threads_per_threadgroup":        "ushort3",
	"simdgroup_index_in_threadgroup": "ushort",
	"thread_index_in_simdgroup":      "ushort",
}

// contractErrors checks every contract against the parsed source.
func contractErrors(t *testing.T, src *mslSource) []string {
	var errs []string
	bad := func(c plan.Contract, format string, args ...any) {
		errs = append(errs, c.Name+": "+fmt.Sprintf(format, args...))
	}
	known := map[string]bool{}
	for _, c := range plan.Contracts() {
		var k *mslKernel
		hosts := contractHosts(c)
		for _, host := range slices.Sorted(maps.Keys(hosts)) {
			known[host] = true
			hs := src.hosts[host]
			if len(hs) != 1 {
				bad(c, "%d kernels with the host name %s, want 1", len(hs), host)
				continue
			}
			if k == nil {
				k = hs[0].Kernel
			} else if hs[0].Kernel != k {
				bad(c, "host %s is function %s, another host of the contract %s", host, hs[0].Kernel.Func, k.Func)
			}
			if got, want := strings.Join(hs[0].Args, ", "), strings.Join(hosts[host], ", "); got != want {
				bad(c, "host %s is instantiated with <%s>, want <%s>", host, got, want)
			}
		}
		if k == nil {
			continue
		}
		if want := strings.ReplaceAll(c.Family, "@", "_"); k.Func != want {
			bad(c, "implemented by function %s, want %s", k.Func, want)
		}
		buffers := map[int]mslParam{}
		tgMemory := false
		for _, p := range k.Params {
			var idx int
			switch {
			case regexp.MustCompile(`^buffer\(\d+\)$`).MatchString(p.Attr):
				idx, _ = strconv.Atoi(p.Attr[len("buffer(") : len(p.Attr)-1])
				if _, dup := buffers[idx]; dup {
					bad(c, "buffer(%d) bound twice", idx)
				}
				buffers[idx] = p
			case p.Attr == "threadgroup(0)":
				tgMemory = true
				if p.Type != "threadgroup float*" && p.Type != "threadgroup uchar*" {
					bad(c, "threadgroup memory %s has type %s", p.Name, p.Type)
				}
			default:
				typ, ok := builtinAttrs[p.Attr]
				if !ok {
					bad(c, "parameter %s has attribute [[%s]]", p.Name, p.Attr)
				} else if p.Type != typ {
					bad(c, "[[%s]] %s is %s, want %s", p.Attr, p.Name, p.Type, typ)
				}
			}
		}
		want := len(c.Roles) + 1
		if split := SplitOf(dispatchOf(t, c, 1)); split != nil {
			want++
			known[split.Kernel] = true
			if p := buffers[want-1]; p.Name != "scratch" || p.Type != "device float*" {
				bad(c, "buffer(%d) is %s %s, want the scratch buffer, device float* scratch", want-1, p.Type, p.Name)
			}
		}
		if len(buffers) != want {
			bad(c, "%d buffer parameters, want %d roles + params (+ scratch)", len(buffers), len(c.Roles))
		}
		for i, role := range c.Roles {
			p, ok := buffers[i]
			if !ok {
				bad(c, "no [[buffer(%d)]] for role %s", i, role.Name)
				continue
			}
			if p.Name != role.Name {
				bad(c, "buffer(%d) is %s, the role is %s", i, p.Name, role.Name)
			}
			if role.Write && (!strings.HasPrefix(p.Type, "device ") || strings.Contains(p.Type, "const")) {
				bad(c, "write role %s is %s, want device non-const", role.Name, p.Type)
			}
			if !role.Write && !strings.Contains(p.Type, "const") {
				bad(c, "read role %s is %s, want const", role.Name, p.Type)
			}
			if want := roleType(c, role, k.TmplParams); p.Type != want {
				bad(c, "role %s is %s, want %s", role.Name, p.Type, want)
			}
		}
		goParams := reflect.TypeOf(c.Params)
		if p, ok := buffers[len(c.Roles)]; !ok {
			bad(c, "no parameter struct at buffer(%d)", len(c.Roles))
		} else if want := "constant " + goParams.Name() + "&"; p.Type != want {
			bad(c, "buffer(%d) is %s, want %s", len(c.Roles), p.Type, want)
		}
		l, err := Geometry(dispatchOf(t, c, 1))
		if err != nil {
			bad(c, "geometry: %v", err)
		} else if tgMemory != (l.ThreadgroupMemory > 0) {
			bad(c, "kernel takes threadgroup memory: %v; geometry gives %d bytes", tgMemory, l.ThreadgroupMemory)
		}
	}
	for host := range src.hosts {
		if !known[host] {
			errs = append(errs, fmt.Sprintf("kernel %s implements no contract", host))
		}
	}
	seen := map[reflect.Type]bool{reflect.TypeOf(plan.StepParams{}): true}
	for _, c := range plan.Contracts() {
		seen[reflect.TypeOf(c.Params)] = true
	}
	for typ := range seen {
		errs = append(errs, structErrors(src, typ)...)
	}
	return errs
}

func kernelSource(t *testing.T) *mslSource {
	t.Helper()
	files, err := KernelFiles()
	require.NoError(t, err)
	src, err := parseMSL(files)
	require.NoError(t, err)
	return src
}

func TestMSLImplementsEveryContract(t *testing.T) {
	src := kernelSource(t)
	assert.Empty(t, contractErrors(t, src))
	want := 1 // attention decode's reduction
	for _, c := range plan.Contracts() {
		want += len(contractHosts(c))
	}
	assert.Len(t, src.hosts, want, "a kernel per contract, per N for the multi-token mat-vecs, and attention decode's reduction")
	assert.Greater(t, want, len(plan.Contracts())+1)
}

// The checker itself catches the mistakes it exists for.
func TestMSLContractCheckerCatches(t *testing.T) {
	files, err := KernelFiles()
	require.NoError(t, err)
	cases := []struct {
		file, old, new, want string
	}{
		{"matvec.metal", "device float *y [[buffer(2)]]", "device const float *y [[buffer(2)]]", "matvec_q4_0: write role y is device const float*"},
		{"matvec.metal", "device const float *x [[buffer(1)]],\n        device float *y [[buffer(2)]]", "device float *x [[buffer(1)]],\n        device float *y [[buffer(2)]]", "matvec_f16: read role x is device float*, want const"},
		{"matmul.metal", "constant MatParams &p [[buffer(3)]]", "constant MatParams &p [[buffer(4)]]", "matmul_q6_k: no parameter struct at buffer(3)"},
		{"kv.metal", "kernel kv_write_f16_t kv_write<half>;", "kernel kv_write_f32_t kv_write<float>;", "kv_write_f16: host kv_write_f16 is instantiated with <float>, want <half>"},
		{"matvec.metal", `"matvec_q8_0"`, `"matvec_q8_O"`, "matvec_q8_0: 0 kernels with the host name matvec_q8_0, want 1"},
		{"mtmatvec.metal", "mtmatvec<DecQ4_0, 5>;", "mtmatvec<DecQ4_0, 4>;", "mtmatvec_q4_0: host mtmatvec_q4_0_n5 is instantiated with <DecQ4_0, 4>, want <DecQ4_0, 5>"},
		{"mtmatvec.metal", `"mtmatvec_q6_k_acc_n7"`, `"mtmatvec_q6_k_acc_n9"`, "mtmatvec_q6_k_acc: 0 kernels with the host name mtmatvec_q6_k_acc_n7, want 1"},
		{"mtmatvec.metal", "kernel mtmatvec_t mtmatvec<DecQ8_0, 3>;", "kernel mtmatvec_acc_t mtmatvec_acc<DecQ8_0, 3>;", "mtmatvec_q8_0: host mtmatvec_q8_0_n3 is function mtmatvec_acc, another host of the contract mtmatvec"},
		{"common.metal", "    int rows_kv;\n    int cols;", "    int cols;\n    int rows_kv;", "struct QKVParams field 1 is int cols, want int rows_kv"},
		{"common.metal", "    float freq_scale;\n};\n\nstruct KVParams", "    float freq_scale;\n    int extra;\n};\n\nstruct KVParams", "struct RopeParams has 7 fields, Go has 6"},
		{"norm_rope.metal", "        threadgroup float *partial [[threadgroup(0)]],\n", "", "rmsnorm: kernel takes threadgroup memory: false; geometry gives 128 bytes"},
		{"elementwise.metal", "embed<DecQ4_K>;", "embed<DecQ5_K>;", "embed_q4_k: host embed_q4_k is instantiated with <DecQ5_K>, want <DecQ4_K>"},
		{"elementwise.metal", "uint3 tgpig [[threadgroup_position_in_grid]],\n        ushort tiitg [[thread_index_in_threadgroup]]) {\n    const int i", "uint3 tgpig [[threadgroup_position_in_grid]],\n        uint tiitg [[thread_index_in_threadgroup]]) {\n    const int i", "swiglu: [[thread_index_in_threadgroup]] tiitg is uint, want ushort"},
		{"attention.metal", "device const C *k_cache [[buffer(2)]]", "device const float *k_cache [[buffer(2)]]", "attn_decode_f16: role k_cache is device const float*, want device const C*"},
	}
	for _, tc := range cases {
		mutated := make([]KernelFile, len(files))
		copy(mutated, files)
		found := false
		for i, f := range mutated {
			if f.Name == tc.file {
				require.Contains(t, f.Source, tc.old, tc.want)
				mutated[i].Source = strings.Replace(f.Source, tc.old, tc.new, 1)
				found = true
			}
		}
		require.True(t, found, tc.file)
		src, err := parseMSL(mutated)
		require.NoError(t, err, tc.want)
		errs := strings.Join(contractErrors(t, src), "\n")
		assert.Contains(t, errs, tc.want)
	}
	// A half-kernel signature named by a float typedef does not parse.
	for i, f := range files {
		if f.Name == "attention.metal" {
			bad := append([]KernelFile(nil), files...)
			bad[i].Source = strings.Replace(f.Source, "kernel attn_decode_f16_t attn_decode<half, 1>", "kernel attn_decode_f32_t attn_decode<half, 1>", 1)
			_, err := parseMSL(bad)
			require.ErrorContains(t, err, "attn_decode<half, 1> has the type of attn_decode<float, 1>")
		}
	}
}

func TestMSLSnakeNames(t *testing.T) {
	for in, want := range map[string]string{"Rows": "rows", "RowsQ": "rows_q", "RowsKV": "rows_kv", "KVHeads": "kv_heads",
		"HeadDim": "head_dim", "FreqScale": "freq_scale", "Pos0": "pos0", "KVLen": "kv_len", "_": "pad"} {
		assert.Equal(t, want, snake(in), in)
	}
}

// The constants the kernels are written around are the ones geometry.go
// launches with.
func TestMSLConstantsMatchGeometry(t *testing.T) {
	src := kernelSource(t)
	want := map[string]int{
		"MV_SIMDGROUPS":          matvecThreads / 32,
		"MV_MEMORY":              maxThreadgroupMemory,
		"MT_MAX_N":               mtmatvecMaxN,
		"MM_ROWS":                matmulRows,
		"MM_TOKENS":              matmulTokens,
		"MM_K":                   matmulK,
		"MM_THREADS":             matmulThreads,
		"ATTN_MAX_DIM_PER_LANE":  attnMaxHeadDim / 32,
		"ATTN_DECODE_SIMDGROUPS": attnDecodeSimdgroups,
		"ATTN_GROUP":             attnGroup,
		"ATTN_DECODE_MAX_N":      attnDecodeMaxN,
		"ATTN_DECODE_STAGE":      attnDecodeStage,
		"ATTN_CHUNK":             attnChunk,
		"ATTN_MAX_CHUNKS":        attnMaxChunks,
		"ATTN_LANE_DIMS":         attnMaxHeadDim / 32,
		"ELT_THREADS":            eltThreads,
	}
	for name, v := range want {
		assert.Equal(t, strconv.Itoa(v), src.defines[name], name)
	}
	prefill := map[string]int{
		"ATTN_PREFILL_SIMDGROUPS": attnPrefillSimdgroups,
		"ATTN_PREFILL_ROWS":       attnPrefillRows,
		"ATTN_PREFILL_BLOCK":      attnPrefillBlock,
		"ATTN_PREFILL_TILE":       attnPrefillTile,
		"ATTN_PREFILL_SLICES":     attnMaxHeadDim / 8,
	}
	for name, v := range prefill {
		assert.Equal(t, strconv.Itoa(v), src.defines[name], name)
	}
	assert.Equal(t, attnPrefillRows, 8*attnPrefillSimdgroups, "each prefill simdgroup owns 8 query rows")
	assert.Equal(t, matmulThreads, 4*32, "the tiled kernel's 4 simdgroups each own 32 rows × 16 tokens")
}

// Block structs have ggml's sizes, and decoders step rows by them; each
// decoder's mat-vec tile is the one geometry.go reserves memory for.
func TestMSLBlockLayouts(t *testing.T) {
	src := kernelSource(t)
	for _, w := range plan.WeightTypes {
		decoder := regexp.MustCompile(`struct Dec` + w.String() + `\b[^{]*\{[^}]*enum \{ mv_cols = (\d+), mv_rows = (\d+),`).FindStringSubmatch(src.text)
		if assert.NotNil(t, decoder, "decoder of %s declares no mv_cols and mv_rows", w) {
			d := matvecDecoders[w]
			assert.Equal(t, []string{strconv.Itoa(d.cols), strconv.Itoa(d.rows)}, decoder[1:], "mv_cols and mv_rows of %s", w)
		}
		if w.BlockSize() == 1 {
			continue
		}
		block := "block_" + strings.ToLower(w.String())
		assert.Equal(t, w.BlockBytes(), src.asserts[block], block)
		rowBytes := fmt.Sprintf("ulong(cols / %d) * sizeof(%s)", w.BlockSize(), block)
		assert.Contains(t, src.text, rowBytes, "decoder of %s", w)
	}
}

// Cheap lint of every kernel file: brackets balance outside comments and
// strings, no tabs, no carriage returns, no trailing spaces, one final
// newline; only common.metal includes the standard library.
func TestMSLFilesLint(t *testing.T) {
	files, err := KernelFiles()
	require.NoError(t, err)
	require.Greater(t, len(files), 1)
	for _, f := range files {
		assert.NotContains(t, f.Source, "\t", f.Name)
		assert.NotContains(t, f.Source, "\r", f.Name)
		assert.True(t, strings.HasSuffix(f.Source, "\n") && !strings.HasSuffix(f.Source, "\n\n"), "%s: one final newline", f.Name)
		for i, line := range strings.Split(f.Source, "\n") {
			assert.Equal(t, strings.TrimRight(line, " "), line, "%s:%d: trailing space", f.Name, i+1)
		}
		code := stripComments(f.Source)
		var stack []rune
		pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
		for _, r := range regexp.MustCompile(`"[^"\n]*"`).ReplaceAllString(code, `""`) {
			switch r {
			case '(', '[', '{':
				stack = append(stack, r)
			case ')', ']', '}':
				if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
					t.Errorf("%s: unbalanced %q", f.Name, r)
					stack = nil
					continue
				}
				stack = stack[:len(stack)-1]
			}
		}
		assert.Empty(t, stack, "%s: unclosed brackets", f.Name)
		assert.Equal(t, f.Name == commonFile, strings.Contains(code, "#include <metal_stdlib>"), f.Name)
	}
	lib, err := LibrarySource()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(lib, "#line 1 \"common.metal\"\n"))
	for _, f := range files {
		assert.Contains(t, lib, "#line 1 \""+f.Name+"\"\n"+f.Source)
	}
}
