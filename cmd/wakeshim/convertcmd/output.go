package convertcmd

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/progress"
)

// segmentFiles writes the binary and/or JSONL outputs of a conversion,
// starting a new pair of files for each segment after the first:
// NAME.bin, NAME.2.bin, NAME.3.bin, ... (likewise for .jsonl).
type segmentFiles struct {
	bin, jsonl string // first segment's names; "" for none; jsonl "-" is stdout
	seg        int
	files      []*os.File
	bufs       []*bufio.Writer
	w          format.RecordWriter
	hw         format.HotWriter // format.HotOf(w)
	names      []string
	bytes      int64
}

func (s *segmentFiles) open() error {
	s.seg++
	var ws []format.RecordWriter
	s.files, s.bufs = s.files[:0], s.bufs[:0]
	if s.bin != "" {
		name := segmentName(s.bin, s.seg)
		bw, err := s.create(name)
		if err != nil {
			return err
		}
		w, err := format.NewWriter(bw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ws = append(ws, w)
	}
	if s.jsonl != "" {
		name := segmentName(s.jsonl, s.seg)
		bw, err := s.create(name)
		if err != nil {
			return err
		}
		ws = append(ws, format.NewJSONLWriter(bw))
	}
	s.w = format.MultiWriter(ws...)
	s.hw = format.HotOf(s.w)
	return nil
}

func (s *segmentFiles) create(name string) (*bufio.Writer, error) {
	f := os.Stdout
	if name != "-" {
		var err error
		if f, err = os.Create(name); err != nil {
			return nil, err
		}
	}
	s.files = append(s.files, f)
	s.names = append(s.names, name)
	bw := bufio.NewWriterSize(f, 256<<10)
	s.bufs = append(s.bufs, bw)
	return bw, nil
}

// segmentName names segment n of the output first named name.
func segmentName(name string, n int) string {
	if n == 1 || name == "-" {
		return name
	}
	if i := strings.LastIndexByte(name, '.'); i > strings.LastIndexByte(name, '/') {
		return fmt.Sprintf("%s.%d%s", name[:i], n, name[i:])
	}
	return fmt.Sprintf("%s.%d", name, n)
}

func (s *segmentFiles) WriteRecord(r *format.Record) error {
	if err := s.w.WriteRecord(r); err != nil {
		return s.wrap(err)
	}
	return nil
}

// BinaryWriter makes segmentFiles a convert.BinaryOutput when it writes
// the binary format alone: the converter then writes most records to the
// Writer directly.
func (s *segmentFiles) BinaryWriter() *format.Writer {
	w, _ := s.w.(*format.Writer)
	return w
}

// WriteHot is WriteRecord's fast lane (format.HotWriter).
func (s *segmentFiles) WriteHot(h format.Hot) error { return s.wrap(s.hw.WriteHot(h)) }

func (s *segmentFiles) NextSegment() error {
	if err := s.closeSegment(); err != nil {
		return err
	}
	return s.open()
}

func (s *segmentFiles) Close() error { return s.closeSegment() }

func (s *segmentFiles) closeSegment() error {
	open := s.names[len(s.names)-len(s.files):]
	first := s.w.Close()
	for i, bw := range s.bufs {
		if err := bw.Flush(); err != nil && first == nil {
			first = err
		}
		f := s.files[i]
		if f != os.Stdout {
			if fi, err := f.Stat(); err == nil {
				s.bytes += fi.Size()
			}
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	s.files, s.bufs = s.files[:0], s.bufs[:0]
	if first != nil {
		if _, ok := first.(*os.PathError); !ok {
			first = fmt.Errorf("writing %s: %w", strings.Join(open, ", "), first)
		}
	}
	return first
}

// remove deletes every file written (after Close).
func (s *segmentFiles) remove() {
	for _, name := range s.names {
		if name != "-" {
			os.Remove(name)
		}
	}
}

// wrap names the output files in a write error (which one failed is not
// known once the writers are combined).
func (s *segmentFiles) wrap(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*os.PathError); ok {
		return err
	}
	return fmt.Errorf("writing %s: %w", strings.Join(s.names[len(s.names)-len(s.files):], ", "), err)
}

func (s *segmentFiles) describe() string {
	return fmt.Sprintf("%s (%s)", strings.Join(s.names, ", "), progress.Size(s.bytes))
}
