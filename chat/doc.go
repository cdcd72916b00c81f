// Package chat is Parley's domain: the types (users, friendships,
// conversations, messages, events), the error codes, and the rules of who may
// do what, in services that depend only on the interfaces declared here
// (Store, Bus, PasswordHasher).
//
// chat imports the standard library only. Storage drivers (sqlstore), buses
// (bus, natsbus), the HTTP layer (api) and the live-connection hub (hub) import
// chat; chat imports none of them.
package chat
