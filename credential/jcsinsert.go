package credential

// appendJCSInserting appends the RFC 8785 form of n in which the object
// target, one of n's descendants or n itself, has one member more: name,
// with value already in its JCS form. target must not have a member name.
// It is JCS of the document with that member added, without serializing
// the document and parsing it again: signing adds proofValue this way.
func (t *tree) appendJCSInserting(dst []byte, n, target *node, name string, value []byte) []byte {
	switch {
	case n.start == target.start && n.end == target.end && n.kind == kindObject:
		return t.appendJCSObjectInserting(dst, n, name, value)
	case n.kind != kindObject && n.kind != kindArray, target.start < n.start, target.end > n.end:
		return t.appendJCS(dst, n) // target is not inside n
	}
	items := t.items(n)
	if n.kind == kindArray {
		dst = append(dst, '[')
		for i := range items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = t.appendJCSInserting(dst, &items[i], target, name, value)
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	for i := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		m := &items[i]
		dst = append(appendJCSString(dst, t.name(m)), ':')
		dst = t.appendJCSInserting(dst, m, target, name, value)
	}
	return append(dst, '}')
}

// appendJCSObjectInserting appends the RFC 8785 form of the object obj
// with the member name: value added in its place in JCS order.
func (t *tree) appendJCSObjectInserting(dst []byte, obj *node, name string, value []byte) []byte {
	dst = append(dst, '{')
	inserted := false
	items := t.items(obj)
	for i := range items {
		m := &items[i]
		mname := t.name(m)
		if !inserted && compareUTF16(name, mname) < 0 {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(append(appendJCSString(dst, name), ':'), value...)
			inserted = true
			dst = append(dst, ',')
		} else if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendJCSString(dst, mname), ':')
		dst = t.appendJCS(dst, m)
	}
	if !inserted {
		if len(items) > 0 {
			dst = append(dst, ',')
		}
		dst = append(append(appendJCSString(dst, name), ':'), value...)
	}
	return append(dst, '}')
}
