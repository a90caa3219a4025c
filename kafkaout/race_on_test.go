//go:build race

package kafkaout

// raceEnabled: the race detector slows the tests down some twentyfold, too much for those that
// count what a second of load does.
const raceEnabled = true
