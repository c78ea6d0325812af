package envtest

import "time"

// Blocked is how long an operation may take before a test calls it blocked on a backend.
// It is no speed target: a test using it makes every network timeout a minute or more and
// its backends never answer, so an operation that waited on one takes a minute or forever,
// while one that did not takes microseconds, or a few seconds on a loaded machine. Where a
// test must prove a call returns at its deadline, not merely because of it, it runs in a
// testing/synctest bubble with in-memory backends and compares fake time exactly.
const Blocked = 15 * time.Second
