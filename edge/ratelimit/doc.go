// Package ratelimit holds intake's rate limits: token buckets keyed by client IP, by principal and
// by stream, in fixed-capacity tables that bound memory under a flood of distinct keys, evaluated
// together per request (Set.AllowRequest) and per event (Set.AllowEvent). The client address it
// limits comes from edge/clientip. It is pure: no goroutines, flags or I/O, and no
// allocation per call once built.
//
// Buckets are GCRA ("virtual scheduling"): one int64 per key, the theoretical arrival time (TAT)
// of the next token. A bucket is full exactly when TAT <= now, so the table can tell a lossless
// eviction (full bucket; a key that comes back starts full, which is what it had) from a lossy one.
//
// Eviction and its trade-off: each table is 8-way set associative, one mutex per set of 8 keys, the
// set chosen by a randomly seeded hash. A new key takes an empty way, else the way with the
// smallest TAT: a full bucket when there is one (the one idle longest since it refilled: lossless),
// else the bucket closest to full (lossy, counted as kind="active"). A throttled key has the
// largest TAT in its set, so a flood of fresh keys (TAT = now + one interval) evicts itself, not
// it. To flush a throttled key an attacker must push the 7 other keys of its (secretly seeded)
// set deeper into debt than it, which means throttling about a table's worth of keys after it; with
// that many keys of its own it has their bursts anyway, so the reset gains nothing a fresh key
// would not. The loss is bounded: under a fresh-key flood an evicted bucket in debt loses at most
// about one token of it. What no per-key table can do is limit a flood of distinct keys as a
// whole (each new key gets its burst): capacity must be large relative to the active clients, and
// kind="active" evictions say when it is not.
//
// Time is the caller's: every Allow takes now (time.Time) and reads it relative to a process epoch
// (monotonic when now carries a monotonic reading), so tests drive the clock.
//
// Integration: build one Set from Config at start-up (NewSet), call Reload on config change; per
// request clientip.FromLines then Set.AllowRequest; per
// event, or per batch of one stream, Set.AllowEvent / AllowEventN with the configured stream name;
// on refusal answer 429 with RetryAfterSeconds. Metrics: intake_ratelimit_rejected_total{limiter},
// intake_ratelimit_keys{limiter}, intake_ratelimit_evictions_total{limiter,kind}.
//
// It imports no other package of the project.
package ratelimit
