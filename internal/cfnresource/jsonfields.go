package cfnresource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// jsonObject decodes b as a JSON object, keeping each value raw. Keys match exactly, unlike
// encoding/json's case-insensitive struct fields: CloudFormation spells them one way.
func jsonObject(b []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("not valid JSON (at byte %d: %v)", syntax.Offset, syntax)
		}
		return nil, fmt.Errorf("a JSON %s, not an object", jsonKind(b))
	}
	if obj == nil {
		return nil, errors.New("JSON null, not an object")
	}
	return obj, nil
}

// jsonKind names the kind of JSON value raw holds, for error messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// stringField reads obj[name] as a string; absent and null read as "".
func stringField(obj map[string]json.RawMessage, name string) (string, error) {
	raw, ok := obj[name]
	if !ok || jsonKind(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is a JSON %s, want a string", name, jsonKind(raw))
	}
	return s, nil
}

// objectField reads obj[name] as a JSON object; absent and null read as nil.
func objectField(obj map[string]json.RawMessage, name string) (map[string]any, error) {
	raw, ok := obj[name]
	if !ok || jsonKind(raw) == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s is a JSON %s, want an object", name, jsonKind(raw))
	}
	return m, nil
}
