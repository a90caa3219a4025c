package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The on-disk format (doc.go describes it for readers of the directory).
const (
	segMagic     = "ISPL"
	segVersion   = 1
	segHeaderLen = 16 // magic [4], version u16, reserved u16, sequence number u64
	segSuffix    = ".seg"

	// A frame opens with frameMagic0, a byte that never occurs in UTF-8, then frameMagic1: a
	// reader that lost its place (a damaged record) looks for the next frame by these two bytes,
	// which the JSON of an event cannot contain, and confirms it by the frame's CRC.
	frameMagic0    = 0xFB
	frameMagic1    = 'S'
	frameHeaderLen = 10 // magic [2], payload length u32, CRC-32C u32 of the length's 4 bytes and the payload

	payloadFixedLen = 17 // flags u8, timestamp i64, appended i64

	flagKey    = 1 << 0 // a key follows the topic (a nil key has no bytes at all)
	flagValue  = 1 << 1 // the value is not nil
	flagsKnown = flagKey | flagValue

	// MaxRecordBytes bounds a record's payload (topic, key, value and 17 bytes). A length beyond it
	// is damage, not a record.
	MaxRecordBytes = 64 << 20
	// maxTopicBytes is more than Kafka allows (249).
	maxTopicBytes = 255

	cursorName    = "cursor"
	cursorTmpName = "cursor.tmp"
	cursorMagic   = "ISPC"
	cursorLen     = 28 // magic [4], version u16, reserved u16, segment u64, offset u64, CRC-32C u32 of the 24 bytes before
	lockName      = "lock"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Pos is a position in the spool: a segment's sequence number and a byte offset in it. A record's
// Pos is where its frame starts; the cursor is the Pos of the first record not acknowledged.
type Pos struct {
	Seg uint64
	Off int64
}

// Less reports whether p comes before q in the spool.
func (p Pos) Less(q Pos) bool { return p.Seg < q.Seg || p.Seg == q.Seg && p.Off < q.Off }

func (p Pos) String() string {
	return strconv.FormatUint(p.Seg, 10) + ":" + strconv.FormatInt(p.Off, 10)
}

func segName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segSuffix) }

// parseSegName returns the sequence number of a segment file's name; false for any other name.
func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil && n > 0
}

func appendSegHeader(dst []byte, seq uint64) []byte {
	dst = append(dst, segMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, segVersion)
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	return binary.LittleEndian.AppendUint64(dst, seq)
}

var (
	errSegMagic   = errors.New("no segment header (bad magic)")
	errSegVersion = errors.New("unknown segment format version")
)

// checkSegHeader checks a segment's first segHeaderLen bytes and returns its sequence number.
func checkSegHeader(b []byte) (uint64, error) {
	if len(b) < segHeaderLen || string(b[:4]) != segMagic {
		return 0, errSegMagic
	}
	if v := binary.LittleEndian.Uint16(b[4:6]); v != segVersion {
		return 0, fmt.Errorf("%w %d (this intake reads version %d)", errSegVersion, v, segVersion)
	}
	return binary.LittleEndian.Uint64(b[8:16]), nil
}

// frameLen is the bytes a record takes in a segment.
func frameLen(topic string, key, value []byte) int {
	n := frameHeaderLen + payloadFixedLen + uvarintLen(uint64(len(topic))) + len(topic) + len(value)
	if key != nil {
		n += uvarintLen(uint64(len(key))) + len(key)
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendFrame appends a record's frame to dst. ts and appended are Unix milliseconds.
func appendFrame(dst []byte, topic string, key, value []byte, ts, appended int64) []byte {
	start := len(dst)
	dst = append(dst, frameMagic0, frameMagic1, 0, 0, 0, 0, 0, 0, 0, 0) // length and CRC below
	var flags byte
	if key != nil {
		flags |= flagKey
	}
	if value != nil {
		flags |= flagValue
	}
	dst = append(dst, flags)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(ts))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(appended))
	dst = binary.AppendUvarint(dst, uint64(len(topic)))
	dst = append(dst, topic...)
	if key != nil {
		dst = binary.AppendUvarint(dst, uint64(len(key)))
		dst = append(dst, key...)
	}
	dst = append(dst, value...)
	h := dst[start : start+frameHeaderLen]
	binary.LittleEndian.PutUint32(h[2:6], uint32(len(dst)-start-frameHeaderLen))
	binary.LittleEndian.PutUint32(h[6:10], frameCRC(h[2:6], dst[start+frameHeaderLen:]))
	return dst
}

