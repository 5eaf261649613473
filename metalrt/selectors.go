package metalrt

// Objective-C selectors the darwin glue sends itself: with objc.Call,
// where darwinkit v0.5.0's generated wrapper would panic (a
// protocol-typed argument) or mistranslate a nil block, and from the C
// replay of a step (replay_darwin.go), which sends plain objc_msgSend. The
// glue names them only through these constants (a test checks its
// sources), each appears in darwinkit's generated code (another test
// checks the module), and the runtime asks the real objects whether they
// respond before it sends any.
const (
	selNewPipeline = "newComputePipelineStateWithFunction:error:" // on MTLDevice
	selNoCopy      = "newBufferWithBytesNoCopy:length:options:deallocator:"

	selCommandBuffer  = "commandBufferWithUnretainedReferences"  // on MTLCommandQueue
	selComputeEncoder = "computeCommandEncoderWithDispatchType:" // on MTLCommandBuffer
	selCommit         = "commit"
	selWait           = "waitUntilCompleted"
	selStatus         = "status"
	selBlitEncoder    = "blitCommandEncoder"
	selFill           = "fillBuffer:range:value:" // on MTLBlitCommandEncoder

	selSetPipeline          = "setComputePipelineState:" // on MTLComputeCommandEncoder
	selSetBuffer            = "setBuffer:offset:atIndex:"
	selSetBytes             = "setBytes:length:atIndex:"
	selSetThreadgroupMemory = "setThreadgroupMemoryLength:atIndex:"
	selBarrier              = "memoryBarrierWithScope:"
	selDispatch             = "dispatchThreadgroups:threadsPerThreadgroup:"
	selEndEncoding          = "endEncoding" // MTLCommandEncoder; darwinkit's compute encoder type lacks the method
)

// Selectors lists every selector the darwin glue sends itself.
var Selectors = []string{selNewPipeline, selNoCopy, selCommandBuffer, selComputeEncoder, selCommit, selWait, selStatus,
	selBlitEncoder, selFill, selSetPipeline, selSetBuffer, selSetBytes, selSetThreadgroupMemory, selBarrier, selDispatch, selEndEncoding}

// callSelectors are the ones sent through objc.Call, one typed wrapper
// each; replaySelectors are the C replay's.
var (
	callSelectors   = []string{selNewPipeline, selNoCopy, selEndEncoding}
	replaySelectors = []string{selCommandBuffer, selComputeEncoder, selCommit, selWait, selStatus, selBlitEncoder, selFill,
		selSetPipeline, selSetBuffer, selSetBytes, selSetThreadgroupMemory, selBarrier, selDispatch, selEndEncoding}
)

// The selectors checked with respondsToSelector: on the device and on the
// first command queue, command buffer, compute encoder and blit encoder.
var (
	deviceSelectors        = []string{selNewPipeline, selNoCopy}
	queueSelectors         = []string{selCommandBuffer}
	commandBufferSelectors = []string{selComputeEncoder, selBlitEncoder, selCommit, selWait, selStatus}
	encoderSelectors       = []string{selSetPipeline, selSetBuffer, selSetBytes, selSetThreadgroupMemory, selBarrier, selDispatch, selEndEncoding}
	blitSelectors          = []string{selFill, selEndEncoding}
)
