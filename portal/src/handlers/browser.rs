//! The browser page (docs/protocol.md, "The sandbox browser page"): login by a form and a session
//! cookie, the confirmation page, and its two JSON calls (a challenge; the plugin's signature of
//! it). The page's HTML is made in `pages`; the signature is judged by `verify` and
//! `checks::decide_browser` and applied as the API's confirmations are.

use std::sync::Arc;

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::Engine as _;
use protocol::{codes, ConfirmationResult, Level, Purpose};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::session::open_session;
use super::{random_token, token_sha256, Remote};
use crate::checks::{self, BrowserSigned, Facts};
use crate::error::{ApiError, FORBIDDEN};
use crate::pages::{self, Lang, ListedAccount};
use crate::store::{self, ChallengeRow};
use crate::{now, verify, AppState};

/// The session's cookie: the API's session token, which page scripts cannot read (HttpOnly) and
/// other sites cannot make the browser send (SameSite=Strict).
pub const SESSION_COOKIE: &str = "podpis_session";
/// The login form's own CSRF token (double submit: this cookie and the form's `csrf` field).
pub const LOGIN_CSRF_COOKIE: &str = "podpis_login_csrf";
/// The header that carries the session's CSRF token on the page's JSON calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of the cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The session's CSRF token: derived from its token, so that only who holds the cookie's value
/// (the portal, which sees it) can make it, and nothing more is stored.
fn csrf_of(token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"podpis-csrf");
    digest.update(token.as_bytes());
    hex::encode(digest.finalize())
}

/// Equal, in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A POST's `Origin`, when the browser sends one, must be this portal's.
fn from_this_origin(headers: &HeaderMap, state: &AppState) -> bool {
    headers
        .get(header::ORIGIN)
        .is_none_or(|origin| origin.as_bytes() == state.config.origin().as_bytes())
}

fn forbidden() -> ApiError {
    ApiError::new(
        FORBIDDEN,
        "The request lacks the page's CSRF token or comes from another origin; reload the page.",
    )
}

/// The account behind the session cookie, with the session's CSRF token.
pub struct BrowserSession {
    account: String,
    token_sha256: String,
    csrf: String,
}

impl BrowserSession {
    /// A POST of the page: its CSRF token (header or form field) and its origin.
    fn check(&self, headers: &HeaderMap, form_csrf: Option<&str>, state: &AppState) -> bool {
        let given = form_csrf.or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()));
        given.is_some_and(|given| same_secret(given, &self.csrf))
            && from_this_origin(headers, state)
    }
}

impl FromRequestParts<AppState> for BrowserSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorised = || {
            ApiError::new(
                codes::UNAUTHORISED,
                "Log in first: the session is missing or has expired.",
            )
        };
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(unauthorised)?;
        let token_sha256 = token_sha256(token);
        let account = store::account_by_token(&state.db, &token_sha256, now())
            .await?
            .ok_or_else(unauthorised)?;
        Ok(Self {
            account,
            token_sha256,
            csrf: csrf_of(token),
        })
    }
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::choose(query, accept)
}

fn query_lang(query: &Result<Query<LangQuery>, QueryRejection>, headers: &HeaderMap) -> Lang {
    let asked = query.as_ref().ok().and_then(|q| q.lang.as_deref());
    lang_of(asked, headers)
}

/// `; Secure` when the portal is served over HTTPS (the sandbox on loopback is plain HTTP).
fn secure(state: &AppState) -> &'static str {
    if state.config.origin().starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn session_cookie(state: &AppState, token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.config.limits.session_ttl.as_secs(),
        secure(state)
    )
}

fn expired_cookie(state: &AppState, name: &str) -> String {
    format!(
        "{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure(state)
    )
}

