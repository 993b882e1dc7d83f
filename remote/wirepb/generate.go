// Package wirepb is the generated protobuf code of Quiesce's wire form (wire.proto).
// Only github.com/quiesce/quiesce/remote uses it.
package wirepb

//go:generate protoc --go_out=. --go_opt=paths=source_relative wire.proto
