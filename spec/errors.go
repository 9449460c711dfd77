package spec

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in a spec file, with its position.
type Error struct {
	// File is the file name as given to the parser.
	File string `json:"file"`
	// Line is 1-based; 0 when the position is unknown.
	Line int `json:"line"`
	// Column is 1-based; 0 when the position is unknown.
	Column int `json:"column"`
	// Message describes the problem.
	Message string `json:"message"`
}

// Error formats the problem as FILE:LINE:COL: message.
func (e Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

// ErrorList is every problem found in one or more files, sorted by position.
// It implements error; a nil or empty list means no problem.
type ErrorList []Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the list by file, line, column and message, and removes exact duplicates.
func (l *ErrorList) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Message < b.Message
	})
	out := s[:0]
	for i, e := range s {
		if i > 0 && e == s[i-1] {
			continue
		}
		out = append(out, e)
	}
	*l = out
}

// Err returns the list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Errors extracts the positioned errors from err: the list itself for an
// ErrorList, or one position-less entry for any other error.
func Errors(err error) ErrorList {
	if err == nil {
		return nil
	}
	if l, ok := err.(ErrorList); ok {
		return l
	}
	return ErrorList{{Message: err.Error()}}
}
