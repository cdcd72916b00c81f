package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/chat"
)

// Codes that exist only at the HTTP layer.
const (
	eUnsupportedMediaType = "unsupported_media_type"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	chat.EINVALID:         http.StatusBadRequest,
	chat.EEMPTY:           http.StatusBadRequest,
	chat.ETOOLONG:         http.StatusBadRequest,
	chat.EBADUSERNAME:     http.StatusBadRequest,
	chat.EWEAKPASSWORD:    http.StatusBadRequest,
	chat.ESELF:            http.StatusBadRequest,
	chat.EUNAUTHORIZED:    http.StatusUnauthorized,
	chat.EBADCREDENTIALS:  http.StatusUnauthorized,
	chat.EFORBIDDEN:       http.StatusForbidden,
	chat.EBADORIGIN:       http.StatusForbidden,
	chat.ENOTFRIEND:       http.StatusForbidden,
	chat.ENOTFOUND:        http.StatusNotFound,
	chat.ECONFLICT:        http.StatusConflict,
	chat.EUSERNAMETAKEN:   http.StatusConflict,
	chat.EALREADYFRIENDS:  http.StatusConflict,
	chat.EREQUESTPENDING:  http.StatusConflict,
	chat.EPAYLOADTOOBIG:   http.StatusRequestEntityTooLarge,
	eUnsupportedMediaType: http.StatusUnsupportedMediaType,
	chat.ERATELIMITED:     http.StatusTooManyRequests,
	chat.ENOTMEMBER:       http.StatusForbidden,
	chat.EMUTED:           http.StatusForbidden,
	chat.EINVITEONLY:      http.StatusForbidden,
	chat.ETEMPOFF:         http.StatusForbidden,
	chat.ENOSHAREDGROUP:   http.StatusForbidden,
	chat.EREFUSED:         http.StatusForbidden,
	chat.ERECALLEXPIRED:   http.StatusForbidden,
	chat.EALREADYMEMBER:   http.StatusConflict,
	chat.EJOINPENDING:     http.StatusConflict,
	chat.EGROUPFULL:       http.StatusConflict,
	chat.EOWNERMUSTSTAY:   http.StatusConflict,
	chat.ENOTIMAGE:        http.StatusUnsupportedMediaType,
	chat.EIMAGETOOLARGE:   http.StatusRequestEntityTooLarge,
	chat.EINTERNAL:        http.StatusInternalServerError,
	chat.EUNAVAILABLE:     http.StatusServiceUnavailable,
}

// HTTPStatus returns the status for an error code (500 for unknown codes).
func HTTPStatus(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Until   *time.Time `json:"until,omitempty"`
}

// internalError answers a panic: what went wrong is in the log only.
var internalError = errorDetail{Code: chat.EINTERNAL, Message: "internal error"}

func detailOf(err error) errorDetail {
	return errorDetail{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err), Until: chat.ErrorUntil(err)}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := chat.ErrorCode(err)
	if code == chat.EINTERNAL {
		if r.Context().Err() != nil {
			// The client hung up; nothing went wrong on our side.
			s.log.Debug("request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
		} else {
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	writeJSON(w, HTTPStatus(code), errorBody{Error: detailOf(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if b, ok := v.(encodedJSON); ok {
		_, _ = w.Write(append(b, '\n')) // as json.Encoder ends a value
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// encodedJSON is a body already encoded, as json.Marshal would: writeJSON
// writes it as it is.
type encodedJSON []byte

// maxBody bounds every JSON request body.
const maxBody = 64 << 10

// decode reads a JSON body into v. The body must be declared as JSON (which
// also keeps cross-site HTML forms out), at most maxBody bytes, one value.
func decode(r *http.Request, w http.ResponseWriter, v any) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return &chat.Error{Code: eUnsupportedMediaType, Message: "the body must be JSON (Content-Type: application/json)"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return chat.Errorf(chat.EINVALID, "the body must hold one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return chat.Errorf(chat.EPAYLOADTOOBIG, "the body is larger than %d bytes", tooBig.Limit)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return chat.Errorf(chat.EINVALID, "%s must be %s", field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return chat.Errorf(chat.EINVALID, "malformed JSON")
	case errors.Is(err, io.EOF):
		return chat.Errorf(chat.EINVALID, "the body is empty")
	}
	return chat.Errorf(chat.EINVALID, "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "true or false"
	case goKind == "struct", goKind == "map":
		return "an object"
	case goKind == "slice":
		return "an array"
	}
	return fmt.Sprintf("of type %s", goKind)
}
