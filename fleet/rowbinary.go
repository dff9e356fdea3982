package fleet

import (
	"context"
	"encoding/binary"
	"fmt"
)

// rowBuf encodes rows in ClickHouse's RowBinary format: integers little
// endian, String as a LEB128 length and its bytes, Array as a LEB128
// count and its elements, DateTime as a UInt32 of seconds.
type rowBuf struct{ b []byte }

func (r *rowBuf) u8(v uint8)   { r.b = append(r.b, v) }
func (r *rowBuf) u32(v uint32) { r.b = binary.LittleEndian.AppendUint32(r.b, v) }
func (r *rowBuf) u64(v uint64) { r.b = binary.LittleEndian.AppendUint64(r.b, v) }
func (r *rowBuf) i64(v int64)  { r.b = binary.LittleEndian.AppendUint64(r.b, uint64(v)) }
func (r *rowBuf) str(s string) {
	r.b = binary.AppendUvarint(r.b, uint64(len(s)))
	r.b = append(r.b, s...)
}
func (r *rowBuf) strs(ss []string) {
	r.b = binary.AppendUvarint(r.b, uint64(len(ss)))
	for _, s := range ss {
		r.str(s)
	}
}

// Arrays of numbers: a LEB128 count and the elements.
func (r *rowBuf) u32s(vs []uint32) {
	r.b = binary.AppendUvarint(r.b, uint64(len(vs)))
	for _, v := range vs {
		r.u32(v)
	}
}
func (r *rowBuf) u64s(vs []uint64) {
	r.b = binary.AppendUvarint(r.b, uint64(len(vs)))
	for _, v := range vs {
		r.u64(v)
	}
}
func (r *rowBuf) i64s(vs []int64) {
	r.b = binary.AppendUvarint(r.b, uint64(len(vs)))
	for _, v := range vs {
		r.i64(v)
	}
}

// dateTime is a DateTime of wall-clock nanoseconds (clamped to its
// UInt32 range).
func (r *rowBuf) dateTime(ns int64) { r.u32(uint32(min(max(ns/1e9, 0), 1<<32-1))) }

// batcher accumulates the rows of one table of a load and inserts them in
// batches of max rows.
type batcher struct {
	c       *Client
	ctx     context.Context
	table   string
	cols    []string
	loadID  string
	max     int
	buf     rowBuf
	n       int
	batch   uint32
	total   int64
	onBatch func(rows int)
}

// row starts a row: the columns every data table begins with (service,
// instance, load_id, batch); the caller appends the rest.
func (b *batcher) row(service, instance string) *rowBuf {
	b.buf.str(service)
	b.buf.str(instance)
	b.buf.str(b.loadID)
	b.buf.u32(b.batch)
	b.n++
	return &b.buf
}

// rowDone inserts the batch once it holds max rows.
func (b *batcher) rowDone() error {
	if b.n >= b.max {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if b.n == 0 {
		return nil
	}
	n, batch := b.n, b.batch
	check := func() (int, error) {
		have, err := b.c.queryInt(b.ctx, fmt.Sprintf("SELECT count() FROM %s.%s WHERE load_id = %s AND batch = %d",
			b.c.Database, b.table, Quote(b.loadID), batch))
		return int(have), err
	}
	if err := b.c.Insert(b.ctx, b.table, b.cols, b.buf.b, n, check); err != nil {
		return fmt.Errorf("inserting %d rows into %s: %w", n, b.table, err)
	}
	b.total += int64(n)
	if b.onBatch != nil {
		b.onBatch(n)
	}
	b.buf.b, b.n = b.buf.b[:0], 0
	b.batch++
	return nil
}
