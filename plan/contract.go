package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/metalgraph/metalgraph/quant"
)

// Role is one binding slot of a contract.
type Role struct {
	Name  string
	Write bool
}

// Contract fixes what a kernel name means: its binding slots (index →
// role), its parameter struct and what its grid counts. Every runtime
// implements contracts by name and refuses a plan naming one it lacks.
type Contract struct {
	Name   string
	Family string
	// Weight is the weight type of mat-vec and embed families; Cache the
	// KV cache type of attention families (zero otherwise).
	Weight quant.Type
	Cache  quant.Type
	Roles  []Role
	Params Params // zero value of the parameter struct
	Grid   string // what the grid's dimensions count
}

// WeightTypes are the weight types every mat-vec and embed family covers.
var WeightTypes = []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q4_0, quant.Q8_0, quant.Q4_K, quant.Q5_K, quant.Q6_K}

// CacheTypes are the KV cache types.
var CacheTypes = []quant.Type{quant.F32, quant.F16}

func r(name string) Role { return Role{Name: name} }
func w(name string) Role { return Role{Name: name, Write: true} }

// family describes a group of contracts that differ only by a type.
type family struct {
	name   string
	typed  string // "weight", "cache" or ""
	roles  []Role
	params Params
	grid   string
}

// The mat-vec families exist in three variants: matvec (N = 1 or one
// weight read per token), mtmatvec (each weight row read once for a small
// batch) and matmul (tiled, prefill). Each has plain, _acc (y = r + W·x,
// r and y may alias), _qkv and _gate_up forms. The outputs of add and
// swiglu may alias their first input: plan_memory writes them in place, so
// every runtime's kernels for these must be elementwise-safe.
var families = func() []family {
	fs := []family{
		{"embed", "weight", []Role{r("table"), r("tokens"), w("out")}, EmbedParams{}, "[dim, tokens]"},
		{"rmsnorm", "", []Role{r("x"), r("weight"), w("out")}, NormParams{}, "[tokens]"},
		{"rope", "", []Role{r("step"), r("x"), w("out")}, RopeParams{}, "[heads, tokens]"},
		{"kv_write", "cache", []Role{r("step"), r("k"), r("v"), w("k_cache"), w("v_cache")}, KVParams{}, "[width, tokens]"},
		{"rope_kv_write", "cache", []Role{r("step"), r("q"), r("k"), r("v"), w("q_out"), w("k_cache"), w("v_cache")}, RopeKVParams{}, "[heads, tokens]"},
		{"attn_decode", "cache", []Role{r("step"), r("q"), r("k_cache"), r("v_cache"), w("out")}, AttnParams{}, "[heads, tokens]"},
		{"attn_prefill", "cache", []Role{r("step"), r("q"), r("k_cache"), r("v_cache"), w("out")}, AttnParams{}, "[heads, tokens]"},
		{"swiglu", "", []Role{r("gate"), r("up"), w("out")}, EltParams{}, "[count]"},
		{"add", "", []Role{r("a"), r("b"), w("out")}, EltParams{}, "[count]"},
	}
	for _, v := range []string{"matvec", "mtmatvec", "matmul"} {
		fs = append(fs,
			family{v, "weight", []Role{r("weight"), r("x"), w("y")}, MatParams{}, "[rows, tokens]"},
			family{v + "@acc", "weight", []Role{r("weight"), r("x"), r("residual"), w("y")}, MatParams{}, "[rows, tokens]"},
			family{v + "@qkv", "weight", []Role{r("wq"), r("wk"), r("wv"), r("x"), w("q"), w("k"), w("v")}, QKVParams{}, "[rows_q + 2·rows_kv, tokens]"},
			family{v + "@gate_up", "weight", []Role{r("w_gate"), r("w_up"), r("x"), w("y")}, MatParams{}, "[rows, tokens]"},
		)
	}
	return fs
}()

// typeSuffix is the lower-case type in contract names: q4_0, q6_k, f16.
func typeSuffix(t quant.Type) string { return strings.ToLower(t.String()) }

// Name builds a contract name from a family and a type: family "matvec@acc"
// with Q4_0 is "matvec_q4_0_acc"; "attn_decode" with F16 is
// "attn_decode_f16"; untyped families keep their name.
func Name(fam string, t quant.Type) string {
	base, form, _ := strings.Cut(fam, "@")
	for _, f := range families {
		if f.name == fam && f.typed == "" {
			return base
		}
	}
	name := base + "_" + typeSuffix(t)
	if form != "" {
		name += "_" + form
	}
	return name
}

var contracts = func() map[string]Contract {
	m := map[string]Contract{}
	for _, f := range families {
		switch f.typed {
		case "":
			m[f.name] = Contract{Name: f.name, Family: f.name, Roles: f.roles, Params: f.params, Grid: f.grid}
		case "weight":
			for _, t := range WeightTypes {
				n := Name(f.name, t)
				m[n] = Contract{Name: n, Family: f.name, Weight: t, Roles: f.roles, Params: f.params, Grid: f.grid}
			}
		case "cache":
			for _, t := range CacheTypes {
				n := Name(f.name, t)
				m[n] = Contract{Name: n, Family: f.name, Cache: t, Roles: f.roles, Params: f.params, Grid: f.grid}
			}
		}
	}
	return m
}()

// Lookup returns the contract of a kernel name.
func Lookup(name string) (Contract, error) {
	c, ok := contracts[name]
	if !ok {
		return Contract{}, fmt.Errorf("unknown kernel contract %q", name)
	}
	return c, nil
}

// Contracts lists every contract, sorted by name.
func Contracts() []Contract {
	out := make([]Contract, 0, len(contracts))
	for _, c := range contracts {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
