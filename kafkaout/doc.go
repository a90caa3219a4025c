// Package kafkaout hands validated events to Kafka without making the request path wait on it.
// TryProduce copies a record onto one of several bounded lock-free ring shards and returns at
// once; a goroutine per shard feeds batched, compressed, idempotent franz-go producers, and each
// record's result flows back to the request waiting on it through a Batch. A full ring is
// back-pressure (ErrFull, which the edge answers with 503), never unbounded memory.
//
// StartEmbedded runs franz-go's in-process Kafka-protocol broker (kfake) on loopback, so the
// service runs with nothing else installed. It is a development broker, not for production.
//
// Record lifetime: TryProduce copies key and value, so the caller's slices are free again when it
// returns. A franz-go record is the producer's until its promise runs: only then does it report to
// its Batch and go back to the free list.
//
// With Config.SpoolDir, fire-and-forget records Kafka cannot take now (it is down, a ring is full,
// or spooled records wait) go to an on-disk spool (package spool) instead of failing, and one
// goroutine replays them into Kafka, in the order they were appended, once it answers (spool.go).
//
// It imports internal/configerr (its ConfigError) and spool (a leaf), and no other package of the
// project.
package kafkaout
