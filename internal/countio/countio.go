// Package countio counts the bytes read through an io.Reader, for progress
// reports and for error messages that name an offset.
package countio

import "io"

// Reader counts the bytes read through it in N.
type Reader struct {
	R io.Reader
	N int64
}

func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
