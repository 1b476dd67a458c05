// Package report prints leak reports (coordinator.Report) in every format
// the leaks command offers: text, json, sarif, junit, github and markdown,
// one printer per format behind one interface.
package report
