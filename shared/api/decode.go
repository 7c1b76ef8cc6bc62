package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/envhub/envhub/shared/errs"
)

// MaxBody bounds request bodies; API Gateway's own limit is far above any valid request.
const MaxBody = 256 << 10

// DecodeBody decodes a JSON object body into v, refusing unknown fields,
// trailing data and oversized bodies with messages that name the problem.
func DecodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return errs.Invalid("body", "cannot be read: %v", err)
	}
	return Decode(data, v)
}

// Decode is DecodeBody for a body already read (a WebSocket message).
func Decode(data []byte, v any) error {
	if len(data) > MaxBody {
		return errs.Invalid("body", "must be at most %d bytes", MaxBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return errs.Invalid("body", "must hold exactly one JSON object")
	}
	return nil
}

func bodyError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return errs.Invalid("body", "must be a JSON object")
		}
		return errs.Invalid(field, "must be a JSON %s", jsonType(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr):
		return errs.Invalid("body", "is not valid JSON at offset %d", syntaxErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errs.Invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "is not a known parameter")
	}
	return errs.Invalid("body", "is not valid JSON: %v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	}
	return kind
}

// Query reads query parameters, refusing ones the route does not know.
type Query struct{ v url.Values }

// ParseQuery checks every parameter name against known.
func ParseQuery(r *http.Request, known ...string) (Query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Query{}, errs.Invalid("query", "is malformed: %v", err)
	}
	for name := range v {
		ok := false
		for _, k := range known {
			ok = ok || k == name
		}
		if !ok {
			return Query{}, errs.Invalid(name, "is not a known parameter")
		}
	}
	return Query{v}, nil
}

// String returns a single-valued parameter.
func (q Query) String(name string) (string, error) {
	vals := q.v[name]
	if len(vals) > 1 {
		return "", errs.Invalid(name, "must be given once")
	}
	if len(vals) == 0 {
		return "", nil
	}
	return vals[0], nil
}

// Strings returns a repeated parameter's values (arrays are repeated parameters).
func (q Query) Strings(name string) []string {
	var out []string
	for _, v := range q.v[name] {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Int returns an integer parameter within [min, max], or def when absent.
func (q Query) Int(name string, def, min, max int) (int, error) {
	s, err := q.String(name)
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errs.Invalid(name, "must be an integer")
	}
	if n < min || n > max {
		return 0, errs.Invalid(name, "must be between %d and %d", min, max)
	}
	return n, nil
}

// Verbose reads the verbose flag (0 or 1).
func (q Query) Verbose() (bool, error) {
	n, err := q.Int("verbose", 0, 0, 1)
	return n == 1, err
}

// PathID returns a path parameter that must be an id with the given prefix.
func PathID(r *http.Request, name, prefix string) (string, error) {
	id := r.PathValue(name)
	return id, CheckID(name, id, prefix)
}

// CheckID validates an id: the kind's prefix, then 1-32 lowercase letters or digits.
func CheckID(field, id, prefix string) error {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) == 0 || len(rest) > 32 || strings.ContainsFunc(rest, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	}) {
		return errs.Invalid(field, "must be an id: %q followed by lowercase letters and digits", prefix)
	}
	return nil
}

// CheckIDs validates a list filter of ids (at most 100, one BatchGetItem).
func CheckIDs(field string, ids []string, prefix string) error {
	if len(ids) > 100 {
		return errs.Invalid(field, "must hold at most 100 ids")
	}
	for _, id := range ids {
		if err := CheckID(field, id, prefix); err != nil {
			return err
		}
	}
	return nil
}
