package format

import (
	"errors"
	"strconv"
	"testing"
)

func TestTable(t *testing.T) {
	var tb Table
	tests := []struct {
		s     string
		id    uint16
		isNew bool
	}{
		{"a", 1, true},
		{"b", 2, true},
		{"a", 1, false},
		{"", 3, true},
		{"b", 2, false},
		{"", 3, false},
	}
	for _, tt := range tests {
		id, isNew, err := tb.Intern(tt.s)
		if err != nil || id != tt.id || isNew != tt.isNew {
			t.Errorf("Intern(%q) = %d, %v, %v; want %d, %v", tt.s, id, isNew, err, tt.id, tt.isNew)
		}
	}
	if tb.Len() != 3 {
		t.Errorf("Len() = %d", tb.Len())
	}
	tb.Reset()
	if id, isNew, err := tb.Intern("b"); id != 1 || !isNew || err != nil || tb.Len() != 1 {
		t.Errorf("after Reset: Intern(b) = %d, %v, %v", id, isNew, err)
	}
}

func TestTableFull(t *testing.T) {
	var tb Table
	for i := 1; i <= MaxID; i++ {
		id, isNew, err := tb.Intern(strconv.Itoa(i))
		if err != nil || !isNew || int(id) != i {
			t.Fatalf("Intern #%d = %d, %v, %v", i, id, isNew, err)
		}
	}
	if _, _, err := tb.Intern("one too many"); !errors.Is(err, ErrTableFull) {
		t.Fatalf("Intern past %d ids: %v, want ErrTableFull", MaxID, err)
	}
	// Known strings still resolve in a full table.
	if id, isNew, err := tb.Intern("65535"); id != MaxID || isNew || err != nil {
		t.Errorf("Intern(known) in a full table = %d, %v, %v", id, isNew, err)
	}
	tb.Reset()
	if id, _, err := tb.Intern("one too many"); id != 1 || err != nil {
		t.Errorf("after Reset: %d, %v", id, err)
	}
}
