package passes

// Pipeline is the ordered list of passes. Its order obeys Order, which a
// test checks.
var Pipeline = []Pass{
	DCE,
}

// Before says pass First must run before pass Then, and why.
type Before struct {
	First, Then string
	Why         string
}

// Order lists the ordering constraints between passes.
var Order = []Before{}

// Requirement marks passes that cannot be disabled.
type Requirement struct {
	Pass   string
	Needed bool
	Why    string
}

// Requires lists the passes that every run needs.
var Requires = []Requirement{}
