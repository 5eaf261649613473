package metalrt

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// Recorder is an Encoder that writes one line per call, for golden tests
// of what a plan encodes and for reading an encoding without a Mac:
//
//	begin cb=0
//	pipeline matvec_q4_0
//	buffer 0 weights[0]+7405568
//	bytes 3 00001000 00001000 00000001
//	tgmem 0 8192
//	barrier
//	dispatch [512 1 1] x [64 1 1]
//	end
//	commit cb=0
//
// Parameter bytes are printed as little-endian 32-bit words in hex, since
// a parameter struct holds int32 and float32 fields.
type Recorder struct {
	W io.Writer
}

func (r Recorder) line(format string, args ...any) { fmt.Fprintf(r.W, format+"\n", args...) }

func (r Recorder) Begin(cb int)           { r.line("begin cb=%d", cb) }
func (r Recorder) SetPipeline(key string) { r.line("pipeline %s", key) }
func (r Recorder) SetBuffer(buf BufferRef, offset int64, index int) {
	r.line("buffer %d %s+%d", index, buf, offset)
}
func (r Recorder) SetBytes(b []byte, index int) { r.line("bytes %d %s", index, words(b)) }
func (r Recorder) SetThreadgroupMemory(n, index int) {
	r.line("tgmem %d %d", index, n)
}
func (r Recorder) Dispatch(threadgroups, threads [3]int) {
	r.line("dispatch %v x %v", threadgroups, threads)
}
func (r Recorder) Barrier()      { r.line("barrier") }
func (r Recorder) End()          { r.line("end") }
func (r Recorder) Commit(cb int) { r.line("commit cb=%d", cb) }

func words(b []byte) string {
	var s strings.Builder
	for i := 0; i+4 <= len(b); i += 4 {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%08x", binary.LittleEndian.Uint32(b[i:]))
	}
	if len(b)%4 != 0 {
		fmt.Fprintf(&s, " +%x", b[len(b)/4*4:])
	}
	return s.String()
}
