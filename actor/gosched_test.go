package actor_test

import "runtime"

func runtimeGosched() { runtime.Gosched() }
