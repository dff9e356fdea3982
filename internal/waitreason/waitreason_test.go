package waitreason

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		frames       []string
		want         string
	}{
		{"trace chan receive", "chan receive", []string{"runtime.chanrecv1 runtime/chan.go:509", "main.f /m.go:1"}, ChanReceive},
		{"dump chan receive", "chan receive", nil, ChanReceive},
		{"trace network", "network", []string{"internal/poll.runtime_pollWait runtime/netpoll.go:351"}, IOWait},
		{"dump IO wait", "IO wait", nil, IOWait},
		{"trace sync mutex", "sync", []string{"sync.(*Mutex).Lock sync/mutex.go:46", "main.waitForLock /m.go:48"}, MutexLock},
		{"trace sync mutex deep", "sync", []string{"runtime.gopark x:1", "runtime.semacquire1 x:2", "internal/sync.runtime_SemacquireMutex x:3", "internal/sync.(*Mutex).lockSlow x:4", "sync.(*Mutex).Lock x:5", "main.f y:1"}, MutexLock},
		{"trace sync rlock", "sync", []string{"sync.(*RWMutex).RLock sync/rwmutex.go:74", "main.f y:1"}, RWMutexRLock},
		// A writer waiting for the inner writer mutex (another writer holds
		// the lock) is [sync.Mutex.Lock] in a dump; one waiting for the
		// readers to leave is [sync.RWMutex.Lock].
		{"trace rwmutex writer on inner mutex", "sync", []string{"sync.(*Mutex).Lock sync/mutex.go:46", "sync.(*RWMutex).Lock sync/rwmutex.go:150", "main.f y:1"}, MutexLock},
		{"trace rwmutex writer on readers", "sync", []string{"sync.(*RWMutex).Lock sync/rwmutex.go:156", "main.f y:1"}, RWMutexLock},
		{"trace sync waitgroup", "sync", []string{"sync.(*WaitGroup).Wait sync/waitgroup.go:118", "main.f y:1"}, WaitGroupWait},
		{"trace sync bare", "sync", []string{"main.f y:1"}, Semacquire},
		{"dump semacquire waitgroup", "semacquire", []string{"sync.runtime_SemacquireWaitGroup x:1", "sync.(*WaitGroup).Wait x:2", "main.f y:1"}, WaitGroupWait},
		{"trace cond", "sync.(*Cond).Wait", nil, CondWait},
		{"dump cond", "sync.Cond.Wait", nil, CondWait},
		{"trace forever select", "forever", []string{"runtime.block x:1", "main.main y:2"}, SelectNoCases},
		{"trace forever nil chan", "forever", []string{"runtime.chanrecv1 x:1", "main.main y:2"}, ChanReceiveNil},
		{"dump nil chan", "chan receive (nil chan)", nil, ChanReceiveNil},
		{"dump no cases", "select (no cases)", nil, SelectNoCases},
		{"restated chan", "", []string{"runtime.gopark runtime/proc.go:462", "runtime.chanrecv runtime/chan.go:667", "runtime.chanrecv1 runtime/chan.go:509", "main.stuck /m.go:3"}, ChanReceive},
		{"restated select", "unknown", []string{"runtime.gopark x:1", "runtime.selectgo x:2", "main.loop y:3"}, Select},
		{"restated sleep", "", []string{"runtime.gopark x:1", "time.Sleep runtime/time.go:363", "main.main y:3"}, Sleep},
		{"restated netpoll", "", []string{"runtime.gopark x:1", "runtime.netpollblock x:2", "internal/poll.runtime_pollWait x:3", "internal/poll.(*pollDesc).wait x:4", "internal/poll.(*pollDesc).waitRead x:5", "internal/poll.(*FD).Read x:6", "net.(*netFD).Read x:7", "main.serve y:1"}, IOWait},
		{"restated user frame first", "", []string{"main.f y:1", "runtime.chanrecv1 x:1"}, Unknown},
		{"no reason no stack", "", nil, Unknown},
		{"syscall", "syscall", nil, Syscall},
		{"unknown spelling kept", "some new (reason)", nil, "some_new_reason"},
		{"GC assist", "GC mark assist wait for work", nil, GCAssistWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Canonical(tc.reason, tc.frames))
		})
	}
}

func TestVocabularyHasNoSpaces(t *testing.T) {
	for _, r := range All {
		assert.False(t, strings.ContainsAny(r, " \t()[]"), r)
	}
	for src, r := range fromSource {
		assert.False(t, strings.ContainsAny(r, " \t()[]"), "%q -> %q", src, r)
		if r != "" {
			assert.Contains(t, All, r, "%q maps outside the vocabulary", src)
		}
	}
	for fn, r := range byFunc {
		if r != "" {
			assert.Contains(t, All, r, "%q maps outside the vocabulary", fn)
		}
	}
}
