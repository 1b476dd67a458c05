// Package report prints leak reports (leaks.Report) in every format
// the leaks command offers: text, json, sarif, junit, github and markdown,
// one printer per format behind one interface.
package report
