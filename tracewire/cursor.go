package tracewire

import (
	"encoding/binary"
	"fmt"
)

// cursor walks one M's event batches of a generation, in order.
type cursor struct {
	m       ThreadID
	ms      *mState // the M's state in the ordering, once looked up
	batches []batch // the batches after the current one
	data    []byte  // what is left of the current batch
	buf     []byte  // a file decoder's: the batch read last
	off     int64   // input offset of data[0]
	lastTs  Time
	ev      rawEvent // the M's next event
}

// rawEvent is a timed event as read: its type, time and arguments (after
// the timestamp), and where it is in the input.
type rawEvent struct {
	typ   uint8
	time  Time
	args  [maxArgs]uint64
	extra uint64 // state the ordering passes to the transition (the P's or G's previous one)
	off   int64
}

// next reads the M's next event; false when there is none.
func (c *cursor) next(g *generation) (bool, error) {
	if len(c.data) == 0 {
		if err := c.nextBatch(g); err != nil || len(c.data) == 0 {
			return false, err
		}
	}
	data := c.data
	typ := data[0]
	na := hotSpecs[typ].targs
	if na < 0 {
		if int(typ) >= numSpecs {
			return false, &Error{Offset: c.off, Msg: fmt.Sprintf("found invalid event type: %d", typ)}
		}
		return false, &Error{Offset: c.off, Msg: fmt.Sprintf("found event without a timestamp: type=%d", typ)}
	}
	// (A timestamp delta is one or two bytes but for a long silence.)
	var ts uint64
	var n int
	if b1 := data[min(1, len(data)-1)]; len(data) > 1 && b1 < 0x80 {
		ts, n = uint64(b1), 2
	} else if len(data) > 2 && data[2] < 0x80 {
		ts, n = uint64(b1&0x7f)|uint64(data[2])<<7, 3
	} else {
		v, k := binary.Uvarint(data[1:])
		if k <= 0 {
			return false, &Error{Offset: c.off, Msg: "found invalid uvarint for timestamp"}
		}
		ts, n = v, 1+k
	}
	c.ev.typ = typ
	c.ev.off = c.off
	args := c.ev.args[:na]
	for i := range args {
		// (Most arguments are one byte, and ids of goroutines and stacks
		// in a busy trace two or three: read in line, as binary.Uvarint
		// would, without its loop.)
		if n+2 < len(data) {
			b0 := data[n]
			if b0 < 0x80 {
				args[i] = uint64(b0)
				n++
				continue
			}
			b1 := data[n+1]
			if b1 < 0x80 {
				args[i] = uint64(b0&0x7f) | uint64(b1)<<7
				n += 2
				continue
			}
			if b2 := data[n+2]; b2 < 0x80 {
				args[i] = uint64(b0&0x7f) | uint64(b1&0x7f)<<7 | uint64(b2)<<14
				n += 3
				continue
			}
		} else if n < len(data) && data[n] < 0x80 {
			args[i] = uint64(data[n])
			n++
			continue
		}
		v, k := binary.Uvarint(data[n:])
		if k <= 0 {
			return false, &Error{Offset: c.off, Msg: "found invalid uvarint"}
		}
		args[i] = v
		n += k
	}
	c.ev.time = g.mul(ts) + c.lastTs
	c.lastTs = c.ev.time
	c.data = data[n:]
	c.off += int64(n)
	return true, nil
}

// nextBatch makes the M's next non-empty batch current, reading it from a
// file decoder's input; none left leaves c.data empty.
func (c *cursor) nextBatch(g *generation) error {
	for len(c.batches) > 0 && c.batches[0].n == 0 {
		c.batches = c.batches[1:]
	}
	if len(c.batches) == 0 {
		return nil
	}
	b := &c.batches[0]
	data := b.data
	if data == nil {
		if cap(c.buf) < b.n {
			c.buf = make([]byte, b.n)
		}
		data = c.buf[:b.n]
		if k, err := g.ra.ReadAt(data, b.off); k < b.n {
			return shortBatch(b.off, k, b.n, err)
		}
	}
	c.data, c.off, c.lastTs = data, b.off, g.mul(b.time)
	c.batches = c.batches[1:]
	return nil
}

// The frontier: a min-heap of the Ms' cursors by the time of their next
// event. It sifts exactly as the reference parser's does, so that events
// of equal time come out in the same order.

func heapInsert(h []*cursor, c *cursor) []*cursor {
	h = append(h, c)
	heapSiftUp(h, len(h)-1)
	return h
}

func heapUpdate(h []*cursor, i int) {
	if heapSiftUp(h, i) != i {
		return
	}
	heapSiftDown(h, i)
}

func heapRemove(h []*cursor, i int) []*cursor {
	for i > 0 {
		h[(i-1)/2], h[i] = h[i], h[(i-1)/2]
		i = (i - 1) / 2
	}
	h[0], h[len(h)-1] = h[len(h)-1], h[0]
	h = h[:len(h)-1]
	heapSiftDown(h, 0)
	return h
}

func heapSiftUp(h []*cursor, i int) int {
	for i > 0 && h[(i-1)/2].ev.time > h[i].ev.time {
		h[(i-1)/2], h[i] = h[i], h[(i-1)/2]
		i = (i - 1) / 2
	}
	return i
}

func heapSiftDown(h []*cursor, i int) int {
	for {
		m := min3(h, i, 2*i+1, 2*i+2)
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return i
}

func min3(h []*cursor, i0, i1, i2 int) int {
	minIdx := i0
	minT := Time(1<<63 - 1)
	if i0 < len(h) {
		minT = h[i0].ev.time
	}
	if i1 < len(h) {
		if t := h[i1].ev.time; t < minT {
			minT = t
			minIdx = i1
		}
	}
	if i2 < len(h) {
		if t := h[i2].ev.time; t < minT {
			minIdx = i2
		}
	}
	return minIdx
}
