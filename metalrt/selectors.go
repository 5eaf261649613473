package metalrt

// Objective-C selectors the darwin glue sends itself with objc.Call, where
// darwinkit v0.5.0's generated wrapper would panic (a protocol-typed
// argument) or mistranslate a nil block. The glue names them only through
// these constants (a test checks its sources), each appears in darwinkit's
// generated code (another test checks the module), and the runtime asks
// the real objects whether they respond before it sends any.
const (
	selNewPipeline = "newComputePipelineStateWithFunction:error:" // on MTLDevice
	selNoCopy      = "newBufferWithBytesNoCopy:length:options:deallocator:"
	selSetPipeline = "setComputePipelineState:" // on MTLComputeCommandEncoder
	selSetBuffer   = "setBuffer:offset:atIndex:"
	selEndEncoding = "endEncoding" // MTLCommandEncoder; darwinkit's compute encoder type lacks the method
)

// Selectors lists every selector the darwin glue sends through objc.Call.
var Selectors = []string{selNewPipeline, selNoCopy, selSetPipeline, selSetBuffer, selEndEncoding}

// deviceSelectors and encoderSelectors are checked with
// respondsToSelector: on the device and on the first compute encoder.
var (
	deviceSelectors  = []string{selNewPipeline, selNoCopy}
	encoderSelectors = []string{selSetPipeline, selSetBuffer, selEndEncoding}
)
