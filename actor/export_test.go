package actor

// RunUntilSignalWatching is RunUntilSignal with a sync point: watching is called
// once SIGINT and SIGTERM are caught.
var RunUntilSignalWatching = runUntilSignal
