// Package clusterpb is the generated protobuf code of what crosses between the
// members of a cluster that have installed github.com/quiesce/quiesce/cluster
// (leave.proto). Only that package uses it.
package clusterpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative leave.proto
