package format

import "encoding/binary"

// Hot is one of the three records a converter writes by the million:
// PollStart, PollEnd or WakeEvent, with the fields those records have (the
// Record it stands for has every other field zero). It is 20 bytes, passed
// in registers: building a whole Record (88 bytes, two of its fields
// pointers) for each, and encoding it through AppendRecord's switch, cost
// a converter more than the rest of its work on the event.
type Hot struct {
	Code     Code
	Worker   uint8  // worker (PollStart, PollEnd) or target_worker (WakeEvent)
	LocalQ   uint8  // local_q (PollStart)
	SpawnLoc uint16 // spawn_loc_id (PollStart)
	TS       uint32
	Task     uint32 // task_id, or woken_task_id (WakeEvent)
	Waker    uint32 // waker_task_id (WakeEvent)
}

// Record returns the record h stands for.
func (h Hot) Record() Record {
	return Record{Code: h.Code, TS: h.TS, Worker: h.Worker, LocalQ: h.LocalQ, Task: h.Task, Waker: h.Waker, SpawnLoc: h.SpawnLoc}
}

// HotWriter is a RecordWriter with a fast lane for Hot records: WriteHot(h)
// writes what WriteRecord(&r) writes for the Record r that h stands for.
// (A Hot of another code is written as its Record.)
type HotWriter interface {
	RecordWriter
	WriteHot(h Hot) error
}

// maxHotSize is the size of the largest Hot record (WakeEvent).
const maxHotSize = 14

// WriteHot writes h as WriteRecord writes h.Record(): one Write, straight
// from the bufio.Writer's free space when w writes to one.
func (w *Writer) WriteHot(h Hot) error {
	var b []byte
	if w.err == nil && !w.closed && w.bw != nil {
		b = w.bw.AvailableBuffer()
	}
	if cap(b) < maxHotSize || !h.Code.hot() {
		r := h.Record()
		return w.WriteRecord(&r) // (and its errors)
	}
	b = b[:maxHotSize]
	le := binary.LittleEndian
	b[0] = byte(h.Code)
	le.PutUint32(b[1:5], h.TS)
	n := 6
	switch h.Code {
	case CodePollStart:
		b[5], b[6] = h.Worker, h.LocalQ
		le.PutUint32(b[7:11], h.Task)
		le.PutUint16(b[11:13], h.SpawnLoc)
		n = 13
	case CodePollEnd:
		b[5] = h.Worker
	case CodeWakeEvent:
		le.PutUint32(b[5:9], h.Waker)
		le.PutUint32(b[9:13], h.Task)
		b[13] = h.Worker
		n = 14
	}
	// (bufio.Writer.Write, called directly: flush's extra branches cost a
	// tenth of the record's time.)
	m, err := w.bw.Write(b[:n])
	w.n += int64(m)
	w.err = err
	return err
}

// hot reports whether c is a code a Hot can stand for.
func (c Code) hot() bool {
	return c == CodePollStart || c == CodePollEnd || c == CodeWakeEvent
}
