package chat

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each is a stable machine-readable string; the api package maps
// every code to one HTTP status in a single table.
const (
	EINTERNAL       = "internal"          // anything unexpected; details are logged, not shown
	EINVALID        = "invalid"           // malformed or out-of-range input
	ETOOLONG        = "too_long"          // a field is over its limit
	EEMPTY          = "empty"             // a required text is empty
	EUNAUTHORIZED   = "unauthorized"      // no valid session
	EBADCREDENTIALS = "bad_credentials"   // unknown user or wrong password (never says which)
	EFORBIDDEN      = "forbidden"         // authenticated but not allowed
	ENOTFOUND       = "not_found"         // no such thing, or not visible to the caller
	ECONFLICT       = "conflict"          // the state changed under the caller
	EUSERNAMETAKEN  = "username_taken"    // registration with an existing username
	ESELF           = "self"              // a friend request to oneself
	EALREADYFRIENDS = "already_friends"   // a friend request to a friend
	EREQUESTPENDING = "request_pending"   // a second pending request to the same person
	ENOTFRIEND      = "not_friend"        // sending to someone who is not (or no longer) a friend
	ERATELIMITED    = "rate_limited"      // too many attempts; retry later
	EWEAKPASSWORD   = "weak_password"     // password shorter than the minimum
	EBADUSERNAME    = "bad_username"      // username outside 3-32 of a-z 0-9 _ . -
	EPAYLOADTOOBIG  = "payload_too_large" // a request body over its limit
	EBADORIGIN      = "bad_origin"        // a WebSocket upgrade from another site
	EUNAVAILABLE    = "unavailable"       // the server is shutting down or a dependency is down
)

// Error is an error safe to show a user: a machine code and a message in plain
// words. Internal detail never goes into Message; it is logged instead.
type Error struct {
	Code    string
	Message string
	// Until, when set, is when the condition ends (the end of a mute).
	Until *time.Time
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL for any other non-nil error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err, or "internal error" for
// errors that are not *Error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorUntil returns the Until of err if it is (or wraps) an *Error.
func ErrorUntil(err error) *time.Time {
	var e *Error
	if errors.As(err, &e) {
		return e.Until
	}
	return nil
}
