-- What the sweep deletes by: expired sessions and challenges, old audit rows.

CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX challenges_expires ON challenges(expires_at);
CREATE INDEX audit_events_at ON audit_events(at);
