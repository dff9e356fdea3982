//go:build !race

package convcore

const raceEnabled = false
