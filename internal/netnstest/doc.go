// Package netnstest is test support for the namespace tests of this
// module's packages: the rule that a test needing root or a tool skips
// with a reason, except under CI=true where it fails; running setup
// commands; creating uniquely named network namespaces that are deleted
// when the test ends; running code on a thread inside one; and a buffer
// that a daemon's goroutines write while the test reads it.
//
// It is imported only by _test.go files.
package netnstest
