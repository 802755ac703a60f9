package license

import "errors"

// ErrInvalid is the sentinel every [*FieldError] unwraps to: the input breaks
// a format or catalog rule.
var ErrInvalid = errors.New("license: invalid")

// FieldError reports one rule broken by one field.
type FieldError struct {
	// Field names the field: a record's JSON name ("holderCode"), a type field
	// as "fields.<key>", an identifier part as "identifier.<part>", or the
	// value a standalone validator checks ("uscc", "citizenID").
	Field string
	// Rule is a short stable token naming the rule that failed, such as
	// "required", "length", "charset", "pattern", "enum", "date", "number",
	// "check", "area", "range", "mismatch", "prefix" or "unknown". Callers may
	// branch on it.
	Rule string
	// Message explains the failure to a person.
	Message string
}

// Error returns "field <Field>: <Message>".
func (e *FieldError) Error() string {
	return "field " + e.Field + ": " + e.Message
}

// Unwrap returns [ErrInvalid].
func (e *FieldError) Unwrap() error { return ErrInvalid }

// fieldErr builds a *FieldError.
func fieldErr(field, rule, msg string) *FieldError {
	return &FieldError{Field: field, Rule: rule, Message: msg}
}

// renamed returns err with its Field replaced by field when err is a
// *FieldError; other errors are returned unchanged.
func renamed(err error, field string) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: field, Rule: fe.Rule, Message: fe.Message}
	}
	return err
}
