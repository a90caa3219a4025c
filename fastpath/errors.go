package fastpath

import "strings"

// ValidationError is one reason an event is invalid, in the terms Ajv (and so EventGate) reports.
type ValidationError struct {
	// Keyword is the schema keyword that failed ("type", "required", ...), or a contract step
	// ("stream", "schema", "schema_title", "message_key") for failures before validation.
	Keyword string
	// InstancePath is a JSON pointer into the event: "/meta/id", "" for the event itself.
	InstancePath string
	// SchemaPath is a JSON pointer fragment into the schema: "#/properties/test/type".
	SchemaPath string
	// Params is a JSON object with the keyword's details, for example {"type":"string"}.
	Params string
	// Message reads like Ajv's: "should be string".
	Message string
}

// Errors collects the validation errors of one event. The zero value is ready to use.
//
// A compiled Program writes the dynamic text of its errors (instance paths, params naming a
// property or an index, messages quoting them) into arena, and List's strings point into it
// without a copy: they stay valid until the Errors is reset (Result.Reset), or until a Program
// validates into it again while List is empty (truncating List to [:0] hands the arena back too).
// Copy a string to keep it longer. The static parts (schema paths, fixed params and messages)
// are the Program's own and live as long as it does.
type Errors struct {
	List []ValidationError

	arena []byte // dynamic text of List's entries, see above
	path  []byte // the instance pointer of the value a Program is reporting on
}

// maxKeepErrorBytes caps the arena an Errors keeps across resets: one event with a huge error
// report must not pin its memory.
const maxKeepErrorBytes = 64 << 10

func (e *Errors) reset() {
	clear(e.List)
	e.List = e.List[:0]
	e.resetArena()
}

func (e *Errors) resetArena() {
	if cap(e.arena) > maxKeepErrorBytes {
		e.arena = nil
	}
	e.arena = e.arena[:0]
	if cap(e.path) > maxKeepErrorBytes {
		e.path = nil
	}
	e.path = e.path[:0]
}

// Add appends one error.
func (e *Errors) Add(keyword, instancePath, schemaPath, params, message string) {
	e.List = append(e.List, ValidationError{
		Keyword:      keyword,
		InstancePath: instancePath,
		SchemaPath:   schemaPath,
		Params:       params,
		Message:      message,
	})
}

// Len returns the number of errors.
func (e *Errors) Len() int { return len(e.List) }

// AppendJSON appends the errors as a JSON array in Ajv's shape, each with keyword, instancePath,
// Ajv 6's dataPath, schemaPath, params and message.
func (e *Errors) AppendJSON(dst []byte) []byte {
	dst = append(dst, '[')
	for i := range e.List {
		ve := &e.List[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"keyword":`...)
		dst = AppendJSONString(dst, ve.Keyword)
		dst = append(dst, `,"instancePath":`...)
		dst = AppendJSONString(dst, ve.InstancePath)
		dst = append(dst, `,"dataPath":`...)
		dst = appendQuotedDataPath(dst, ve.InstancePath)
		dst = append(dst, `,"schemaPath":`...)
		dst = AppendJSONString(dst, ve.SchemaPath)
		dst = append(dst, `,"params":`...)
		if ve.Params == "" {
			dst = append(dst, "{}"...)
		} else {
			dst = append(dst, ve.Params...)
		}
		dst = append(dst, `,"message":`...)
		dst = AppendJSONString(dst, ve.Message)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// AppendText appends EventGate's errorsText: each error as "'<dataPath>' <message>", joined by ", ".
func (e *Errors) AppendText(dst []byte) []byte {
	for i := range e.List {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, '\'')
		dst = AppendDataPath(dst, e.List[i].InstancePath)
		dst = append(dst, "' "...)
		dst = append(dst, e.List[i].Message...)
	}
	return dst
}

// Text returns AppendText as a string.
func (e *Errors) Text() string { return string(e.AppendText(nil)) }

func appendQuotedDataPath(dst []byte, pointer string) []byte {
	var buf [128]byte
	return AppendJSONString(dst, string(AppendDataPath(buf[:0], pointer)))
}

// AppendDataPath converts a JSON pointer ("/meta/id", "/items/0") into Ajv 6's dataPath
// (".meta.id", ".items[0]", "['odd key']").
func AppendDataPath(dst []byte, pointer string) []byte {
	if pointer == "" {
		return dst
	}
	for _, seg := range strings.Split(pointer[1:], "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch {
		case isIndex(seg):
			dst = append(dst, '[')
			dst = append(dst, seg...)
			dst = append(dst, ']')
		case isIdentifier(seg):
			dst = append(dst, '.')
			dst = append(dst, seg...)
		default:
			dst = append(dst, "['"...)
			dst = append(dst, strings.ReplaceAll(seg, "'", `\'`)...)
			dst = append(dst, "']"...)
		}
	}
	return dst
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// AppendPointerToken appends one JSON pointer reference token, escaping "~" and "/".
func AppendPointerToken(dst []byte, token string) []byte {
	dst = append(dst, '/')
	for i := 0; i < len(token); i++ {
		switch token[i] {
		case '~':
			dst = append(dst, "~0"...)
		case '/':
			dst = append(dst, "~1"...)
		default:
			dst = append(dst, token[i])
		}
	}
	return dst
}
