//! The routes through `app()` with `oneshot`: no socket, a temporary SQLite file, and a trust
//! store that trusts nothing (no request here gets as far as a signature; the signed paths are
//! earned end to end in tests/tests/portal.rs, with the GOST engine).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use protocol::{codes, Level, Purpose};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::store::{self, NewAccount};
use crate::verify::TrustStore;
use crate::{app, AppState, Config, Limits, Retention};

pub(crate) const PASSWORD: &str = "ivanov-sandbox-1";

/// A portal over a fresh database with one standard account, and the directory that holds it.
pub(crate) async fn portal(limits: Limits) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config {
        listen: ([127, 0, 0, 1], 8780).into(),
        database: dir.path().join("portal.db"),
        trust: Vec::new(),
        crls: Vec::new(),
        origin: None,
        limits,
        retention: Retention::default(),
    };
    let state = AppState::with_trust(config, TrustStore::empty())
        .await
        .expect("state");
    let hash = crate::passwords::hash(PASSWORD).expect("hash");
    store::insert_account(
        &state.db,
        &NewAccount {
            id: "acc-ivanov",
            phone: "+79990000001",
            email: "ivanov@example.test",
            snils: Some("54771278218"),
            password_hash: &hash,
            surname: "Иванов",
            given_names: "Иван Иванович",
            inn: Some("773024663310"),
            level: Level::Standard,
        },
    )
    .await
    .expect("account");
    (state, dir)
}

async fn send(state: &AppState, request: Request<Body>) -> (StatusCode, Value) {
    let response = app(state.clone()).oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("a JSON answer")
    };
    (status, body)
}

fn json_request(method: Method, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("request")
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).expect("request")
}

fn confirmation(token: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/confirmations")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request")
}

async fn login(state: &AppState, login: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({ "login": login, "password": password });
    send(
        state,
        json_request(Method::POST, "/api/v1/sessions", None, &body),
    )
    .await
}

