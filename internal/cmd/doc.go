// Package cmd holds rescoord's cobra commands: each binds flags to an
// options struct, reads its input through the shared input flags, calls
// pkg/ for the analysis and hands the result to internal/printer (printTo).
// Main maps the
// errors they return to exit codes in one place.
package cmd
