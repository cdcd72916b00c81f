package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/parleychat/parley/chat"
)

// userColumns lists a user's public columns under alias, in userRow order.
func userColumns(alias string) string {
	return alias + ".id, " + alias + ".username, " + alias + ".display_name, " + alias + ".created_at"
}

// userRow scans the columns of userColumns.
type userRow struct {
	u       chat.User
	created int64
}

func (r *userRow) dest() []any {
	return []any{&r.u.ID, &r.u.Username, &r.u.DisplayName, &r.created}
}

func (r *userRow) user() chat.User {
	u := r.u
	u.CreatedAt = timeFromDB(r.created)
	return u
}

// nullUserRow scans the columns of userColumns for an outer-joined user, who
// may be absent.
type nullUserRow struct {
	id, created           sql.NullInt64
	username, displayName sql.NullString
}

func (r *nullUserRow) dest() []any {
	return []any{&r.id, &r.username, &r.displayName, &r.created}
}

// user returns the scanned user, or nil when the join found none.
func (r *nullUserRow) user() *chat.User {
	if !r.id.Valid {
		return nil
	}
	return &chat.User{ID: r.id.Int64, Username: r.username.String, DisplayName: r.displayName.String,
		CreatedAt: timeFromDB(r.created.Int64)}
}

func (t *readTx) UserByID(ctx context.Context, id int64) (*chat.User, error) {
	var r userRow
	err := t.queryRow(ctx, `SELECT `+userColumns("u")+` FROM users u WHERE u.id = $1`, id).Scan(r.dest()...)
	if err != nil {
		return nil, orNotFound(err, "user", "user by id")
	}
	u := r.user()
	return &u, nil
}

func (t *readTx) AccountByID(ctx context.Context, id int64) (*chat.Account, error) {
	a, err := t.account(ctx, `u.id = $1`, id)
	return a, orNotFound(err, "user", "account by id")
}

func (t *readTx) AccountByUsername(ctx context.Context, username string) (*chat.Account, error) {
	a, err := t.account(ctx, `u.username = $1`, strings.ToLower(username))
	return a, orNotFound(err, "user", "account by username")
}

func (t *readTx) account(ctx context.Context, where string, arg any) (*chat.Account, error) {
	var r userRow
	var a chat.Account
	err := t.queryRow(ctx, `SELECT `+userColumns("u")+`, u.password_hash FROM users u WHERE `+where, arg).
		Scan(append(r.dest(), &a.PasswordHash)...)
	if err != nil {
		return nil, err
	}
	a.User = r.user()
	return &a, nil
}

// likeEscaper makes a user's text literal inside a LIKE pattern with
// ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (t *readTx) SearchUsers(ctx context.Context, query string, afterID int64, limit int) ([]chat.User, error) {
	folded := strings.ToLower(query)
	if folded == "" || limit <= 0 {
		return nil, nil
	}
	// Both sides are folded in Go, so LIKE compares exactly what it is given:
	// SQLite's LIKE would fold ASCII only, PostgreSQL's none.
	pattern := "%" + likeEscaper.Replace(folded) + "%"
	var users []chat.User
	err := t.queryPage(ctx, limit, func(s scanner) error {
		var r userRow
		if err := s.Scan(r.dest()...); err != nil {
			return err
		}
		users = append(users, r.user())
		return nil
	}, `SELECT `+userColumns("u")+` FROM users u
		WHERE u.id > $1 AND (u.username LIKE $2 ESCAPE '\' OR u.display_name_fold LIKE $2 ESCAPE '\')
		ORDER BY u.id`, afterID, pattern)
	return users, wrap(err, "search users")
}

func (t *writeTx) CreateAccount(ctx context.Context, a *chat.Account) error {
	username := strings.ToLower(a.Username)
	err := t.queryRow(ctx, `INSERT INTO users (username, display_name, display_name_fold, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (username) DO NOTHING
		RETURNING id`,
		username, a.DisplayName, strings.ToLower(a.DisplayName), a.PasswordHash, timeToDB(a.CreatedAt),
	).Scan(&a.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Errorf(chat.EUSERNAMETAKEN, "the username %q is taken", username)
	} else if err != nil {
		return wrap(err, "create account")
	}
	a.Username = username
	a.CreatedAt = storedTime(a.CreatedAt)
	return nil
}

func (t *writeTx) SetDisplayName(ctx context.Context, userID int64, name string) error {
	res, err := t.exec(ctx, `UPDATE users SET display_name = $2, display_name_fold = $3 WHERE id = $1`,
		userID, name, strings.ToLower(name))
	return updatedOne(res, err, "user", "set display name")
}

func (t *writeTx) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	res, err := t.exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
	return updatedOne(res, err, "user", "set password hash")
}

// updatedOne returns ENOTFOUND for what when an UPDATE or DELETE matched no
// row.
func updatedOne(res sql.Result, err error, what, op string) error {
	if err != nil {
		return wrap(err, op)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, op)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}