async fn token(state: &AppState) -> String {
    let (status, body) = login(state, "+7 999 000-00-01", PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

fn assert_refused(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(answer.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

async fn audited(state: &AppState, action: &str, outcome: &str) -> bool {
    let events = store::audit_events(&state.db).await.expect("audit");
    events.iter().any(|(a, o)| a == action && o == outcome)
}

#[tokio::test]
async fn health_answers() {
    let (state, _dir) = portal(Limits::default()).await;
    let (status, body) = send(&state, get("/api/v1/health", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn a_good_password_opens_a_session_by_phone_email_or_snils() {
    let (state, _dir) = portal(Limits::default()).await;
    for name in [
        "+7 (999) 000-00-01",
        " Ivanov@Example.TEST",
        "547-712-782 18",
    ] {
        let (status, body) = login(&state, name, PASSWORD).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        assert_eq!(body["account"], "acc-ivanov");
        let token = body["token"].as_str().expect("token");
        assert_eq!(token.len(), 43, "32 bytes in base64url");
        let expires = body["expires_at"].as_str().expect("expires_at");
        assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    }
    assert!(audited(&state, "login", "ok").await);
}

#[tokio::test]
async fn a_bad_password_or_an_unknown_login_is_refused_alike() {
    let (state, _dir) = portal(Limits::default()).await;
    let wrong = login(&state, "+79990000001", "not-the-password").await;
    assert_refused(&wrong, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);
    let unknown = login(&state, "+79990000077", PASSWORD).await;
    assert_refused(&unknown, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);
    // The same words: the answer does not tell whether the login exists.
    assert_eq!(wrong.1, unknown.1);
    assert!(audited(&state, "login", codes::UNAUTHORISED).await);
}

#[tokio::test]
async fn logins_beyond_the_limit_are_refused() {
    let limits = Limits {
        logins_per_minute: 1,
        ..Limits::default()
    };
    let (state, _dir) = portal(limits).await;
    let _ = login(&state, "+79990000001", "wrong").await;
    let answer = login(&state, "+79990000001", PASSWORD).await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED);
}

#[tokio::test]
async fn a_login_body_that_is_not_the_request_is_malformed() {
    let (state, _dir) = portal(Limits::default()).await;
    let extra = json!({ "login": "+79990000001", "password": PASSWORD, "extra": 1 });
    let answer = send(
        &state,
        json_request(Method::POST, "/api/v1/sessions", None, &extra),
    )
    .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, codes::MALFORMED);
    let not_json = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sessions")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("login=+79990000001"))
        .expect("request");
    let answer = send(&state, not_json).await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, codes::MALFORMED);
}

#[tokio::test]
async fn the_account_shows_its_level_and_person() {
    let (state, _dir) = portal(Limits::default()).await;
    let token = token(&state).await;
    let (status, body) = send(&state, get("/api/v1/account", Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "id": "acc-ivanov",
            "level": "standard",
            "person": {
                "surname": "Иванов",
                "given_names": "Иван Иванович",
                "snils": "54771278218",
                "inn": "773024663310",
            },
            "organisations": [],
        })
    );
}

#[tokio::test]
async fn without_a_live_session_nothing_but_login_is_served() {
    let (state, _dir) = portal(Limits::default()).await;
    let answer = send(&state, get("/api/v1/account", None)).await;
    assert_refused(&answer, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);
    let answer = send(&state, get("/api/v1/account", Some("made-up"))).await;
    assert_refused(&answer, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);
    let body = json!({ "purpose": "confirm-identity" });
    let answer = send(
        &state,
        json_request(Method::POST, "/api/v1/challenges", Some("made-up"), &body),
    )
    .await;
    assert_refused(&answer, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);
    let answer = send(
        &state,
        confirmation("made-up", protocol::CMS_CONTENT_TYPE, vec![0x30]),
    )
    .await;
    assert_refused(&answer, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);

    // A session ends with logout.
    let token = token(&state).await;
    let logout = Request::builder()
        .method(Method::DELETE)
        .uri("/api/v1/sessions/current")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let (status, _) = send(&state, logout).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let answer = send(&state, get("/api/v1/account", Some(&token))).await;
    assert_refused(&answer, StatusCode::UNAUTHORIZED, codes::UNAUTHORISED);
}

#[tokio::test]
async fn a_challenge_is_issued_for_a_purpose_and_this_portal() {
    let (state, _dir) = portal(Limits::default()).await;
    let token = token(&state).await;
    let body = json!({ "purpose": "register-organisation" });
    let (status, answer) = send(
        &state,
        json_request(Method::POST, "/api/v1/challenges", Some(&token), &body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["purpose"], "register-organisation");
    assert_eq!(answer["origin"], "http://127.0.0.1:8780");
    let nonce = answer["nonce"].as_str().expect("nonce");
    let row = store::challenge_by_nonce(&state.db, nonce)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(row.account, "acc-ivanov");
    assert_eq!(row.purpose, Purpose::RegisterOrganisation.as_str());
    assert_eq!(row.expires_at - row.created_at, 300);
    assert_eq!(row.used_at, None);
    assert_eq!(
        answer["expires_at"],
        protocol::timestamp_unix(row.expires_at)
    );
    assert!(audited(&state, "challenge", "ok").await);

    let unknown = json!({ "purpose": "sign-anything" });
    let refused = send(
        &state,
        json_request(Method::POST, "/api/v1/challenges", Some(&token), &unknown),
    )
    .await;
    assert_refused(&refused, StatusCode::BAD_REQUEST, codes::MALFORMED);
}

#[tokio::test]
async fn a_confirmation_body_that_is_not_a_signed_request_is_malformed() {
    let (state, _dir) = portal(Limits::default()).await;
    let token = token(&state).await;
    let answer = send(
        &state,
        confirmation(
            &token,
            protocol::CMS_CONTENT_TYPE,
            b"not DER at all".to_vec(),
        ),
    )
    .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, codes::MALFORMED);
    assert!(answer.1["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("The signed request is malformed")));
    assert!(audited(&state, "confirmation", codes::MALFORMED).await);
}

#[tokio::test]
async fn a_confirmation_of_another_content_type_is_malformed() {
    let (state, _dir) = portal(Limits::default()).await;
    let token = token(&state).await;
    let answer = send(
        &state,
        confirmation(&token, "application/json", b"{}".to_vec()),
    )
    .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, codes::MALFORMED);
    assert_eq!(
        answer.1["message"],
        "Send the signed request as application/pkcs7-mime (DER)."
    );
    // Parameters after the type are fine: the body is then read as CMS (and is not).
    let answer = send(
        &state,
        confirmation(
            &token,
            "application/pkcs7-mime; smime-type=signed-data",
            vec![0x30],
        ),
    )
    .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, codes::MALFORMED);
    assert_ne!(
        answer.1["message"],
        "Send the signed request as application/pkcs7-mime (DER)."
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_too_large() {
    let (state, _dir) = portal(Limits::default()).await;
    let token = token(&state).await;
    let big = vec![0x30; 64 * 1024 + 1];
    let answer = send(
        &state,
        confirmation(&token, protocol::CMS_CONTENT_TYPE, big),
    )
    .await;
    assert_refused(&answer, StatusCode::PAYLOAD_TOO_LARGE, codes::TOO_LARGE);
    let padded = json!({ "login": "+79990000001", "password": "x".repeat(64 * 1024) });
    let answer = send(
        &state,
        json_request(Method::POST, "/api/v1/sessions", None, &padded),
    )
    .await;
    assert_refused(&answer, StatusCode::PAYLOAD_TOO_LARGE, codes::TOO_LARGE);
}

#[tokio::test]
async fn confirmations_beyond_the_limit_are_refused() {
    let limits = Limits {
        confirmations_per_minute: 1,
        ..Limits::default()
    };
    let (state, _dir) = portal(limits).await;
    let token = token(&state).await;
    let _ = send(
        &state,
        confirmation(&token, protocol::CMS_CONTENT_TYPE, vec![0x30]),
    )
    .await;
    let answer = send(
        &state,
        confirmation(&token, protocol::CMS_CONTENT_TYPE, vec![0x30]),
    )
    .await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED);
}

#[tokio::test]
async fn unknown_endpoints_and_methods_are_not_found() {
    let (state, _dir) = portal(Limits::default()).await;
    let answer = send(&state, get("/api/v1/nowhere", None)).await;
    assert_refused(&answer, StatusCode::NOT_FOUND, codes::NOT_FOUND);
    let answer = send(&state, get("/api/v1/confirmations", None)).await;
    assert_refused(&answer, StatusCode::NOT_FOUND, codes::NOT_FOUND);
}

async fn ask_challenge(state: &AppState, token: &str) -> (StatusCode, Value) {
    let body = json!({ "purpose": "confirm-identity" });
    send(
        state,
        json_request(Method::POST, "/api/v1/challenges", Some(token), &body),
    )
    .await
}

#[tokio::test]
async fn challenges_beyond_the_limit_are_refused() {
    let limits = Limits {
        challenges_per_minute: 2,
        ..Limits::default()
    };
    let (state, _dir) = portal(limits).await;
    let token = token(&state).await;
    for _ in 0..2 {
        assert_eq!(ask_challenge(&state, &token).await.0, StatusCode::CREATED);
    }
    let answer = ask_challenge(&state, &token).await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMITED);
    assert!(audited(&state, "challenge", codes::RATE_LIMITED).await);
    let (_, challenges, _) = store::swept_table_rows(&state.db).await.expect("rows");
    assert_eq!(challenges, 2, "a refused challenge is not stored");
}

/// The sweep deletes expired sessions, challenges expired longer than the margin that no request
/// used, and audit rows past their retention; what is still needed stays.
#[tokio::test]
async fn the_sweep_keeps_what_is_needed_and_deletes_the_rest() {
    let (state, _dir) = portal(Limits::default()).await;
    let retention = Retention {
        expired_challenges: std::time::Duration::from_secs(600),
        audit: std::time::Duration::from_secs(86_400),
        sweep_interval: std::time::Duration::from_secs(60),
    };
    let t = 1_800_000_000;
    let challenge = |nonce: &str, expires_at: i64| store::ChallengeRow {
        nonce: nonce.into(),
        account: "acc-ivanov".into(),
        purpose: Purpose::ConfirmIdentity.as_str().into(),
        origin: "http://127.0.0.1:8780".into(),
        created_at: expires_at - 300,
        expires_at,
        used_at: None,
    };
    for row in [
        challenge("live", t + 100),
        challenge("expired-recently", t - 599),
        challenge("expired-long-ago", t - 601),
        challenge("used-long-ago", t - 5000),
    ] {
        store::insert_challenge(&state.db, &row)
            .await
            .expect("challenge");
    }
    let applied = store::apply_confirmation(
        &state.db,
        &store::Acceptance {
            request: "request-1",
            body_sha256: "body",
            nonce: "used-long-ago",
            account: "acc-ivanov",
            purpose: Purpose::ConfirmIdentity,
            certificate_sha256: "certificate",
            organisation: None,
            now: t - 5200,
        },
    )
    .await
    .expect("apply");
    assert!(matches!(applied, store::Applied::Accepted(_)));
    store::insert_session(&state.db, "live", "acc-ivanov", t - 10, t + 10)
        .await
        .expect("session");
    store::insert_session(&state.db, "expired", "acc-ivanov", t - 4000, t)
        .await
        .expect("session");
    store::audit(&state.db, t - 86_399, None, "here", "login", "ok", None).await;
    store::audit(&state.db, t - 86_401, None, "here", "login", "ok", None).await;

    let swept = crate::sweep(&state.db, &retention, t).await.expect("sweep");
    assert_eq!(
        swept,
        store::Swept {
            sessions: 1,
            challenges: 1,
            audit_events: 1,
        }
    );
    for (nonce, kept) in [
        ("live", true),
        ("expired-recently", true),
        ("expired-long-ago", false),
        ("used-long-ago", true),
    ] {
        let row = store::challenge_by_nonce(&state.db, nonce)
            .await
            .expect("read");
        assert_eq!(row.is_some(), kept, "{nonce}");
    }
    assert_eq!(
        store::account_by_token(&state.db, "live", t)
            .await
            .expect("read"),
        Some("acc-ivanov".into())
    );
    // A second sweep finds nothing more.
    let again = crate::sweep(&state.db, &retention, t).await.expect("sweep");
    assert_eq!(again, store::Swept::default());
}

/// Whether a login exists must not show in how long the refusal takes: a wrong password for a
/// known login and any password for an unknown one cost one Argon2 verification each. Compares
/// the medians of the two in one run, as a ratio (a timing, so run by hand, not a unit test that
/// a slow machine could fail):
/// `cargo nextest run -p portal --run-ignored only -E 'test(login_timing)' --no-capture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing measurement; run it by hand"]
async fn login_timing_does_not_tell_whether_a_login_exists() {
    const ROUNDS: usize = 41;
    let limits = Limits {
        logins_per_minute: 1_000_000,
        ..Limits::default()
    };
    let (state, _dir) = portal(limits).await;
    let median = |mut times: Vec<std::time::Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, so that whatever else the machine does falls on both alike.
    for round in 0..ROUNDS {
        let started = std::time::Instant::now();
        let answer = login(&state, "+79990000001", "not-the-password").await;
        known.push(started.elapsed());
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
        let started = std::time::Instant::now();
        let answer = login(&state, &format!("+7999555{round:04}"), "not-the-password").await;
        unknown.push(started.elapsed());
        assert_eq!(answer.0, StatusCode::UNAUTHORIZED);
    }
    let (known, unknown) = (median(known), median(unknown));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    println!(
        "login refusal, median of {ROUNDS}: known login with a wrong password {known:?}, \
         unknown login {unknown:?}; unknown/known = {ratio:.2}"
    );
    assert!(
        (0.8..1.25).contains(&ratio),
        "an unknown login is told apart by its time: ratio {ratio:.2}"
    );
}
