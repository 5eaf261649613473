package passes

// Pipeline is the ordered list of passes. Its order obeys Order, which a
// test checks.
var Pipeline = []Pass{
	DCE,
	FuseQKV,
	FuseGateUp,
	FuseResidual,
	FuseRopeKV,
	SelectVariants,
	PlanMemory,
	Schedule,
}

// Before says pass First must run before pass Then, and why.
type Before struct {
	First, Then string
	Why         string
}

// deadReaders is why dce precedes each fusion.
const deadReaders = "a dead reader of a value counts as one more reader and blocks the fusion"

// finalOps is why each fusion precedes select_variants.
const finalOps = "variants are chosen for the final ops; a fused node made later would keep the unselected variant"

// Order lists the ordering constraints between passes. The four fusions
// have none among themselves: their patterns never share a node in a
// model graph (the Q/K/V products feed ropes and kv_write, never an add or
// a swiglu; rope_kv matches ropes whatever produced q and k), and a test
// checks that every order of them gives the same graph.
var Order = []Before{
	{"dce", "fuse_qkv", deadReaders},
	{"dce", "fuse_gate_up", deadReaders},
	{"dce", "fuse_residual", deadReaders},
	{"dce", "fuse_rope_kv", deadReaders},
	{"fuse_qkv", "select_variants", finalOps},
	{"fuse_gate_up", "select_variants", finalOps},
	{"fuse_residual", "select_variants", finalOps},
	{"fuse_rope_kv", "select_variants", finalOps},
	{"select_variants", "schedule", "schedule names each kernel by its variant (matvec, mtmatvec, matmul; attn_decode, attn_prefill)"},
	{"select_variants", "plan_memory", "memory is planned for the final graph; a later rewrite would leave values without a location"},
	{"plan_memory", "schedule", "schedule binds every value where plan_memory placed it"},
}

// Requirement marks passes that cannot be disabled.
type Requirement struct {
	Pass   string
	Needed bool
	Why    string
}

// Requires lists the passes that every run needs.
var Requires = []Requirement{
	{"plan_memory", true, "schedule needs a location for every value"},
	{"schedule", true, "the pipeline's result is the plan"},
}
