package shimdir

// ShimGOMAXPROCS is the GOMAXPROCS a shim runs with. A shim is idle nearly
// all the time and its busy moments (a container start, an exec) wait on a
// child process, not on Go code, while a second P costs every shim memory
// for good: with GOMAXPROCS=1 from the start an idle shim running one
// container has ~0.65 MiB less anonymous memory (issue 13).
const ShimGOMAXPROCS = 1

// ShimGODEBUG turns the Go runtime's heap profiling off in shims from the
// first allocation on: nothing ever reads a shim's memory profile, and
// with the default rate (a sample every 512 KiB) the runtime maps a
// 1.4 MB hash table of stacks at the first sample and every later sample
// touches one of its pages for good (issue 13).
const ShimGODEBUG = "memprofilerate=0"
