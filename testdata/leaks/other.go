package main

import (
	"sync"
)

func init() {
	register(&scenario{Name: "syncthing4829", Issue: "https://github.com/syncthing/syncthing/pull/4829", Deadlock: true,
		Leaks: []leak{{"main.syncthing4829.func1", 1, "sync.RWMutex.RLock"}}, run: syncthing4829})
	register(&scenario{Name: "istio17860", Issue: "https://github.com/istio/istio/pull/17860",
		Leaks: []leak{{"main.(*agent17860).runWait", 1, "chan send"}}, run: istio17860})
}

// syncthing#4829: the UPnP mapping's clearAddresses holds the mapping's
// write lock and notifies subscribers through a callback that reads the
// mapping's addresses under the read lock of the same RWMutex.
type mapping4829 struct {
	mu    sync.RWMutex
	addrs []string
	subs  []func(*mapping4829)
}

func (m *mapping4829) Addresses() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.addrs
}

func (m *mapping4829) clearAddresses() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrs = nil
	for _, s := range m.subs {
		s(m) // notify under the lock
	}
}

func syncthing4829() {
	go func() {
		m := &mapping4829{addrs: []string{"1.2.3.4:22000"}}
		m.subs = append(m.subs, func(m *mapping4829) { _ = m.Addresses() })
		m.clearAddresses()
	}()
}

// istio#17860: the pilot agent's runWait reports the proxy's exit on the
// agent's unbuffered status channel; after a restart the agent has
// abandoned that epoch's channel, so the report blocks forever.
type agent17860 struct{ statusCh chan error }

func (a *agent17860) runWait(statusCh chan error, exited hook) {
	exited.wait()
	statusCh <- nil // nobody receives: the agent moved to a new epoch
}

func istio17860() {
	a := &agent17860{statusCh: make(chan error)}
	exited := newHook()
	go a.runWait(a.statusCh, exited)
	a.statusCh = make(chan error) // restart: a new epoch's channel
	exited.done()
}
