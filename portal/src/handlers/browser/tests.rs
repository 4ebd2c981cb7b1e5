//! The browser page's routes through `app()` with `oneshot`: login by form and cookie, CSRF and
//! origin refusals, the pages in both languages, challenges. A trust store that trusts nothing: a
//! signature accepted is earned end to end in tests/tests/portal_browser.rs, with the GOST engine.

use axum::body::Body;
use axum::http::{header, Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use protocol::codes;
use serde_json::Value;
use tower::ServiceExt;

use super::{CSRF_HEADER, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::FORBIDDEN;
use crate::store;
use crate::{app, AppState, Limits};

use crate::routes::tests::PASSWORD;
const ORIGIN: &str = "http://127.0.0.1:8780";

/// A portal over a fresh database with one standard account (the routes' tests' own).
async fn portal() -> (AppState, tempfile::TempDir) {
    crate::routes::tests::portal(Limits::default()).await
}

async fn send(state: &AppState, request: Request<Body>) -> (Response<()>, String) {
    let response = app(state.clone()).oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        Response::from_parts(parts, ()),
        String::from_utf8(bytes.to_vec()).expect("utf-8"),
    )
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie(response: &Response<()>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .expect("a cookie value")
}

/// The value of `<input name="csrf" value="…">` or `<meta name="csrf-token" content="…">`.
fn page_csrf(html: &str) -> String {
    for marker in ["name=\"csrf\" value=\"", "name=\"csrf-token\" content=\""] {
        if let Some(rest) = html.split(marker).nth(1) {
            return rest.split('"').next().expect("value").to_owned();
        }
    }
    panic!("no CSRF token in the page");
}

fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::empty()).expect("request")
}

