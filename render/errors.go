package render

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrFontNotFound: no CJK TrueType font is installed in FontPaths.
	ErrFontNotFound = errors.New("render: no CJK TrueType font found")
	// ErrBadFont: the font bytes are not a TrueType font fpdf can embed.
	ErrBadFont = errors.New("render: unusable font")
	// ErrMissingGlyph: a character to be printed has no glyph in the font.
	// The renderer refuses rather than print an empty box; see MissingGlyphError.
	ErrMissingGlyph = errors.New("render: character not in font")
	// ErrInvalidInput: the Input cannot be rendered (no identifier, a
	// seal picture that is not a PNG, a QR payload too long, ...).
	ErrInvalidInput = errors.New("render: invalid input")
)

// MissingGlyphError names a character the font cannot print and where it
// occurs. It unwraps to ErrMissingGlyph.
type MissingGlyphError struct {
	Rune rune
	// Where is the label of the field or part of the face ("" when found
	// while subsetting).
	Where string
}

func (e *MissingGlyphError) Error() string {
	msg := fmt.Sprintf("render: the font has no glyph for %q (U+%04X)", e.Rune, e.Rune)
	if e.Where != "" {
		msg += " in " + e.Where
	}
	return msg
}

// Unwrap returns ErrMissingGlyph.
func (e *MissingGlyphError) Unwrap() error { return ErrMissingGlyph }

func missingGlyph(r rune) error { return &MissingGlyphError{Rune: r} }
