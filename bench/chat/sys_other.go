//go:build !linux

package chat

import (
	"errors"
	"os/exec"
	"time"
)

func setChildAttrs(*exec.Cmd) {}

// RaiseOpenFiles is supported on Linux only.
func RaiseOpenFiles() (uint64, error) {
	return 0, errors.New("bench: raising the open-files limit is supported on Linux only")
}

func selfCPU() time.Duration { return 0 }
