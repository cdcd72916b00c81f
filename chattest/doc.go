// Package chattest holds the conformance suites that every implementation of
// a chat interface must pass, and MustX helpers for tests that need a store
// filled with users, friendships and messages.
//
// Only tests import it (the _test packages of sqlstore and of the packages
// built on chat). It imports chat and the standard library only, so that it
// judges implementations by the contract alone.
package chattest
