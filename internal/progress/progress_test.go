package progress

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBar(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := &Bar{w: &b, size: 1000, show: true, now: func() time.Time { return now }}
	p.Update(10) // the first one is drawn
	now = now.Add(50 * time.Millisecond)
	p.Update(500) // too soon
	now = now.Add(100 * time.Millisecond)
	p.Update(500)
	p.Done()
	assert.Equal(t, "\r[                                        ]   1% 10 B\r[====================                    ]  50% 500 B\r\x1b[K", b.String())
	off := New(&b, 1<<30) // not a terminal
	assert.False(t, off.Shown())
}

func TestSize(t *testing.T) {
	assert.Equal(t, "512 B", Size(512))
	assert.Equal(t, "3.6 KB", Size(3686))
	assert.Equal(t, "40.0 MB", Size(40<<20))
}
