package main

import (
	"io"
	"os"

	"github.com/tsdoctor/tsdoctor/lab"
)

func cmdLab(args []string, stdout, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return lab.Main(args, self, stdout, stderr)
}
