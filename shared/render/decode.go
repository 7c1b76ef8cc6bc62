package render

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Decoding YAML through sigs.k8s.io/yaml (go.yaml.in/yaml/v2 nodes, then
// JSON both ways) allocates far more than the text: measured worst cases
// (bounds_test.go) take up to ~29 bytes per byte of text, up to ~1 KiB per
// node, ~20 KiB per document. decodeCost bounds that from the text alone
// before anything is decoded: a node needs one of - : ? , [ { (at most two
// nodes each), a document a "---" line.
const (
	costPerByte   = 32
	costPerOpener = 1200
	costPerDoc    = 24 << 10
)

// MaxDecode bounds the decoding cost of one rendered document, which is
// what decoding holds in memory at once (about 100 KiB of dense manifest,
// 450 KiB of plain text such as a config file).
const MaxDecode = 16 << 20

// MaxDecodeTotal bounds the decoding cost of all the documents one service
// renders (each decoded on its own, after the one before is done): it
// bounds the CPU decoding takes. 3,000 small objects estimate ~135 MiB and
// really allocate ~45 MiB in ~70 ms.
const MaxDecodeTotal = 256 << 20

// MaxValuesDecode bounds the decoding cost of the yaml variables one
// service resolves, all together.
const MaxValuesDecode = 12 << 20

func decodeCost(s string) int {
	n := costPerByte*len(s) + costPerDoc*(1+strings.Count(s, "\n---"))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '-', ':', '?', ',', '[', '{':
			n += costPerOpener
		}
	}
	return n
}

// anchored reports whether YAML text may define an anchor (&name). Aliases
// need one, and aliases are how a few hundred bytes expand into millions of
// nodes (yaml.v2 allows 400,000 alias expansions). It errs towards yes:
// yaml.v2 scans an anchor at the start of a token as & then [0-9A-Za-z_-]+
// then a blank, a line break or one of ?:,]}%@`; this looks for that
// anywhere except right after a character that continues a plain scalar
// ("a&b", "x=1&y=2", "a && b" are not anchors).
func anchored(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '&' || (i > 0 && inScalar(s[i-1])) {
			continue
		}
		j := i + 1
		for j < len(s) && isAnchorChar(s[j]) {
			j++
		}
		if j == i+1 {
			continue
		}
		if j == len(s) || s[j] >= utf8.RuneSelf || strings.IndexByte(" \t\r\n\x00?:,]}%@`", s[j]) >= 0 {
			return true
		}
	}
	return false
}

func isAnchorChar(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-'
}

// inScalar: no YAML token ends with c and lets the next one start right
// after it, so an & after c is inside a scalar (or a tag, which takes &).
func inScalar(c byte) bool {
	return isAnchorChar(c) || c == '&' || strings.IndexByte("./=;+()$~^", c) >= 0
}

// checkYAML refuses YAML that could expand through aliases, and returns
// what decoding it may cost.
func checkYAML(s string) (int, error) {
	if !utf8.ValidString(s) { // yaml.v2 would read a UTF-16 BOM as UTF-16, past anchored's scan
		return 0, fmt.Errorf("is not valid UTF-8")
	}
	if anchored(s) {
		return 0, fmt.Errorf("uses a YAML anchor (&name): anchors and aliases are not allowed")
	}
	return decodeCost(s), nil
}

// checkDocuments refuses rendered YAML with a document past MaxDecode, or
// all of it past MaxDecodeTotal, before anything is decoded.
func checkDocuments(s string) error {
	if _, err := checkYAML(s); err != nil {
		return err
	}
	total := 0
	for s != "" {
		doc := s
		if i := strings.Index(s[1:], "\n---"); i >= 0 { // the next document starts after that line break
			doc, s = s[:i+2], s[i+2:]
		} else {
			s = ""
		}
		cost := decodeCost(doc)
		if cost > MaxDecode {
			return tooComplex(cost, fmt.Sprintf("the %d MiB one document may take", MaxDecode>>20))
		}
		if total += cost; total > MaxDecodeTotal {
			return tooComplex(total, fmt.Sprintf("the %d MiB all documents of a service may take together", MaxDecodeTotal>>20))
		}
	}
	return nil
}

// tooComplex reports a decoding cost over a limit.
func tooComplex(cost int, limit string) error {
	return fmt.Errorf("is too complex to decode: about %d MiB of work, past %s (too many items or documents)", cost>>20, limit)
}
