// Package spool is the edge's on-disk queue of Kafka records: what the producer could not send
// now is appended here, and a replayer reads it back in order, produces it and acknowledges what
// Kafka acknowledged, while appends go on. Records leave the spool only once acknowledged, so a
// crash during replay gives duplicates (at least once), never loss.
//
// It imports no other package of the project (standard library only).
//
// # Directory
//
//	00000000000000000001.seg   segment files, appended in order (a new one at each Open and
//	00000000000000000002.seg   every Options.SegmentBytes)
//	cursor                     the first record not acknowledged (segment, offset)
//	lock                       flock'ed by the process that has the spool open (its pid inside)
//
// A segment opens with a 16-byte header: "ISPL", version u16 (1), reserved u16, its sequence
// number u64. Then frames, all integers little-endian:
//
//	0xFB 'S'        magic (0xFB never occurs in UTF-8, so not in an event's JSON)
//	length  u32     bytes of payload
//	crc     u32     CRC-32C (Castagnoli) of the 4 length bytes, then the payload
//	payload         flags u8 (1: a key, 2: a value, so nil and empty differ), timestamp i64
//	                (the Kafka record's, Unix ms), appended i64 (Unix ms), uvarint len(topic),
//	                topic, [uvarint len(key), key], value (the rest)
//
// The cursor file is 28 bytes: "ISPC", version u16 (1), reserved u16, segment u64, offset u64,
// CRC-32C u32 of the 24 bytes before. It is replaced atomically: written to cursor.tmp, fsynced, renamed, the directory
// fsynced. A crash leaves the old cursor or the new one. A missing or damaged cursor makes Open
// start at the oldest segment (duplicates, never loss).
//
// # Open
//
// Open takes the lock (a second Open of the directory, in this process or another, fails with
// ErrLocked), deletes segments wholly before the cursor and reads every record from the cursor
// on, checking each. The tail of the last segment that holds no whole record is cut: a torn
// write (the start of a frame cut short, or zeros) counts in Stats.Torn; anything else in
// Stats.Damaged. Elsewhere, bytes that are not a frame (a bad checksum, garbage, a truncated
// segment or a bad header) are reported (Options.OnError, a *DamageError, and Stats.Damaged)
// and skipped: the reader finds the next frame by its magic and checksum and replays the rest.
// A segment of an unknown format version fails Open. Open then starts a new segment, which
// also proves the directory writable.
//
// # Durability
//
// Append returns once its record was written to the file with write(2), so a crash of the
// process loses nothing Append accepted, under either policy. What a crash of the machine (power,
// kernel) loses depends on Options.Sync:
//
//   - SyncAlways: Append returns after fsync; nothing Append accepted is lost. Concurrent
//     Appends share the write and the fsync (group commit).
//   - an interval (default 1 s): a background goroutine fsyncs the segment every interval; the
//     records appended in the last interval before the crash may be lost (and their bytes found
//     torn or damaged at Open).
//
// The cursor is saved every interval (1 s under SyncAlways), when it enters a new segment, and at
// Close: a crash of either kind may replay records acknowledged since the last save again.
// Close writes what is buffered, fsyncs and saves the cursor.
//
// # Bounds and failures
//
// Options.MaxBytes bounds the segment files' bytes; an Append past it returns ErrFull, and
// nothing grows. Space comes back a segment at a time, once every record in it is acknowledged.
// An Append whose write fails (disk full, the directory gone) returns an error wrapping the
// cause; the file is cut back to where the record would have started, so nothing spooled before
// is lost. An Append that returned an error may still be replayed if cutting failed too.
//
// # Memory
//
// Append copies the record into a buffer the spool reuses: no allocation per record. Entry's Key
// and Value point into the Reader's buffer, valid until the Reader's next Next, TryNext or
// Rewind; its Topic is an ordinary string, valid for good.
package spool
