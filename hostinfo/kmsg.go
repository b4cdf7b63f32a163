package hostinfo

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// KernelLog reads new kernel log records from /dev/kmsg: only those written
// after it was opened.
type KernelLog struct{ fd int }

// OpenKernelLog opens /dev/kmsg positioned at its end. It needs root (or
// CAP_SYSLOG when dmesg_restrict is set).
func OpenKernelLog(path string) (*KernelLog, error) {
	if path == "" {
		path = "/dev/kmsg"
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "seek", Path: path, Err: err}
	}
	return &KernelLog{fd: fd}, nil
}

// Close releases the file.
func (k *KernelLog) Close() error { return unix.Close(k.fd) }

// Collect returns the messages containing substr that arrive before ctx ends
// or, once at least want of them arrived, immediately.
func (k *KernelLog) Collect(ctx context.Context, substr string, want int) ([]string, error) {
	buf := make([]byte, 8192)
	var out []string
	for {
		n, err := unix.Read(k.fd, buf)
		switch {
		case err == nil && n > 0:
			if msg := KmsgMessage(string(buf[:n])); strings.Contains(msg, substr) {
				out = append(out, msg)
				if len(out) >= want {
					return out, nil
				}
			}
			continue
		case errors.Is(err, syscall.EPIPE):
			continue // records were overwritten before we read them
		case err != nil && !errors.Is(err, syscall.EAGAIN):
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// KmsgMessage strips the "pri,seq,usec,flags;" header of a /dev/kmsg record
// and its continuation lines.
func KmsgMessage(rec string) string {
	if _, msg, ok := strings.Cut(rec, ";"); ok {
		rec = msg
	}
	rec, _, _ = strings.Cut(rec, "\n")
	return rec
}

// LogField returns the value of KEY=value in a netfilter LOG line.
func LogField(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}
