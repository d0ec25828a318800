// Package config owns nfdhcpd.conf: the model of its sections, the parser
// (the original's INI dialect, inline comments included), the defaults,
// the validation and the errors, which name the section and the key. The
// daemon, its reload and the check, rules, bind and status commands all
// read the file through it.
//
// Unknown sections and keys are logged as warnings, not refused, so that a
// file written for a newer or older daemon still starts it.
package config
