package sqlstore_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/sqlstore"
)

// TestMigrationGroups upgrades a database that version 1 filled, checks that
// its data reads as before, then reverts to version 1 and upgrades again.
func TestMigrationGroups(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parley.db")
	withProvider := func(fn func(raw *sql.DB, p *goose.Provider)) {
		t.Helper()
		withSQLiteMigrations(t, path, fn)
	}
	exec := func(raw *sql.DB, query string) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	withProvider(func(raw *sql.DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 1); err != nil {
			t.Fatalf("UpTo(1): %v", err)
		}
		exec(raw, `INSERT INTO users (id, username, display_name, display_name_fold, password_hash, created_at)
			VALUES (1, 'alice', 'Alice', 'alice', 'x', 0), (2, 'bob', 'Bob', 'bob', 'x', 0)`)
		exec(raw, `INSERT INTO conversations (id, kind, last_seq, created_at, user_lo, user_hi) VALUES (1, 'direct', 1, 0, 1, 2)`)
		exec(raw, `INSERT INTO conversation_members (conversation_id, user_id, last_read_seq) VALUES (1, 1, 1), (1, 2, 0)`)
		exec(raw, `INSERT INTO messages (conversation_id, seq, sender_id, client_id, kind, body, created_at)
			VALUES (1, 1, 1, 'c1', 'text', 'hi', 0)`)
	})

	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	err = db.View(ctx, func(tx chat.ReadTx) error {
		if m, err := tx.Membership(ctx, 1, 2); err != nil || m.FromSeq != 1 || m.LastReadSeq != 0 {
			t.Errorf("bob's membership after the upgrade: got %+v (error %v), want FromSeq 1, LastReadSeq 0", m, err)
		}
		if m, err := tx.MessageByClientID(ctx, 1, 1, "c1"); err != nil || m.Data != nil || m.Body != "hi" {
			t.Errorf("message after the upgrade: got %+v (error %v), want body hi and no data", m, err)
		}
		list, err := tx.Conversations(ctx, 2)
		if err != nil || len(list) != 1 || list[0].Unread != 1 || list[0].Peer == nil || list[0].GroupID != 0 {
			t.Errorf("bob's conversations after the upgrade: got %+v (error %v), want one, unread 1, with alice", list, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	err = db.Update(ctx, func(tx chat.Tx) error {
		if c, err := tx.CreateDirectConversation(ctx, 2, 1, time.Now()); err != nil || c.ID != 1 {
			t.Errorf("CreateDirectConversation after the upgrade: got %+v (error %v), want the existing one", c, err)
		}
		g := &chat.Group{Number: "1", Name: "G", JoinPolicy: chat.JoinOpen, MemberLimit: 5, OwnerID: 1, CreatedAt: time.Now()}
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		if err := tx.AddGroupMember(ctx, g.ID, 1, chat.RoleOwner, time.Now()); err != nil {
			return err
		}
		if _, err := tx.CreateTempConversation(ctx, 1, 2, g.ID, time.Now()); err != nil {
			return err
		}
		m := &chat.Message{ConversationID: g.ConversationID, SenderID: 1, ClientID: "s", Kind: chat.MessageSystem,
			Data: []byte(`{"action":"created"}`), CreatedAt: time.Now()}
		return tx.AppendMessage(ctx, m)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	withProvider(func(raw *sql.DB, p *goose.Provider) {
		if _, err := p.DownTo(ctx, 1); err != nil {
			t.Fatalf("DownTo(1): %v", err)
		}
		var conversations, messages int
		if err := raw.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages)`).
			Scan(&conversations, &messages); err != nil {
			t.Fatal(err)
		}
		if conversations != 1 || messages != 1 {
			t.Errorf("after reverting: got %d conversations and %d messages, want the direct one and its message", conversations, messages)
		}
		// Version 1's index is back: any second conversation of a pair collides.
		if _, err := raw.ExecContext(ctx, `INSERT INTO conversations (kind, last_seq, created_at, user_lo, user_hi) VALUES ('other', 0, 0, 1, 2)`); err == nil {
			t.Errorf("a second conversation of a pair after reverting: got no error, want the unique index to refuse it")
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("Up after reverting: %v", err)
		}
	})
}

// TestMigrationRecalledBlobs upgrades a database with an attachment of a
// recalled message and one of a message that stands: the first is left for
// the sweeper (its blobs may have outlived a failed delete), the second not.
// Then it reverts to version 5 and upgrades again.
func TestMigrationRecalledBlobs(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "parley.db")
	migrate := func(fn func(raw *sql.DB, p *goose.Provider)) {
		t.Helper()
		withSQLiteMigrations(t, path, fn)
	}
	recalledAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	migrate(func(raw *sql.DB, p *goose.Provider) {
		if _, err := p.UpTo(ctx, 5); err != nil {
			t.Fatalf("UpTo(5): %v", err)
		}
		for _, q := range []string{
			`INSERT INTO users (id, username, display_name, display_name_fold, password_hash, created_at)
				VALUES (1, 'alice', 'Alice', 'alice', 'x', 0), (2, 'bob', 'Bob', 'bob', 'x', 0)`,
			`INSERT INTO conversations (id, kind, last_seq, created_at, user_lo, user_hi) VALUES (1, 'direct', 2, 0, 1, 2)`,
			`INSERT INTO conversation_members (conversation_id, user_id, last_read_seq) VALUES (1, 1, 2), (1, 2, 0)`,
			`INSERT INTO messages (conversation_id, seq, sender_id, client_id, kind, body, created_at, recalled_at, recalled_by)
				VALUES (1, 1, 1, 'c1', 'image', '', 0, ` + fmt.Sprint(recalledAt.UnixMicro()) + `, 1),
				(1, 2, 1, 'c2', 'image', 'b.png', 0, NULL, NULL)`,
			`INSERT INTO attachments (id, conversation_id, seq, uploader_id, kind, name, mime, blob_key, thumb_key, created_at)
				VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 1, 1, 1, 'image', 'a.png', 'image/png', 'AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA.thumb', 0),
				('BBBBBBBBBBBBBBBBBBBBBB', 1, 2, 1, 'image', 'b.png', 'image/png', 'BBBBBBBBBBBBBBBBBBBBBB', 'BBBBBBBBBBBBBBBBBBBBBB.thumb', 0)`,
		} {
			if _, err := raw.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	})

	db, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	err = db.View(ctx, func(tx chat.ReadTx) error {
		list, err := tx.RecalledAttachments(ctx, 10)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].ID != "AAAAAAAAAAAAAAAAAAAAAA" || list[0].RecalledAt == nil ||
			!list[0].RecalledAt.Equal(recalledAt) || list[0].BlobsDeletedAt != nil {
			t.Errorf("RecalledAttachments after the upgrade: got %+v, want the recalled message's, recalled at %v", list, recalledAt)
		}
		if b, err := tx.AttachmentByID(ctx, "BBBBBBBBBBBBBBBBBBBBBB"); err != nil || b.RecalledAt != nil {
			t.Errorf("the standing message's attachment after the upgrade: got %+v, %v; want no RecalledAt", b, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	migrate(func(raw *sql.DB, p *goose.Provider) {
		if _, err := p.DownTo(ctx, 5); err != nil {
			t.Fatalf("DownTo(5): %v", err)
		}
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM attachments`).Scan(&n); err != nil || n != 2 {
			t.Errorf("attachments after reverting: got %d, %v; want 2", n, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("Up after reverting: %v", err)
		}
	})
}

// withSQLiteMigrations opens the SQLite file at path with the driver the
// store registers, and the pragma that matters to migrations (the Down
// sections must work with foreign keys on), and hands fn a goose provider
// of the package's migrations.
func withSQLiteMigrations(t *testing.T, path string, fn func(raw *sql.DB, p *goose.Provider)) {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, os.DirFS("migrations/sqlite"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	fn(raw, p)
}
