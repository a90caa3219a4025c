//go:build !race

package kafkaout

// raceEnabled: see race_on_test.go.
const raceEnabled = false
