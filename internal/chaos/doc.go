// Package chaos is Quiesce's chaos suite: generated trees of components, stopped every
// way at once, with every invariant checked on each run. See chaos_test.go.
package chaos
