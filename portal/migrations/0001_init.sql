-- The sandbox portal's store. Times are seconds since the Unix epoch.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    phone         TEXT UNIQUE,
    email         TEXT UNIQUE,
    snils         TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    surname       TEXT NOT NULL,
    given_names   TEXT NOT NULL,
    inn           TEXT,
    level         TEXT NOT NULL CHECK (level IN ('simplified', 'standard', 'confirmed')),
    confirmed_at  INTEGER,
    confirmed_by  TEXT
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE challenges (
    nonce      TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    purpose    TEXT NOT NULL,
    origin     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- One row per accepted request: single use of a nonce is enforced here, and a request sent again
-- (same bytes) is answered with the stored response.
CREATE TABLE confirmations (
    id                 TEXT PRIMARY KEY,
    body_sha256        TEXT NOT NULL UNIQUE,
    nonce              TEXT NOT NULL UNIQUE REFERENCES challenges(nonce),
    account_id         TEXT NOT NULL REFERENCES accounts(id),
    purpose            TEXT NOT NULL,
    certificate_sha256 TEXT NOT NULL,
    response           TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);

CREATE TABLE organisations (
    id                TEXT PRIMARY KEY,
    ogrn              TEXT NOT NULL UNIQUE,
    inn               TEXT NOT NULL,
    name              TEXT NOT NULL,
    representative_id TEXT NOT NULL REFERENCES accounts(id),
    confirmation_id   TEXT NOT NULL REFERENCES confirmations(id),
    created_at        INTEGER NOT NULL
);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    account_id TEXT,
    remote     TEXT,
    action     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT
);

CREATE INDEX audit_events_account ON audit_events(account_id, at);
