// Package metrics writes what tsdoctor found as Prometheus metrics in the
// text exposition format, for node_exporter's textfile collector: the
// check's verdict (check --prometheus) and the guard's counters (guard
// --prometheus). A file is replaced atomically, so the collector never reads
// half of one.
package metrics

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Type is a metric family's type as the text format names it.
type Type string

const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
)

// Family is one metric: its name, help, type and samples. A family with no
// samples is still written (HELP and TYPE), so a reader sees it exists.
type Family struct {
	Name    string
	Help    string
	Type    Type
	Samples []Sample
}

// Sample is one series of a family.
type Sample struct {
	Labels []Label
	Value  float64
}

// Label is a name="value" pair.
type Label struct{ Name, Value string }

// L builds labels from name, value pairs.
func L(kv ...string) []Label {
	out := make([]Label, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Label{kv[i], kv[i+1]})
	}
	return out
}

// Bool is 1 for true, 0 for false.
func Bool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Encode writes families in the text exposition format (version 0.0.4).
func Encode(w io.Writer, fams []Family) error {
	var b strings.Builder
	for _, f := range fams {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.Name, escapeHelp(f.Help), f.Name, f.Type)
		for _, s := range f.Samples {
			b.WriteString(f.Name)
			if len(s.Labels) > 0 {
				b.WriteByte('{')
				for i, l := range s.Labels {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(l.Name + `="` + escapeValue(l.Value) + `"`)
				}
				b.WriteByte('}')
			}
			b.WriteString(" " + formatValue(s.Value) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
var valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeValue(s string) string { return valueEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteFile replaces path with the families: a temporary file in the same
// directory (named so the collector's *.prom glob skips it), synced, made
// readable by the collector's user, then renamed over path. A reader sees
// the old file or the new one, never a part.
func WriteFile(path string, fams []Family) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Encode(tmp, fams); err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	// node_exporter runs as its own user: the file must be world-readable
	// (CreateTemp makes it 0600).
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write metrics %s: %w", path, err)
	}
	done = true
	// The rename is durable once the directory is synced; a failure here
	// leaves a complete file either way, so it is not an error.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
