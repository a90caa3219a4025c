module intake.dev/intake/client

go 1.27.0

toolchain go1.27.4
