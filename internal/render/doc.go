// Package render holds what rescoord's commands share to print: styles
// (every lipgloss style in one place), tables, and human sizes and ages.
// Styling applies only when the output is a colour terminal.
package render
