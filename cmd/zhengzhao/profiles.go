package main

import (
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfiles starts a CPU profile (--cpuprofile) and an execution trace
// (--trace) of the whole run into the files named; "" starts neither. The
// returned stop ends both and closes the files.
func startProfiles(cpuFile, traceFile string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for _, p := range []struct {
		file  string
		start func(io.Writer) error
		end   func()
	}{{cpuFile, pprof.StartCPUProfile, pprof.StopCPUProfile}, {traceFile, trace.Start, trace.Stop}} {
		if p.file == "" {
			continue
		}
		f, err := os.Create(p.file)
		if err != nil {
			return stop, usageError{err}
		}
		stops = append(stops, func() { f.Close() })
		if err := p.start(f); err != nil {
			return stop, err
		}
		stops = append(stops, p.end)
	}
	return stop, nil
}
