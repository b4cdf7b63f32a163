package main

import (
	"io"
	"os"

	"github.com/tsdoctor/tsdoctor/lab"
)

func cmdLab(args []string, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	return exitCode(lab.Main(args, self, stdout, stderr))
}
