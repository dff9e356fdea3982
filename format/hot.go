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

// HotOf returns w as a HotWriter: w itself if it is one, or else one that
// writes each Hot to w as its Record (a Record of the adapter's, reused
// for each: w must not keep it past the call).
func HotOf(w RecordWriter) HotWriter {
	if hw, ok := w.(HotWriter); ok {
		return hw
	}
	return &recordHot{RecordWriter: w}
}

// recordHot is HotOf's adapter. (Its Record is reused: one built for
// each call would escape to the heap, an allocation a record.)
type recordHot struct {
	RecordWriter
	rec Record
}

func (r *recordHot) WriteHot(h Hot) error {
	r.rec = h.Record()
	return r.WriteRecord(&r.rec)
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
	// (bufio.Writer.Write, called directly: flush's extra branches cost a
	// tenth of the record's time.)
	m, err := w.bw.Write(b[:putHot(b[:maxHotSize], h)])
	w.n += int64(m)
	w.err = err
	return err
}

// WriteHots writes hs as WriteHot writes each, but as many whole records
// at a time as the bufio.Writer's free space holds, in one Write (a
// process killed mid-write still leaves at most one partial record): a
// Write and a call for each record were most of a converter's cost of
// writing them. It returns the number of records written; with an error,
// hs[n] is the record that failed.
func (w *Writer) WriteHots(hs []Hot) (n int, err error) {
	for n < len(hs) {
		var b []byte
		if w.err == nil && !w.closed && w.bw != nil {
			b = w.bw.AvailableBuffer()
		}
		run := 0
		le := binary.LittleEndian
	fill:
		for _, h := range hs[n:] {
			// (putHot, by hand: as a call, it cost more than the
			// batching saved.)
			k := len(b)
			if cap(b)-k < maxHotSize {
				break
			}
			c := b[k : k+maxHotSize]
			c[0] = byte(h.Code)
			le.PutUint32(c[1:5], h.TS)
			switch h.Code {
			case CodePollStart:
				c[5], c[6] = h.Worker, h.LocalQ
				le.PutUint32(c[7:11], h.Task)
				le.PutUint16(c[11:13], h.SpawnLoc)
				b = b[:k+13]
			case CodeWakeEvent:
				le.PutUint32(c[5:9], h.Waker)
				le.PutUint32(c[9:13], h.Task)
				c[13] = h.Worker
				b = b[:k+14]
			case CodePollEnd:
				c[5] = h.Worker
				b = b[:k+6]
			default:
				break fill // (a code WriteHot passes on)
			}
			run++
		}
		if run == 0 {
			// No room, or a code WriteHot passes on: as WriteHot does.
			if err := w.WriteHot(hs[n]); err != nil {
				return n, err
			}
			n++
			continue
		}
		m, err := w.bw.Write(b)
		w.n += int64(m)
		if err != nil {
			w.err = err
			return n, err
		}
		n += run
	}
	return n, nil
}

// putHot encodes h, a PollStart, PollEnd or WakeEvent, into c (of
// maxHotSize bytes) and returns its length.
func putHot(c []byte, h Hot) int {
	c = c[:maxHotSize]
	le := binary.LittleEndian
	c[0] = byte(h.Code)
	le.PutUint32(c[1:5], h.TS)
	switch h.Code {
	case CodePollStart:
		c[5], c[6] = h.Worker, h.LocalQ
		le.PutUint32(c[7:11], h.Task)
		le.PutUint16(c[11:13], h.SpawnLoc)
		return 13
	case CodeWakeEvent:
		le.PutUint32(c[5:9], h.Waker)
		le.PutUint32(c[9:13], h.Task)
		c[13] = h.Worker
		return 14
	}
	c[5] = h.Worker // PollEnd
	return 6
}

// hot reports whether c is a code a Hot can stand for.
func (c Code) hot() bool {
	return c == CodePollStart || c == CodePollEnd || c == CodeWakeEvent
}
