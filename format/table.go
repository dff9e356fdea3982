package format

// Table interns the strings of one file's SpawnLocationDef or FrameDef ids:
// ids start at 1, in order of first use. A writer of a new file starts from
// an empty Table (Reset) so that every file carries its own definitions.
type Table struct {
	// Max is the number of ids the table holds; zero means MaxID, the
	// format's limit, and so does a larger value. (Tests set it low.)
	Max int
	ids map[string]uint16
}

// Intern returns the id of s, and whether s is new to the table, in which
// case the caller must write its definition before the record that uses
// it. It returns ErrTableFull when all MaxID ids are taken.
func (t *Table) Intern(s string) (id uint16, isNew bool, err error) {
	if id, ok := t.ids[s]; ok {
		return id, false, nil
	}
	if t.ids == nil {
		t.ids = make(map[string]uint16)
	}
	if limit := t.Max; len(t.ids) >= MaxID || (limit > 0 && len(t.ids) >= limit) {
		return 0, false, ErrTableFull
	}
	id = uint16(len(t.ids) + 1)
	t.ids[s] = id
	return id, true, nil
}

// Len returns the number of ids defined.
func (t *Table) Len() int { return len(t.ids) }

// Reset empties the table, for a new file.
func (t *Table) Reset() { clear(t.ids) }
