// Package atomicfile writes files so that a reader sees the old content or
// the new, never a mix: a temporary file in the destination's directory,
// synced, then renamed into place. It never writes through a symbolic link.
package atomicfile
