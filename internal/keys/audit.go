package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/ferrygw/ferry/internal/store"
)

// Entry is one admin action in the audit log: who, what, when, from where.
type Entry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // the acting key's name (admin_key, admin_token, or a managed key)
	Role   string    `json:"role"`   // its role
	Action string    `json:"action"` // the route, as "POST /admin/keys"
	Target string    `json:"target,omitempty"`
	Remote string    `json:"remote"` // the client's address
	Status int       `json:"status"` // the answer's HTTP status
	Detail string    `json:"detail,omitempty"`
}

// Audit writes e (At defaults to now).
func (r *Repo) Audit(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = r.now()
	}
	_, err := r.st.Exec(ctx, nil, `INSERT INTO audit_log (at, actor, role, action, target, remote, status, detail) VALUES (?,?,?,?,?,?,?,?)`,
		store.Micros(e.At), e.Actor, e.Role, e.Action, e.Target, e.Remote, e.Status, e.Detail)
	if err != nil {
		return fmt.Errorf("keys: audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest limit entries, newest first.
func (r *Repo) AuditLog(ctx context.Context, limit int) ([]Entry, error) {
	rows, err := r.st.Query(ctx, nil, `SELECT at, actor, role, action, target, remote, status, detail FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("keys: audit log: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var (
			e  Entry
			at int64
		)
		if err := rows.Scan(&at, &e.Actor, &e.Role, &e.Action, &e.Target, &e.Remote, &e.Status, &e.Detail); err != nil {
			return nil, fmt.Errorf("keys: audit log: %w", err)
		}
		e.At = store.Time(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
