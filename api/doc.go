// Package api is Parley's HTTP surface: the REST handlers, session
// authentication, rate limits, the live transports on top of package hub
// (WebSocket now; Server-Sent Events and long-polling share the same cursor),
// and the one table that maps chat error codes to HTTP statuses. It serves the
// browser client it is given. Imported by cmd/parley and tests only.
package api
