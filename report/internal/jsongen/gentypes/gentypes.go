// Package gentypes holds types that use what the report's types do not
// (yet) and jsongen supports: package report's tests generate an
// encoder of GenAll (jsongen_types_test.go) and check it against
// encoding/json as they check the report's.
package gentypes

// Name is a named string, a map key too.
type Name string

// Count is a named small integer.
type Count int16

// GenAll is one of each.
type GenAll struct {
	// Lead opens it with omitempty members: its commas are decided as
	// it is written.
	Lead  string `json:"lead,omitempty"`
	Lead2 int    `json:"lead2,omitempty"`
	Fixed bool   `json:"fixed"`
	Named Name   `json:"named"`
	Small Count  `json:"small,omitempty"`
	I8    int8
	U8    uint8
	U16   uint16
	U64   uint64 `json:"u64"`
	Uptr  uintptr
	F     float64             `json:"f,omitempty"`
	Map   map[Name]GenMapItem `json:"map"`
	Ints  map[string]int      `json:"ints,omitempty"`
	// IntPtr, StrPtrs: pointers to what is not a struct.
	IntPtr  *int      `json:"int_ptr"`
	StrPtrs []*string `json:"str_ptrs"`
	// Inner: omitempty does not omit a struct.
	Inner   GenInner   `json:"inner,omitempty"`
	AllOmit GenAllOmit `json:"all_omit"`
	Empty   GenEmpty   `json:"empty"`
	Nested  [][]GenInner
	Ptrs    []*GenInner `json:"ptrs"`
	GenEmbed
	hidden   int //nolint:unused // not in the JSON
	Skip     int `json:"-"`
	Floats   []float64
	FloatPtr *float64 `json:"float_ptr,omitempty"`
	Bools    []bool   `json:"bools"`
}

// GenInner holds a float.
type GenInner struct {
	S string  `json:"s"`
	F float64 `json:"f"`
}

// GenMapItem is a map's value (no floats: jsongen's checks do not walk
// maps).
type GenMapItem struct {
	N  int64    `json:"n"`
	SS []string `json:"ss,omitempty"`
}

// GenAllOmit may have nothing to write.
type GenAllOmit struct {
	A string    `json:",omitempty"`
	B []int     `json:"b,omitempty"`
	C *GenInner `json:"c,omitempty"`
}

// GenEmpty has no members.
type GenEmpty struct{}

// GenEmbed is flattened into GenAll, with genLower's members.
type GenEmbed struct {
	E1 int `json:"e1"`
	genLower
}

type genLower struct {
	L string `json:"l"`
}

// Hidden returns the unexported member, for vet.
func (g GenAll) Hidden() int { return g.hidden }
