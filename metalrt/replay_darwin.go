//go:build darwin

package metalrt

/*
#cgo LDFLAGS: -lobjc
#cgo noescape mg_encode
#cgo nocallback mg_encode
#cgo noescape mg_wait
#cgo nocallback mg_wait
#cgo nocallback mg_zero
#include <stdint.h>

// The Objective-C runtime's entry points are declared here rather than
// included from <objc/message.h>, so that the preamble needs no Apple
// header and darwincheck compiles it on Linux. objc_msgSend is declared as
// Apple's header does without the old dispatch prototypes, and is called
// through a cast to each message's exact type, as arm64 requires.
typedef struct objc_object *id;
typedef struct objc_selector *SEL;
extern void objc_msgSend(void);
extern void *objc_autoreleasePoolPush(void);
extern void objc_autoreleasePoolPop(void *pool);

typedef unsigned long mg_uint; // NSUInteger
typedef struct { mg_uint width, height, depth; } mg_size; // MTLSize
typedef struct { mg_uint location, length; } mg_range;   // NSRange

// mg_entry is metalrt.FlatEntry; the Go side asserts the layouts agree.
typedef struct {
	uint32_t op, index, object, length;
	uint64_t offset;
	uint32_t groups[3], threads[3];
} mg_entry;

enum { MG_PIPELINE = 1, MG_BUFFER, MG_BYTES, MG_THREADGROUP_MEMORY, MG_BARRIER, MG_DISPATCH };

enum {
	MG_SEL_COMMAND_BUFFER, MG_SEL_COMPUTE_ENCODER, MG_SEL_SET_PIPELINE, MG_SEL_SET_BUFFER,
	MG_SEL_SET_BYTES, MG_SEL_SET_THREADGROUP_MEMORY, MG_SEL_BARRIER, MG_SEL_DISPATCH,
	MG_SEL_END_ENCODING, MG_SEL_COMMIT, MG_SEL_WAIT, MG_SEL_STATUS, MG_SEL_BLIT_ENCODER, MG_SEL_FILL,
	MG_SEL_COUNT
};

enum { MG_OK, MG_NO_COMMAND_BUFFER, MG_NO_ENCODER, MG_FAILED };

enum {
	MG_DISPATCH_CONCURRENT = 1, // MTLDispatchTypeConcurrent
	MG_BARRIER_BUFFERS = 1,     // MTLBarrierScopeBuffers
	MG_STATUS_ERROR = 5         // MTLCommandBufferStatusError
};

// Set once by registerReplaySelectors, before any program exists.
static SEL mg_sel[MG_SEL_COUNT];

static void mg_set_selector(int i, void *sel) { mg_sel[i] = (SEL)sel; }

static id mg_send(id o, int s) { return ((id (*)(id, SEL))objc_msgSend)(o, mg_sel[s]); }

static void *mg_pool_push(void) { return objc_autoreleasePoolPush(); }

static void mg_pool_pop(void *pool) { objc_autoreleasePoolPop(pool); }

// mg_encode makes a command buffer of queue (autoreleased: the caller
// holds a pool until it is waited for) and its concurrent compute
// encoder, sends the n entries, ends the encoder and commits the buffer,
// which it stores in *cb. A nil command buffer or encoder is reported, not
// messaged.
static int mg_encode(void *queue, const mg_entry *e, int n, void *const *pipelines, void *const *buffers,
                     const uint8_t *params, void **cb) {
	id buf = mg_send((id)queue, MG_SEL_COMMAND_BUFFER);
	if (buf == 0) {
		return MG_NO_COMMAND_BUFFER;
	}
	id enc = ((id (*)(id, SEL, mg_uint))objc_msgSend)(buf, mg_sel[MG_SEL_COMPUTE_ENCODER], MG_DISPATCH_CONCURRENT);
	if (enc == 0) {
		return MG_NO_ENCODER;
	}
	for (const mg_entry *end = e + n; e < end; e++) {
		switch (e->op) {
		case MG_PIPELINE:
			((void (*)(id, SEL, id))objc_msgSend)(enc, mg_sel[MG_SEL_SET_PIPELINE], (id)pipelines[e->object]);
			break;
		case MG_BUFFER:
			((void (*)(id, SEL, id, mg_uint, mg_uint))objc_msgSend)(enc, mg_sel[MG_SEL_SET_BUFFER],
				(id)buffers[e->object], e->offset, e->index);
			break;
		case MG_BYTES:
			((void (*)(id, SEL, const void *, mg_uint, mg_uint))objc_msgSend)(enc, mg_sel[MG_SEL_SET_BYTES],
				params + e->offset, e->length, e->index);
			break;
		case MG_THREADGROUP_MEMORY:
			((void (*)(id, SEL, mg_uint, mg_uint))objc_msgSend)(enc, mg_sel[MG_SEL_SET_THREADGROUP_MEMORY], e->length, e->index);
			break;
		case MG_BARRIER:
			((void (*)(id, SEL, mg_uint))objc_msgSend)(enc, mg_sel[MG_SEL_BARRIER], MG_BARRIER_BUFFERS);
			break;
		case MG_DISPATCH: {
			mg_size g = {e->groups[0], e->groups[1], e->groups[2]};
			mg_size t = {e->threads[0], e->threads[1], e->threads[2]};
			((void (*)(id, SEL, mg_size, mg_size))objc_msgSend)(enc, mg_sel[MG_SEL_DISPATCH], g, t);
			break;
		}
		}
	}
	mg_send(enc, MG_SEL_END_ENCODING);
	mg_send(buf, MG_SEL_COMMIT);
	*cb = buf;
	return MG_OK;
}

// mg_zero fills the first length bytes of buf with zeros on the GPU and
// waits for it, in a pool of its own.
static int mg_zero(void *queue, void *buf, mg_uint length) {
	void *pool = objc_autoreleasePoolPush();
	int rc = MG_OK;
	id cb = mg_send((id)queue, MG_SEL_COMMAND_BUFFER);
	id blit = cb ? mg_send(cb, MG_SEL_BLIT_ENCODER) : 0;
	if (cb == 0) {
		rc = MG_NO_COMMAND_BUFFER;
	} else if (blit == 0) {
		rc = MG_NO_ENCODER;
	} else {
		mg_range all = {0, length};
		((void (*)(id, SEL, id, mg_range, uint8_t))objc_msgSend)(blit, mg_sel[MG_SEL_FILL], (id)buf, all, 0);
		mg_send(blit, MG_SEL_END_ENCODING);
		mg_send(cb, MG_SEL_COMMIT);
		mg_send(cb, MG_SEL_WAIT);
		if (((long (*)(id, SEL))objc_msgSend)(cb, mg_sel[MG_SEL_STATUS]) == MG_STATUS_ERROR) {
			rc = MG_FAILED;
		}
	}
	objc_autoreleasePoolPop(pool);
	return rc;
}

// mg_wait waits for the n command buffers and returns the index of the
// first that failed, or -1.
static int mg_wait(void *const *cbs, int n) {
	int failed = -1;
	for (int i = 0; i < n; i++) {
		mg_send((id)cbs[i], MG_SEL_WAIT);
		long status = ((long (*)(id, SEL))objc_msgSend)((id)cbs[i], mg_sel[MG_SEL_STATUS]);
		if (failed < 0 && status == MG_STATUS_ERROR) {
			failed = i;
		}
	}
	return failed;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/progrium/darwinkit/macos/metal"
	"github.com/progrium/darwinkit/objc"
)

// The C replay reads FlatEntry values as mg_entry and their ops as its
// own: a mismatch is an out-of-range index here, a compile error.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(FlatEntry{})-unsafe.Sizeof(C.mg_entry{})]
	_ = [1]struct{}{}[unsafe.Offsetof(FlatEntry{}.Index)-unsafe.Offsetof(C.mg_entry{}.index)]
	_ = [1]struct{}{}[unsafe.Offsetof(FlatEntry{}.Object)-unsafe.Offsetof(C.mg_entry{}.object)]
	_ = [1]struct{}{}[unsafe.Offsetof(FlatEntry{}.Length)-unsafe.Offsetof(C.mg_entry{}.length)]
	_ = [1]struct{}{}[unsafe.Offsetof(FlatEntry{}.Offset)-unsafe.Offsetof(C.mg_entry{}.offset)]
	_ = [1]struct{}{}[unsafe.Offsetof(FlatEntry{}.Groups)-unsafe.Offsetof(C.mg_entry{}.groups)]
	_ = [1]struct{}{}[unsafe.Offsetof(FlatEntry{}.Threads)-unsafe.Offsetof(C.mg_entry{}.threads)]
	_ = [1]struct{}{}[FlatPipeline-C.MG_PIPELINE]
	_ = [1]struct{}{}[FlatBuffer-C.MG_BUFFER]
	_ = [1]struct{}{}[FlatBytes-C.MG_BYTES]
	_ = [1]struct{}{}[FlatThreadgroupMemory-C.MG_THREADGROUP_MEMORY]
	_ = [1]struct{}{}[FlatBarrier-C.MG_BARRIER]
	_ = [1]struct{}{}[FlatDispatch-C.MG_DISPATCH]
	_ = [1]struct{}{}[metal.DispatchTypeConcurrent-C.MG_DISPATCH_CONCURRENT]
	_ = [1]struct{}{}[metal.BarrierScopeBuffers-C.MG_BARRIER_BUFFERS]
	_ = [1]struct{}{}[metal.CommandBufferStatusError-C.MG_STATUS_ERROR]
)

// replaySelectorTable is the C replay's selector table, by its index.
var replaySelectorTable = [C.MG_SEL_COUNT]string{
	C.MG_SEL_COMMAND_BUFFER:         selCommandBuffer,
	C.MG_SEL_COMPUTE_ENCODER:        selComputeEncoder,
	C.MG_SEL_SET_PIPELINE:           selSetPipeline,
	C.MG_SEL_SET_BUFFER:             selSetBuffer,
	C.MG_SEL_SET_BYTES:              selSetBytes,
	C.MG_SEL_SET_THREADGROUP_MEMORY: selSetThreadgroupMemory,
	C.MG_SEL_BARRIER:                selBarrier,
	C.MG_SEL_DISPATCH:               selDispatch,
	C.MG_SEL_END_ENCODING:           selEndEncoding,
	C.MG_SEL_COMMIT:                 selCommit,
	C.MG_SEL_WAIT:                   selWait,
	C.MG_SEL_STATUS:                 selStatus,
	C.MG_SEL_BLIT_ENCODER:           selBlitEncoder,
	C.MG_SEL_FILL:                   selFill,
}

var registerOnce sync.Once

// registerReplaySelectors hands the C replay its selectors, once per
// process (they are process-wide), before any program runs; New calls it
// after checking that the objects respond to them.
func registerReplaySelectors() {
	registerOnce.Do(func() {
		for i, name := range replaySelectorTable {
			C.mg_set_selector(C.int(i), objc.Sel(name).Ptr())
		}
	})
}

// replayer is a program's FlatList bound to the runtime's Metal objects:
// the C replay reads its slices in place, so a step allocates nothing.
type replayer struct {
	queue     unsafe.Pointer
	flat      *FlatList
	pipelines []unsafe.Pointer // by FlatList.Pipelines
	buffers   []unsafe.Pointer // by FlatList.Buffers
	committed []unsafe.Pointer // this step's command buffers, one per span
}

func newReplayer(queue metal.CommandQueueObject, f *FlatList, pipeline func(key string) objc.Object, buffer func(BufferRef) objc.Object) *replayer {
	r := &replayer{queue: queue.Ptr(), flat: f,
		pipelines: make([]unsafe.Pointer, len(f.Pipelines)),
		buffers:   make([]unsafe.Pointer, len(f.Buffers)),
		committed: make([]unsafe.Pointer, 0, len(f.Spans))}
	for i, key := range f.Pipelines {
		r.pipelines[i] = pipeline(key).Ptr()
	}
	for i, b := range f.Buffers {
		r.buffers[i] = buffer(b).Ptr()
	}
	return r
}

// run encodes and commits every command buffer, each as soon as it is
// encoded so that the GPU starts on the first while the CPU encodes the
// next, then waits for all of them, so that no work of this step overlaps
// the next.
func (r *replayer) run() error {
	// The command buffers are autoreleased: they live until the pool is
	// popped, on the thread that pushed it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := C.mg_pool_push()
	defer C.mg_pool_pop(pool)

	f := r.flat
	r.committed = r.committed[:0]
	var err error
	for i, s := range f.Spans {
		r.committed = r.committed[:i+1]
		entries := f.Entries[s.Start:s.End]
		switch C.mg_encode(r.queue, (*C.mg_entry)(unsafe.Pointer(unsafe.SliceData(entries))), C.int(len(entries)),
			unsafe.SliceData(r.pipelines), unsafe.SliceData(r.buffers), (*C.uint8_t)(unsafe.SliceData(f.Params)), &r.committed[i]) {
		case C.MG_NO_COMMAND_BUFFER:
			err = fmt.Errorf("the queue made no command buffer (%d of %d)", i+1, len(f.Spans))
		case C.MG_NO_ENCODER:
			err = fmt.Errorf("command buffer %d of %d made no compute encoder", i+1, len(f.Spans))
		}
		if err != nil {
			r.committed = r.committed[:i] // the failed one was not committed
			break
		}
	}
	if len(r.committed) == 0 {
		return err
	}
	if i := int(C.mg_wait(unsafe.SliceData(r.committed), C.int(len(r.committed)))); i >= 0 && err == nil {
		cb := metal.CommandBufferObject{Object: objc.ObjectFrom(r.committed[i])}
		err = fmt.Errorf("command buffer %d of %d failed: %s", i+1, len(f.Spans), errorText(cb.Error().Ptr()))
	}
	return err
}

// zeroOnGPU fills the first n bytes of buf with zeros with a blit, rather
// than the CPU writing every byte of a shared buffer.
func zeroOnGPU(queue metal.CommandQueueObject, buf metal.BufferObject, n int64) error {
	switch C.mg_zero(queue.Ptr(), buf.Ptr(), C.mg_uint(n)) {
	case C.MG_NO_COMMAND_BUFFER:
		return errors.New("the queue made no command buffer")
	case C.MG_NO_ENCODER:
		return errors.New("the command buffer made no blit encoder")
	case C.MG_FAILED:
		return errors.New("the blit failed")
	}
	return nil
}
