package metalrt

import (
	"fmt"
	"math"
)

// FlatOp is what one FlatEntry does to the current compute encoder.
type FlatOp uint32

// The values are those of the C replay's mg_op (replay_darwin.go).
const (
	FlatPipeline          FlatOp = iota + 1 // setComputePipelineState: Pipelines[Object]
	FlatBuffer                              // setBuffer: Buffers[Object] offset: Offset atIndex: Index
	FlatBytes                               // setBytes: Params[Offset:Offset+Length] atIndex: Index
	FlatThreadgroupMemory                   // setThreadgroupMemoryLength: Length atIndex: Index
	FlatBarrier                             // memoryBarrierWithScope: buffers
	FlatDispatch                            // dispatchThreadgroups: Groups threadsPerThreadgroup: Threads
)

// FlatEntry is one encoder call of a FlatList: plain numbers, laid out
// as the C struct mg_entry that the darwin replay reads in place (the
// darwin build asserts the two layouts agree).
type FlatEntry struct {
	Op      FlatOp
	Index   uint32 // buffer, bytes or threadgroup memory index
	Object  uint32 // into FlatList.Pipelines or FlatList.Buffers
	Length  uint32 // parameter or threadgroup memory bytes
	Offset  uint64 // into the buffer, or into FlatList.Params
	Groups  [3]uint32
	Threads [3]uint32
}

// Span is the entries [Start, End) of one command buffer.
type Span struct{ Start, End int }

// FlatList is a CommandList as the darwin runtime replays it: per command
// buffer a span of entries that one C call turns into objc_msgSend calls,
// between creating the buffer and its encoder and committing it. Pipelines
// and buffers are table indices that the runtime resolves to its Metal
// objects once per program; the parameter structs sit in one byte slice.
// Nothing in it is a Go pointer, so it passes to C as it is, and a step
// allocates nothing to replay it.
type FlatList struct {
	Entries   []FlatEntry
	Spans     []Span      // one per command buffer, in commit order
	Params    []byte      // every setBytes' bytes
	Pipelines []string    // pipeline keys, in first-use order
	Buffers   []BufferRef // buffers, in first-use order
	Scratch   int         // bytes of the scratch buffer (CommandList.ScratchBytes)
}

// Flatten turns the list into a FlatList. It fails only on a number that
// does not fit the entry's 32-bit field.
func (l *CommandList) Flatten() (*FlatList, error) {
	f := &FlatList{Scratch: l.scratch}
	pipelines := map[string]uint32{}
	buffers := map[BufferRef]uint32{}
	start := 0
	for i := range l.cmds {
		c := &l.cmds[i]
		e := FlatEntry{Index: uint32(c.index)}
		switch c.op {
		case opBegin:
			start = len(f.Entries)
			continue
		case opEnd:
			continue
		case opCommit:
			f.Spans = append(f.Spans, Span{start, len(f.Entries)})
			continue
		case opPipeline:
			e.Op, e.Object = FlatPipeline, tableIndex(pipelines, &f.Pipelines, c.key)
		case opBuffer:
			e.Op, e.Object, e.Offset = FlatBuffer, tableIndex(buffers, &f.Buffers, c.buf), uint64(c.offset)
		case opBytes:
			e.Op, e.Offset, e.Length = FlatBytes, uint64(len(f.Params)), uint32(len(c.bytes))
			f.Params = append(f.Params, c.bytes...)
		case opThreadgroupMemory:
			e.Op, e.Index, e.Length = FlatThreadgroupMemory, 0, uint32(c.n)
		case opBarrier:
			e.Op = FlatBarrier
		case opDispatch:
			e.Op = FlatDispatch
			for k := range 3 {
				if !fitsUint32(c.groups[k]) || !fitsUint32(c.threads[k]) {
					return nil, fmt.Errorf("metalrt: dispatch %v x %v does not fit 32-bit sizes", c.groups, c.threads)
				}
				e.Groups[k], e.Threads[k] = uint32(c.groups[k]), uint32(c.threads[k])
			}
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

// tableIndex returns v's index in table, appending it on first use.
func tableIndex[K comparable](index map[K]uint32, table *[]K, v K) uint32 {
	i, ok := index[v]
	if !ok {
		i = uint32(len(*table))
		index[v] = i
		*table = append(*table, v)
	}
	return i
}

func fitsUint32(v int) bool { return v >= 0 && v <= math.MaxUint32 }