fn form_post(
    uri: &str,
    cookie: &str,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Request<Body> {
    let body: String = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie);
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(Body::from(body)).expect("request")
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn json_post(uri: &str, cookie: Option<&str>, csrf: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    if let Some(csrf) = csrf {
        builder = builder.header(CSRF_HEADER, csrf);
    }
    builder.body(Body::from(body.to_owned())).expect("request")
}

/// Logs in through the form as a browser does; returns the session cookie (`name=value`).
async fn log_in(state: &AppState) -> String {
    let (page, html) = send(state, get("/login", None)).await;
    let login_cookie = set_cookie(&page, LOGIN_CSRF_COOKIE).expect("the form's cookie");
    let cookie = format!("{LOGIN_CSRF_COOKIE}={}", cookie_value(&login_cookie));
    let (response, _) = send(
        state,
        form_post(
            "/login",
            &cookie,
            Some(ORIGIN),
            &[
                ("login", "+7 999 000-00-01"),
                ("password", PASSWORD),
                ("csrf", &page_csrf(&html)),
                ("lang", "en"),
            ],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/confirm?lang=en");
    let session = set_cookie(&response, SESSION_COOKIE).expect("a session cookie");
    format!("{SESSION_COOKIE}={}", cookie_value(&session))
}

/// The confirmation page's CSRF token for this session.
async fn confirm_csrf(state: &AppState, session: &str) -> String {
    let (response, html) = send(state, get("/confirm", Some(session))).await;
    assert_eq!(response.status(), StatusCode::OK);
    page_csrf(&html)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("JSON")
}

#[tokio::test]
async fn the_login_page_lists_the_sandbox_accounts_in_russian_or_english() {
    let (state, _dir) = portal().await;
    let (response, ru) = send(&state, get("/login", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(ru.contains("<html lang=\"ru\">"));
    for id in [
        "login-form",
        "login",
        "password",
        "login-submit",
        "accounts",
        "lang-switch",
    ] {
        assert!(ru.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(!ru.contains("id=\"login-error\""));
    // Every test person is listed with the password that opens their account.
    for account in testdata::accounts() {
        assert!(ru.contains(&account.phone), "{}", account.phone);
        assert!(ru.contains(&account.password), "{}", account.name);
    }
    let cookie = set_cookie(&response, LOGIN_CSRF_COOKIE).expect("cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(cookie_value(&cookie), page_csrf(&ru));
    assert!(response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp")
        .contains("script-src 'self'"));

    let (_, en) = send(&state, get("/login?lang=en", None)).await;
    assert!(en.contains("<html lang=\"en\">"));
    assert_ne!(ru.split("<form").next(), en.split("<form").next());
    let by_header = Request::builder()
        .uri("/login")
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .body(Body::empty())
        .expect("request");
    let (_, en) = send(&state, by_header).await;
    assert!(en.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn the_form_logs_in_with_an_httponly_strict_session_cookie() {
    let (state, _dir) = portal().await;
    let (page, html) = send(&state, get("/login", None)).await;
    let login_cookie = format!(
        "{LOGIN_CSRF_COOKIE}={}",
        cookie_value(&set_cookie(&page, LOGIN_CSRF_COOKIE).expect("cookie"))
    );
    let csrf = page_csrf(&html);
    let (response, _) = send(
        &state,
        form_post(
            "/login",
            &login_cookie,
            None,
            &[
                ("login", "ivanov@example.test"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&response, SESSION_COOKIE).expect("session");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
        assert!(session.contains(attribute), "{session}");
    }
    // The token is the API's: a session of the same table.
    let token = cookie_value(&session);
    let hash = super::token_sha256(&token);
    assert_eq!(
        store::account_by_token(&state.db, &hash, crate::now())
            .await
            .expect("db")
            .as_deref(),
        Some("acc-ivanov")
    );
    // The page shows the account.
    let cookie = format!("{SESSION_COOKIE}={token}");
    let (response, html) = send(&state, get("/confirm?lang=en", Some(&cookie))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("<dd id=\"account-name\">Иванов Иван Иванович</dd>"));
    assert!(html.contains("id=\"level\" data-level=\"standard\">standard<"));
    for id in [
        "status",
        "plugin-missing",
        "retry",
        "cert-list",
        "cert-details",
        "pin",
        "sign",
        "error",
        "logout-form",
        "lang-switch",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("src=\"/assets/ifcplugin.js\""));
}

#[tokio::test]
async fn a_wrong_password_or_a_forged_form_is_refused_on_the_page() {
    let (state, _dir) = portal().await;
    let (page, html) = send(&state, get("/login", None)).await;
    let value = cookie_value(&set_cookie(&page, LOGIN_CSRF_COOKIE).expect("cookie"));
    let cookie = format!("{LOGIN_CSRF_COOKIE}={value}");
    let csrf = page_csrf(&html);
    let login =
        |password: &'static str, csrf: String, cookie: String, origin: Option<&'static str>| {
            form_post(
                "/login",
                &cookie,
                origin,
                &[
                    ("login", "+79990000001"),
                    ("password", password),
                    ("csrf", &csrf),
                ],
            )
        };
    let (response, html) = send(&state, login("wrong", csrf.clone(), cookie.clone(), None)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(html.contains("id=\"login-error\""));
    assert!(set_cookie(&response, SESSION_COOKIE).is_none());
    // Without the form's cookie, with another token, or from another site: no session.
    for (cookie, csrf, origin) in [
        ("other=1".to_owned(), csrf.clone(), None),
        (cookie.clone(), "forged".to_owned(), None),
        (cookie.clone(), csrf.clone(), Some("https://evil.example")),
    ] {
        let (response, html) = send(&state, login(PASSWORD, csrf, cookie, origin)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(html.contains("id=\"login-error\""));
        assert!(set_cookie(&response, SESSION_COOKIE).is_none());
    }
    // The refused password is audited as the API's is.
    let events = store::audit_events(&state.db).await.expect("audit");
    assert!(events
        .iter()
        .any(|(a, o)| a == "login" && o == codes::UNAUTHORISED));
}

#[tokio::test]
async fn without_a_session_the_page_sends_to_login_and_the_calls_are_unauthorised() {
    let (state, _dir) = portal().await;
    let (response, _) = send(&state, get("/confirm?lang=en", None)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login?lang=en");
    let (response, _) = send(&state, get("/", None)).await;
    assert_eq!(response.headers()[header::LOCATION], "/confirm");
    let forged = format!("{SESSION_COOKIE}=made-up");
    for uri in ["/confirm/challenge", "/confirm/signature"] {
        let (response, body) = send(
            &state,
            json_post(uri, Some(&forged), Some("x"), "{\"sign_value\":\"MA==\"}"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(json(&body)["code"], codes::UNAUTHORISED);
        // A bearer token is not a browser session.
        let (response, _) = send(&state, json_post(uri, None, None, "{}")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
    }
}

#[tokio::test]
async fn the_pages_calls_need_the_sessions_csrf_token_and_this_origin() {
    let (state, _dir) = portal().await;
    let session = log_in(&state).await;
    let csrf = confirm_csrf(&state, &session).await;
    let other_session = log_in(&state).await;
    let others_csrf = confirm_csrf(&state, &other_session).await;
    assert_ne!(csrf, others_csrf);
    for uri in ["/confirm/challenge", "/confirm/signature"] {
        for token in [None, Some("forged"), Some(others_csrf.as_str())] {
            let (response, body) = send(
                &state,
                json_post(uri, Some(&session), token, "{\"sign_value\":\"MA==\"}"),
            )
            .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{uri} {token:?}");
            assert_eq!(json(&body)["code"], FORBIDDEN);
        }
        let mut request = json_post(uri, Some(&session), Some(&csrf), "{}");
        request.headers_mut().insert(
            header::ORIGIN,
            "https://evil.example".parse().expect("origin"),
        );
        let (response, _) = send(&state, request).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{uri}");
    }
    // Nothing was issued on the way.
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM challenges")
        .fetch_one(&state.db)
        .await
        .expect("count");
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn a_challenge_is_text_that_names_portal_account_purpose_and_nonce() {
    let (state, _dir) = portal().await;
    let session = log_in(&state).await;
    let csrf = confirm_csrf(&state, &session).await;
    let mut request = json_post("/confirm/challenge", Some(&session), Some(&csrf), "");
    request
        .headers_mut()
        .insert(header::ORIGIN, ORIGIN.parse().expect("origin"));
    let (response, body) = send(&state, request).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{body}");
    let body = json(&body);
    let text = body["challenge"].as_str().expect("challenge");
    let nonce = crate::checks::challenge_nonce(text.as_bytes()).expect("nonce");
    let row = store::challenge_by_nonce(&state.db, nonce)
        .await
        .expect("db")
        .expect("stored");
    assert_eq!(row.account, "acc-ivanov");
    assert_eq!(row.purpose, "confirm-identity");
    assert_eq!(row.origin, ORIGIN);
    assert_eq!(text, crate::checks::challenge_text(&row));
    assert_eq!(body["expires_at"], protocol::timestamp_unix(row.expires_at));
}

#[tokio::test]
async fn a_sign_value_that_is_not_a_signature_is_malformed() {
    let (state, _dir) = portal().await;
    let session = log_in(&state).await;
    let csrf = confirm_csrf(&state, &session).await;
    for body in [
        "{\"sign_value\":\"not base64!\"}",
        "{\"sign_value\":\"MAo=\"}",
        "{\"sign_value\":1}",
        "{\"other\":\"MA==\"}",
        "not json",
    ] {
        let (response, answer) = send(
            &state,
            json_post("/confirm/signature", Some(&session), Some(&csrf), body),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{body}: {answer}"
        );
        assert_eq!(json(&answer)["code"], codes::MALFORMED, "{body}");
    }
    let events = store::audit_events(&state.db).await.expect("audit");
    assert!(events
        .iter()
        .any(|(a, o)| a == "browser-confirmation" && o == codes::MALFORMED));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let (state, _dir) = portal().await;
    let session = log_in(&state).await;
    let csrf = confirm_csrf(&state, &session).await;
    // A forged logout does nothing.
    let (response, _) = send(
        &state,
        form_post("/logout", &session, None, &[("csrf", "forged")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (response, _) = send(&state, get("/confirm", Some(&session))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (response, _) = send(
        &state,
        form_post(
            "/logout",
            &session,
            Some(ORIGIN),
            &[("csrf", &csrf), ("lang", "en")],
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login?lang=en");
    assert!(set_cookie(&response, SESSION_COOKIE).is_some_and(|c| c.contains("Max-Age=0")));
    let (response, _) = send(&state, get("/confirm", Some(&session))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_pages_scripts_and_style_are_served() {
    let (state, _dir) = portal().await;
    for (uri, kind, needle) in [
        ("/assets/ifcplugin.js", "text/javascript", "TO_IFC_EXT"),
        (
            "/assets/confirm.js",
            "text/javascript",
            "/confirm/signature",
        ),
        ("/assets/portal.css", "text/css", "focus-visible"),
    ] {
        let (response, body) = send(&state, get(uri, None)).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert!(response.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with(kind));
        assert!(body.contains(needle), "{uri}");
    }
}
