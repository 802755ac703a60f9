package main

import (
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
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err != nil {
			return stop, usageError{err}
		}
		stops = append(stops, func() { f.Close() })
		if err := pprof.StartCPUProfile(f); err != nil {
			return stop, err
		}
		stops = append(stops, pprof.StopCPUProfile)
	}
	if traceFile != "" {
		f, err := os.Create(traceFile)
		if err != nil {
			return stop, usageError{err}
		}
		stops = append(stops, func() { f.Close() })
		if err := trace.Start(f); err != nil {
			return stop, err
		}
		stops = append(stops, trace.Stop)
	}
	return stop, nil
}