func frameCRC(length, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, crcTable), crcTable, payload)
}

// frameStatus is what parseFrame found at an offset.
type frameStatus uint8

const (
	frameOK    frameStatus = iota
	frameShort             // the bytes are the start of a frame that runs past the end: a torn write
	frameBad               // not a frame: bad magic, length, CRC or payload
)

// parseFrame looks for a whole frame at the start of b, which holds every byte up to the end of
// what may be read. It returns the frame's payload and length.
func parseFrame(b []byte) (payload []byte, n int, st frameStatus) {
	if len(b) < frameHeaderLen {
		// As much of a header as there is must look like one to be a torn write.
		if len(b) > 0 && b[0] != frameMagic0 || len(b) > 1 && b[1] != frameMagic1 {
			return nil, 0, frameBad
		}
		return nil, 0, frameShort
	}
	if b[0] != frameMagic0 || b[1] != frameMagic1 {
		return nil, 0, frameBad
	}
	length := binary.LittleEndian.Uint32(b[2:6])
	if length < payloadFixedLen+1 || length > MaxRecordBytes {
		return nil, 0, frameBad
	}
	n = frameHeaderLen + int(length)
	if len(b) < n {
		return nil, 0, frameShort
	}
	payload = b[frameHeaderLen:n]
	if frameCRC(b[2:6], payload) != binary.LittleEndian.Uint32(b[6:10]) {
		return nil, 0, frameBad
	}
	if _, ok := decodePayload(payload); !ok {
		return nil, 0, frameBad
	}
	return payload, n, frameOK
}

// fields are a decoded payload; the slices point into it.
type fields struct {
	topic        []byte
	key, value   []byte
	ts, appended int64
}

func decodePayload(p []byte) (f fields, ok bool) {
	if len(p) < payloadFixedLen+1 {
		return f, false
	}
	flags := p[0]
	if flags&^flagsKnown != 0 {
		return f, false
	}
	f.ts = int64(binary.LittleEndian.Uint64(p[1:9]))
	f.appended = int64(binary.LittleEndian.Uint64(p[9:17]))
	p = p[payloadFixedLen:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > maxTopicBytes || uint64(len(p)-k) < n {
		return f, false
	}
	f.topic, p = p[k:k+int(n)], p[k+int(n):]
	if flags&flagKey != 0 {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return f, false
		}
		f.key, p = p[k:k+int(n):k+int(n)], p[k+int(n):]
	}
	if flags&flagValue != 0 {
		f.value = p
	} else if len(p) != 0 {
		return f, false
	}
	return f, true
}

func appendCursor(dst []byte, c Pos) []byte {
	start := len(dst)
	dst = append(dst, cursorMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, 1)
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, c.Seg)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(c.Off))
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], crcTable))
}

func parseCursor(b []byte) (Pos, bool) {
	if len(b) != cursorLen || string(b[:4]) != cursorMagic || binary.LittleEndian.Uint16(b[4:6]) != 1 ||
		crc32.Checksum(b[:24], crcTable) != binary.LittleEndian.Uint32(b[24:28]) {
		return Pos{}, false
	}
	p := Pos{Seg: binary.LittleEndian.Uint64(b[8:16]), Off: int64(binary.LittleEndian.Uint64(b[16:24]))}
	return p, p.Seg > 0 && p.Off >= 0
}

// diagnose words what parseFrame refuses in h, a frame's first bytes; more returns its first n.
func diagnose(h []byte, more func(n int) []byte) string {
	switch {
	case len(h) == 0:
		return "the file ends"
	case h[0] != frameMagic0 || len(h) > 1 && h[1] != frameMagic1:
		return "garbage: no record header"
	case len(h) < frameHeaderLen:
		return "a record header cut short"
	}
	length := binary.LittleEndian.Uint32(h[2:6])
	if length < payloadFixedLen+1 || length > MaxRecordBytes {
		return fmt.Sprintf("a record length of %d bytes", length)
	}
	b := more(frameHeaderLen + int(length))
	switch {
	case len(b) < frameHeaderLen+int(length):
		return fmt.Sprintf("a record of %d bytes cut short at %d", length, len(b)-frameHeaderLen)
	case frameCRC(b[2:6], b[frameHeaderLen:]) != binary.LittleEndian.Uint32(b[6:10]):
		return "a record's checksum does not match"
	}
	return "a record whose fields cannot be decoded"
}
