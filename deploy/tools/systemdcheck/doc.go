// Package systemdcheck checks deploy/systemd/intake.service: its hardening keys and timeouts by
// reading the unit, and, where systemd-analyze exists, `systemd-analyze verify` (no warning at all:
// a misspelt key is only a warning there) and `systemd-analyze security --offline` (exposure).
//
// It holds tests only and imports no project package: it reads the unit from the tree.
package systemdcheck