/// A page: HTML that may run only the portal's own scripts and styles, is never framed or
/// cached, and sets `cookies`.
fn page(status: StatusCode, html: String, cookies: &[String]) -> Response {
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    for value in cookies {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = Redirect::to(location).into_response();
    for value in cookies {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The sandbox's test accounts, as the login page lists them.
fn login_page(state: &AppState, lang: Lang, status: StatusCode, refusal: Option<&str>) -> Response {
    let accounts = testdata::accounts();
    let names: Vec<String> = accounts
        .iter()
        .map(|a| format!("{} {}", a.surname, a.given_names))
        .collect();
    let listed: Vec<ListedAccount<'_>> = accounts
        .iter()
        .zip(&names)
        .map(|(a, name)| ListedAccount {
            name,
            phone: &a.phone,
            email: &a.email,
            password: &a.password,
            level: match a.level {
                testdata::Level::Simplified => Level::Simplified,
                testdata::Level::Standard => Level::Standard,
                testdata::Level::Confirmed => Level::Confirmed,
            },
        })
        .collect();
    // A fresh CSRF token with every form, in its cookie and in the form.
    let csrf = random_token();
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/login{}",
        secure(state)
    );
    page(
        status,
        pages::login(lang, &csrf, refusal, &listed),
        &[cookie],
    )
}

pub async fn index() -> Redirect {
    Redirect::to("/confirm")
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    login_page(&state, query_lang(&query, &headers), StatusCode::OK, None)
}

/// The login form's fields. No `Debug`: the password stays out of logs.
#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    csrf: String,
    lang: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(form)) = form else {
        let lang = lang_of(None, &headers);
        return Ok(login_page(
            &state,
            lang,
            StatusCode::BAD_REQUEST,
            Some("login.forbidden"),
        ));
    };
    let lang = lang_of(form.lang.as_deref(), &headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if !expected.is_some_and(|e| same_secret(e, &form.csrf)) || !from_this_origin(&headers, &state)
    {
        return Ok(login_page(
            &state,
            lang,
            StatusCode::FORBIDDEN,
            Some("login.forbidden"),
        ));
    }
    match open_session(&state, &remote, &form.login, form.password).await {
        Ok(opened) => Ok(see_other(
            &format!("/confirm?lang={}", lang.code()),
            &[
                session_cookie(&state, &opened.token),
                format!(
                    "{LOGIN_CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0{}",
                    secure(&state)
                ),
            ],
        )),
        Err(e) if e.code == codes::UNAUTHORISED => Ok(login_page(
            &state,
            lang,
            StatusCode::UNAUTHORIZED,
            Some("login.refused"),
        )),
        Err(e) if e.code == codes::RATE_LIMITED => Ok(login_page(
            &state,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            Some("login.rate_limited"),
        )),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
    lang: Option<String>,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Result<BrowserSession, ApiError>,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let form = form.ok().map(|Form(f)| f);
    let lang = lang_of(form.as_ref().and_then(|f| f.lang.as_deref()), &headers);
    if let Ok(session) = session {
        if !session.check(&headers, form.as_ref().map(|f| f.csrf.as_str()), &state) {
            return Err(forbidden());
        }
        store::delete_session(&state.db, &session.token_sha256).await?;
    }
    Ok(see_other(
        &format!("/login?lang={}", lang.code()),
        &[expired_cookie(&state, SESSION_COOKIE)],
    ))
}

pub async fn confirm_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LangQuery>, QueryRejection>,
    session: Result<BrowserSession, ApiError>,
) -> Result<Response, ApiError> {
    let lang = query_lang(&query, &headers);
    let Ok(session) = session else {
        return Ok(see_other(&format!("/login?lang={}", lang.code()), &[]));
    };
    let account = store::account(&state.db, &session.account)
        .await?
        .ok_or_else(|| ApiError::internal("session of a missing account"))?;
    let name = format!("{} {}", account.surname, account.given_names);
    Ok(page(
        StatusCode::OK,
        pages::confirm(lang, &session.csrf, &name, account.level),
        &[],
    ))
}

/// The challenge the page has the plugin sign.
#[derive(Debug, Serialize)]
pub struct BrowserChallenge {
    /// The text to sign, exactly (`checks::challenge_text`).
    pub challenge: String,
    pub expires_at: String,
}

pub async fn challenge(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    session: BrowserSession,
) -> Result<(StatusCode, Json<BrowserChallenge>), ApiError> {
    if !session.check(&headers, None, &state) {
        return Err(forbidden());
    }
    let t = now();
    // Each challenge is a row until it is swept: the API's pace, per account and per address.
    if !state.challenges.allow(&session.account, t) || !state.challenge_addresses.allow(&remote, t)
    {
        store::audit(
            &state.db,
            t,
            Some(&session.account),
            &remote,
            "browser-challenge",
            codes::RATE_LIMITED,
            None,
        )
        .await;
        return Err(ApiError::new(
            codes::RATE_LIMITED,
            "Too many challenges asked for; wait a minute and try again.",
        ));
    }
    let row = ChallengeRow {
        nonce: random_token(),
        account: session.account,
        purpose: Purpose::ConfirmIdentity.as_str().to_owned(),
        origin: state.config.origin(),
        created_at: t,
        expires_at: t + state.config.limits.challenge_ttl.as_secs() as i64,
        used_at: None,
    };
    store::insert_challenge(&state.db, &row).await?;
    store::audit(
        &state.db,
        t,
        Some(&row.account),
        &remote,
        "browser-challenge",
        "ok",
        None,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(BrowserChallenge {
            challenge: checks::challenge_text(&row),
            expires_at: protocol::timestamp_unix(row.expires_at),
        }),
    ))
}

