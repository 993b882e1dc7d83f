package trigger

import (
	"fmt"
	"strings"
)

// Kind says which kind of source fired.
type Kind uint8

const (
	// KindSignal: an operating-system signal arrived ([Signal]).
	KindSignal Kind = iota + 1
	// KindTimeout: a duration passed or a time came ([After], [At]).
	KindTimeout
	// KindCondition: a polled condition held, or panicked ([Condition], [HeapAbove]).
	KindCondition
	// KindManual: a context was cancelled by code ([Context]).
	KindManual
	// KindAllOf: every part of an [AllOf] fired.
	KindAllOf

	lastKind = KindAllOf
)

// name is the kind's text form, or "" for an unknown kind.
func (k Kind) name() string {
	switch k {
	case KindSignal:
		return "signal"
	case KindTimeout:
		return "timeout"
	case KindCondition:
		return "condition"
	case KindManual:
		return "manual"
	case KindAllOf:
		return "all of"
	}
	return ""
}

func (k Kind) String() string {
	if n := k.name(); n != "" {
		return n
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText encodes k as its name; an unknown kind is an error.
func (k Kind) MarshalText() ([]byte, error) {
	if n := k.name(); n != "" {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("trigger: unknown kind %d", uint8(k))
}

// UnmarshalText decodes a kind's name; an unknown name is an error that lists the
// valid ones, and leaves k as it was.
func (k *Kind) UnmarshalText(text []byte) error {
	names := make([]string, 0, lastKind)
	for c := KindSignal; c <= lastKind; c++ {
		if string(text) == c.name() {
			*k = c
			return nil
		}
		names = append(names, c.name())
	}
	return fmt.Errorf("trigger: unknown kind %q (valid: %s)", text, strings.Join(names, ", "))
}
