package render

import (
	"fmt"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

// Table is a document of rows under a title, such as a holder's 用证记录:
// A4 landscape, the header repeated on every page, each cell's text wrapped
// to its column.
type Table struct {
	Title    string   // printed at the top of the first page
	Subtitle []string // lines under the title
	Columns  []Column
	Rows     [][]string // one cell per column
	// Footer is printed at the bottom of every page, after the page number.
	Footer    string
	CreatedAt time.Time
	// Attachments are embedded as PDF file attachments.
	Attachments []Attachment
}

// Column is a table column: its header, width in mm and, if not zero, the
// text size of its cells in pt (long codes fit better smaller).
type Column struct {
	Header string
	Width  float64
	Size   float64
}

// Table page geometry (mm, landscape A4) and text sizes (pt).
const (
	tableMargin   = 12.0
	tablePageW    = 297.0
	tablePageH    = 210.0
	tableSize     = 7.5
	tableLineH    = 3.6
	tableCellPadX = 1.2
	tableCellPadY = 1.2
)

// cellSize is the text size of a column's cells.
func cellSize(c Column) float64 {
	if c.Size > 0 {
		return c.Size
	}
	return tableSize
}

// lineHeight is the height of one line of a column's cells.
func lineHeight(c Column) float64 { return tableLineH * cellSize(c) / tableSize }

// TablePDF renders t. Every character must be in the renderer's font
// (*MissingGlyphError otherwise); the widths must fit the page.
func (r *Renderer) TablePDF(t Table) ([]byte, error) {
	var total float64
	for _, c := range t.Columns {
		total += c.Width
	}
	if len(t.Columns) == 0 || total > tablePageW-2*tableMargin+0.01 {
		return nil, fmt.Errorf("%w: columns are %.1f mm wide, the page has %.1f mm", ErrInvalidInput, total, tablePageW-2*tableMargin)
	}
	all := []string{t.Title, t.Footer, "第页共0123456789 /"}
	all = append(all, t.Subtitle...)
	for _, c := range t.Columns {
		all = append(all, c.Header)
	}
	for i, row := range t.Rows {
		if len(row) != len(t.Columns) {
			return nil, fmt.Errorf("%w: row %d has %d cells for %d columns", ErrInvalidInput, i, len(row), len(t.Columns))
		}
		all = append(all, row...)
	}
	for _, s := range all {
		for _, c := range s {
			if c == '\n' {
				continue
			}
			if unicode.IsControl(c) || c > 0xFFFF || !r.font.has(c) {
				return nil, &MissingGlyphError{Rune: c, Where: "table text " + s}
			}
		}
	}
	sub, err := r.font.subset(runeSet(all))
	if err != nil {
		return nil, err
	}
	p := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "L", UnitStr: "mm", SizeStr: "A4"})
	p.SetCompression(true)
	p.SetCatalogSort(true)
	p.SetCreationDate(t.CreatedAt)
	p.SetModificationDate(t.CreatedAt)
	p.SetAutoPageBreak(false, 0)
	p.SetMargins(0, 0, 0)
	p.SetTitle(t.Title, true)
	p.SetCreator("Zhengzhao 证照平台", true)
	p.SetProducer("Zhengzhao render", false)
	p.AddUTF8FontFromBytes(cjkFont, "", sub)
	if err := p.Error(); err != nil {
		return nil, fmt.Errorf("render: load font subset: %w", err)
	}
	d := &doc{p: p, widths: make(map[rune]float64)}

	pages := 0
	y := 0.0
	header := func() {
		p.AddPage()
		pages++
		y = tableMargin
		if pages == 1 {
			d.setFont(15)
			d.color([3]int{0, 0, 0})
			d.text(tableMargin, y+5, t.Title)
			y += 9
			d.setFont(8.5)
			for _, s := range t.Subtitle {
				d.text(tableMargin, y+3, s)
				y += 4.5
			}
			y += 2
		}
		d.setFont(tableSize)
		p.SetFillColor(235, 235, 235)
		p.SetDrawColor(150, 150, 150)
		h := tableLineH + 2*tableCellPadY
		x := tableMargin
		for _, c := range t.Columns {
			p.Rect(x, y, c.Width, h, "FD")
			d.text(x+tableCellPadX, y+tableCellPadY+tableLineH*0.8, c.Header)
			x += c.Width
		}
		y += h
		d.setFont(7)
		d.color([3]int{110, 110, 110})
		d.text(tableMargin, tablePageH-6, fmt.Sprintf("第 %d 页  %s", pages, t.Footer))
		d.color([3]int{0, 0, 0})
		d.setFont(tableSize)
	}
	header()
	for _, row := range t.Rows {
		cells := make([][]string, len(row))
		h := 0.0
		for i, s := range row {
			d.setFont(cellSize(t.Columns[i]))
			cells[i] = wrap(s, t.Columns[i].Width-2*tableCellPadX, d.runeWidth)
			h = max(h, float64(len(cells[i]))*lineHeight(t.Columns[i]))
		}
		h += 2 * tableCellPadY
		if y+h > tablePageH-tableMargin {
			header()
		}
		x := tableMargin
		for i, c := range t.Columns {
			p.Rect(x, y, c.Width, h, "D")
			d.setFont(cellSize(c))
			lh := lineHeight(c)
			for j, line := range cells[i] {
				d.text(x+tableCellPadX, y+tableCellPadY+lh*(float64(j)+0.8), line)
			}
			x += c.Width
		}
		y += h
	}
	return d.finish(t.Attachments)
}
