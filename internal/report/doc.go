// Package report prints leak reports (leaks.Report) in every format
// the leaks command offers: text, json, sarif, junit, github and markdown,
// one printer per format behind one interface. Commands and registrytest
// reach it through internal/printer (printer.Leaks), which writes the
// human formats through render.SafeWriter; the strings of the snapshot
// are escaped here where they are formatted.
package report
