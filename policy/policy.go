package policy

import (
	"fmt"
	"strings"
)

// Policy says what a caller's cancellation does to an operation that is running.
// The zero value is Plain.
type Policy uint8

const (
	// Plain lets a cancellation interrupt op: it is a direct call.
	Plain Policy = iota
	// DeferFlag lets op finish and reports that cancellation was asked for.
	DeferFlag
	// DeferReraise lets op finish, then raises the cancellation again.
	DeferReraise
)

var policyNames = [...]string{Plain: "plain", DeferFlag: "defer-flag", DeferReraise: "defer-reraise"}

// String returns "plain", "defer-flag" or "defer-reraise", or "Policy(n)" for an
// unknown value.
func (p Policy) String() string {
	if p.Valid() {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// Valid reports whether p is one of the three policies.
func (p Policy) Valid() bool { return int(p) < len(policyNames) }

// Deferred reports whether p lets op finish after the caller's cancellation.
func (p Policy) Deferred() bool { return p == DeferFlag || p == DeferReraise }

// MarshalText encodes p as its name. An unknown value is an error.
func (p Policy) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, p.unknown(p.String())
	}
	return []byte(policyNames[p]), nil
}

// UnmarshalText decodes a policy name. An unknown name is an error, matching
// [ErrUnknownPolicy], that lists the valid ones.
func (p *Policy) UnmarshalText(text []byte) error {
	for i, name := range policyNames {
		if string(text) == name {
			*p = Policy(i)
			return nil
		}
	}
	return p.unknown(string(text))
}

func (Policy) unknown(name string) error {
	return fmt.Errorf("%w %q (valid: %s)", ErrUnknownPolicy, name, strings.Join(policyNames[:], ", "))
}
