package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalizeUsername lower-cases a username and checks it is 3-32 of
// a-z 0-9 _ . -.
func NormalizeUsername(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) < UsernameMinLen || len(name) > UsernameMaxLen {
		return "", Errorf(EBADUSERNAME, "username must be %d to %d characters", UsernameMinLen, UsernameMaxLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return "", Errorf(EBADUSERNAME, "username may contain only a-z, 0-9, _, . and -")
		}
	}
	return name, nil
}

// cleanLine trims a one-line text (display name, note) and refuses control
// characters and invalid UTF-8. field names the input in the error.
func cleanLine(s, field string, maxRunes int, allowEmpty bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	s = strings.TrimSpace(s)
	if s == "" && !allowEmpty {
		return "", Errorf(EEMPTY, "%s is empty", field)
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return "", Errorf(ETOOLONG, "%s is %d characters; the limit is %d", field, n, maxRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", Errorf(EINVALID, "%s contains control characters", field)
		}
	}
	return s, nil
}

// checkPassword enforces the password rules.
func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < PasswordMinLen {
		return Errorf(EWEAKPASSWORD, "password must be at least %d characters", PasswordMinLen)
	}
	if len(pw) > PasswordMaxLen {
		return Errorf(ETOOLONG, "password is longer than %d bytes", PasswordMaxLen)
	}
	return nil
}

// checkBody enforces the rules for a message text: valid UTF-8, not blank,
// at most MessageMaxLen characters. The body is stored as sent.
func checkBody(body string) error {
	if !utf8.ValidString(body) {
		return Errorf(EINVALID, "message is not valid UTF-8")
	}
	if strings.TrimSpace(body) == "" {
		return Errorf(EEMPTY, "message is empty")
	}
	if n := utf8.RuneCountInString(body); n > MessageMaxLen {
		return Errorf(ETOOLONG, "message is %d characters; the limit is %d", n, MessageMaxLen)
	}
	return nil
}

// checkClientID accepts 1-64 bytes of printable ASCII.
func checkClientID(id string) error {
	if id == "" || len(id) > ClientIDMaxLen {
		return Errorf(EINVALID, "client_id must be 1 to %d characters", ClientIDMaxLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return Errorf(EINVALID, "client_id must be printable ASCII without spaces")
		}
	}
	return nil
}

// checkText enforces the rules for a multi-line text (a description): valid
// UTF-8, at most maxRunes characters, no control characters but newlines and
// tabs.
func checkText(s, field string, maxRunes int) error {
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		return Errorf(ETOOLONG, "%s is %d characters; the limit is %d", field, n, maxRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return Errorf(EINVALID, "%s contains control characters", field)
		}
	}
	return nil
}

// checkSend reports what Send and SendAsync refuse in clientID and body
// before looking at the store.
func checkSend(clientID, body string) error {
	if err := checkClientID(clientID); err != nil {
		return err
	}
	return checkBody(body)
}
