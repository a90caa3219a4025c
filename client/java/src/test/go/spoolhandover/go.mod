module intake.dev/intake/client/java/spoolhandover

go 1.27.0

toolchain go1.27.4

require intake.dev/intake/client v0.0.0

replace intake.dev/intake/client => ../../../../..