/// The plugin's answer to `sign`, as the page passes it on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureBody {
    /// The attached CAdES-BES of the challenge text, base64 (the plugin's `sign_value`).
    sign_value: String,
}

pub async fn signature(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    session: BrowserSession,
    body: Result<Json<SignatureBody>, JsonRejection>,
) -> Result<Json<ConfirmationResult>, ApiError> {
    if !session.check(&headers, None, &state) {
        return Err(forbidden());
    }
    let t = now();
    let cms = body
        .map_err(ApiError::from)
        .and_then(|Json(b)| decode(&b.sign_value));
    let body_sha256 = cms.as_ref().ok().map(|b| hex::encode(Sha256::digest(b)));
    let outcome = match signature_inner(&state, &session.account, &remote, cms, t).await {
        // A copy of a signature that another copy got accepted meanwhile: that copy's answer.
        Err(e) if e.code != codes::RATE_LIMITED => match &body_sha256 {
            Some(hash) => store::stored_answer(&state.db, hash, &session.account)
                .await?
                .ok_or(e),
            None => Err(e),
        },
        other => other,
    };
    let (code, detail) = match &outcome {
        Ok(result) => ("ok", Some(result.request.clone())),
        Err(e) => (e.code, None),
    };
    store::audit(
        &state.db,
        t,
        Some(&session.account),
        &remote,
        "browser-confirmation",
        code,
        detail.as_deref(),
    )
    .await;
    outcome.map(Json)
}

/// `sign_value` is base64 of DER (line breaks, which some encoders add, are ignored).
fn decode(sign_value: &str) -> Result<Vec<u8>, ApiError> {
    let compact: String = sign_value
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| {
            ApiError::new(
                codes::MALFORMED,
                "sign_value is not base64: send the plugin's sign_value as it is.",
            )
        })
}

async fn signature_inner(
    state: &AppState,
    account: &str,
    remote: &str,
    cms: Result<Vec<u8>, ApiError>,
    t: i64,
) -> Result<ConfirmationResult, ApiError> {
    if !state.confirmations.allow(account, t) || !state.confirmation_addresses.allow(remote, t) {
        return Err(ApiError::new(
            codes::RATE_LIMITED,
            "Too many confirmation requests; wait a minute and try again.",
        ));
    }
    let cms = cms?;
    let body_sha256 = hex::encode(Sha256::digest(&cms));
    // The same signature sent again gets its first answer.
    if let Some(previous) = store::stored_answer(&state.db, &body_sha256, account).await? {
        return Ok(previous);
    }
    let trust = Arc::clone(&state.trust);
    let verified = tokio::task::spawn_blocking(move || verify::verify(&cms, &trust))
        .await
        .map_err(ApiError::internal)??;
    let signed = BrowserSigned::from(verified);
    let nonce = checks::challenge_nonce(&signed.content)?.to_owned();
    let challenge = store::challenge_by_nonce(&state.db, &nonce).await?;
    let account_row = store::account(&state.db, account)
        .await?
        .ok_or_else(|| ApiError::internal("missing account"))?;
    let origin = state.config.origin();
    let decision = checks::decide_browser(
        &signed,
        &Facts {
            account: &account_row,
            challenge: challenge.as_ref(),
            organisation_registered: false,
            origin: &origin,
            now: t,
        },
    )?;
    super::confirmations::accept(
        state,
        account,
        &signed.certificate.sha256,
        &nonce,
        Purpose::ConfirmIdentity,
        decision,
        &body_sha256,
        t,
    )
    .await
}

/// The page's static files.
pub async fn ifcplugin_js() -> impl IntoResponse {
    script(pages::IFCPLUGIN_JS)
}

pub async fn confirm_js() -> impl IntoResponse {
    script(pages::CONFIRM_JS)
}

pub async fn portal_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        pages::PORTAL_CSS,
    )
}

fn script(source: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        source,
    )
}

#[cfg(test)]
mod tests;
