package cfnresource

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Limits on ResourceProperties, far above what a real resource needs and low enough that a
// hostile request cannot make us do much work.
const (
	maxPropertyKeys  = 64
	maxPropertyBytes = 4096
)

// alwaysPresent are the properties CloudFormation adds to every request.
var alwaysPresent = []string{"ServiceToken", "ServiceTimeout"}

// DecodeProperties decodes ResourceProperties strictly into the struct dst points to, whose fields
// carry `cfn:"Name"` or `cfn:"Name,required"` tags. CloudFormation sends every scalar as a string:
// string fields take strings; bool fields take exactly "true" or "false"; int fields take decimal
// strings ("14"); []string fields take lists of strings. An empty string or list counts as absent
// (CloudFormation passes "" for an empty parameter): a required property must be present and not
// empty, and an absent one leaves its field as it was, so callers set defaults first.
//
// Wrong types, missing required properties, unknown properties (except ServiceToken and
// ServiceTimeout) and oversized values (a string over 4096 bytes, more than 64 properties) are
// errors that name the property, such as `property "RoleArn": required`, all of them in one error,
// by name; dst is left untouched then. An error about dst itself (not a pointer to a struct, a tag
// on an unsupported field type) is the caller's bug and says so.
func DecodeProperties(props map[string]any, dst any) error {
	target := reflect.ValueOf(dst)
	if target.Kind() != reflect.Pointer || target.IsNil() || target.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("decoding properties: want a non-nil pointer to a struct, got %T", dst)
	}
	fields, err := propertyFields(target.Elem().Type())
	if err != nil {
		return fmt.Errorf("decoding properties into %T: %w", dst, err)
	}
	if len(props) > maxPropertyKeys {
		return fmt.Errorf("too many properties: %d, at most %d", len(props), maxPropertyKeys)
	}

	decoded := reflect.New(target.Elem().Type()).Elem()
	decoded.Set(target.Elem())
	var errs propertyErrors
	for _, name := range propertyNames(props, fields) {
		value, present := props[name]
		f, known := fields[name]
		var err error
		switch {
		case len(name) > maxPropertyBytes:
			err = fmt.Errorf("name is %d bytes, at most %d", len(name), maxPropertyBytes)
		case !known && !slices.Contains(alwaysPresent, name):
			err = errors.New("unknown")
		case !known:
			err = checkSizes(value)
		case !present || isEmpty(value):
			if f.required {
				err = errors.New("required")
			}
		default:
			err = setField(decoded.Field(f.index), value)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("property %s: %w", quoteClipped(name), err))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	target.Elem().Set(decoded)
	return nil
}

// propertyField is a struct field tagged `cfn:"Name[,required]"`.
type propertyField struct {
	index    int
	required bool
}

func propertyFields(t reflect.Type) (map[string]propertyField, error) {
	fields := map[string]propertyField{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("cfn")
		if !ok {
			continue
		}
		name, option, _ := strings.Cut(tag, ",")
		switch {
		case name == "":
			return nil, fmt.Errorf("field %s: empty cfn tag name", sf.Name)
		case option != "" && option != "required":
			return nil, fmt.Errorf("field %s: unknown cfn tag option %q", sf.Name, option)
		case !sf.IsExported():
			return nil, fmt.Errorf("field %s: tagged but not exported", sf.Name)
		case !supportedKind(sf.Type):
			return nil, fmt.Errorf("field %s: unsupported type %s (want string, bool, int or []string)", sf.Name, sf.Type)
		}
		if _, dup := fields[name]; dup {
			return nil, fmt.Errorf("field %s: property %q is tagged twice", sf.Name, name)
		}
		fields[name] = propertyField{index: i, required: option == "required"}
	}
	return fields, nil
}

func supportedKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// propertyNames is every property given or declared, sorted, so errors come in a stable order.
func propertyNames(props map[string]any, fields map[string]propertyField) []string {
	names := make([]string, 0, len(props)+len(fields))
	for name := range props {
		names = append(names, name)
	}
	for name := range fields {
		if _, ok := props[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

// setField decodes one property value into a field of a supported kind.
func setField(field reflect.Value, value any) error {
	if err := checkSizes(value); err != nil {
		return err
	}
	if field.Kind() == reflect.Slice {
		list, ok := value.([]any)
		if !ok {
			return fmt.Errorf("want a list of strings, got %s", describe(value))
		}
		items := reflect.MakeSlice(field.Type(), len(list), len(list))
		for i, item := range list {
			s, ok := item.(string)
			if !ok {
				return fmt.Errorf("item %d: want a string, got %s", i, describe(item))
			}
			items.Index(i).SetString(s)
		}
		field.Set(items)
		return nil
	}

	s, ok := value.(string)
	if !ok {
		return fmt.Errorf("want a string, got %s", describe(value))
	}
	switch field.Kind() {
	case reflect.Bool:
		if s != "true" && s != "false" {
			return fmt.Errorf(`want "true" or "false", got %s`, quoteClipped(s))
		}
		field.SetBool(s == "true")
	case reflect.String:
		field.SetString(s)
	default: // an int kind
		n, err := parseDecimal(s, field.Type().Bits())
		if err != nil {
			return err
		}
		field.SetInt(n)
	}
	return nil
}

// parseDecimal parses a decimal integer: an optional minus sign, then digits; no plus sign, spaces,
// underscores or base prefixes.
func parseDecimal(s string, bits int) (int64, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("want a decimal integer, got %s", quoteClipped(s))
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range for a %d-bit integer", quoteClipped(s), bits)
	}
	return n, nil
}

// checkSizes refuses strings over maxPropertyBytes anywhere in v.
func checkSizes(v any) error {
	switch v := v.(type) {
	case string:
		if len(v) > maxPropertyBytes {
			return fmt.Errorf("value is %d bytes, at most %d", len(v), maxPropertyBytes)
		}
	case []any:
		for i, item := range v {
			if err := checkSizes(item); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
	case map[string]any:
		for k, item := range v {
			if err := checkSizes(k); err != nil {
				return fmt.Errorf("key: %w", err)
			}
			if err := checkSizes(item); err != nil {
				return fmt.Errorf("key %s: %w", quoteClipped(k), err)
			}
		}
	}
	return nil
}

// describe names the JSON kind of a decoded value, for errors.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// propertyErrors lists every property problem in one error, separated by "; " so it reads as one
// line in the CloudFormation console.
type propertyErrors []error

func (e propertyErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e propertyErrors) Unwrap() []error { return e }
