package license

import "errors"

// fieldErrors flattens err (possibly an errors.Join tree) into its
// *FieldError leaves, in order.
func fieldErrors(err error) []*FieldError {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*FieldError
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []*FieldError{fe}
	}
	return nil
}

// ruleOf returns the Field and Rule of err, which must be a single *FieldError.
func ruleOf(err error) (field, rule string) {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return "", ""
	}
	return fe.Field, fe.Rule
}
