package binding

// A State says whether a binding file is in use.
type State int

const (
	// StatePending: the file is valid but its TAP or INDEV does not exist
	// (yet); the binding becomes active when the interface appears.
	StatePending State = iota
	// StateActive: the binding is in the Snapshot and packets from its TAP
	// are answered.
	StateActive
	// StateInvalid: the file has never parsed; Reason holds the error.
	StateInvalid
)

// String returns the lower-case name of the state, as shown in the status
// view.
func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateActive:
		return "active"
	case StateInvalid:
		return "invalid"
	}
	return "unknown"
}

// A Status describes one binding file for the status view.
//
// A file that parsed once and then turned invalid keeps its last good
// Binding, active or pending as its links allow; Reason then starts with
// "file invalid, keeping the previous binding: " followed by the error. A
// pending binding's Reason names the missing interface.
type Status struct {
	Name     string
	State    State
	Reason   string
	Binding  *Binding // nil when the file has never parsed
	TapIndex int      // 0 unless active
	File     string
}

// keptPrefix starts the Reason of a binding kept despite an invalid file.
const keptPrefix = "file invalid, keeping the previous binding: "
