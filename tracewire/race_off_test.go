//go:build !race

package tracewire

const raceEnabled = false
