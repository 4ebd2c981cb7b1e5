//! Why a command failed: a flow error from the `client` crate, or one of the CLI's own (a file
//! that cannot be read, no session…). Its code and words come from `client::messages`; its exit
//! code from [`crate::exit::code`].

use client::flow::FlowError;
use client::messages::{self, Language};
use client::portal::PortalError;
use client::session::SessionError;
use signing::TokenError;

#[derive(Debug)]
pub enum Failure {
    Flow(FlowError),
    /// A code of `client::messages::CLIENT_CODES` that is not a flow error, with what the user
    /// needs to find the cause (a file name and the system's reason); never a secret.
    Local {
        code: &'static str,
        detail: Option<String>,
    },
}

impl Failure {
    pub fn local(code: &'static str) -> Self {
        Self::Local { code, detail: None }
    }

    pub fn with_detail(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Local {
            code,
            detail: Some(detail.into()),
        }
    }

    pub fn code(&self) -> String {
        match self {
            Self::Flow(e) => e.code(),
            Self::Local { code, .. } => (*code).to_owned(),
        }
    }

    pub fn message(&self, language: Language) -> String {
        match self {
            // On the command line, consent is an option: say which.
            Self::Flow(FlowError::LastTryNotConfirmed) => {
                messages::phrase(messages::Phrase::LastTryNeedsConsent, language)
            }
            Self::Flow(e) => messages::error(e, language),
            Self::Local { code, detail: None } => messages::describe(code, language),
            Self::Local {
                code,
                detail: Some(detail),
            } => format!("{} ({detail})", messages::describe(code, language)),
        }
    }
}

impl From<FlowError> for Failure {
    fn from(e: FlowError) -> Self {
        Self::Flow(e)
    }
}

impl From<TokenError> for Failure {
    fn from(e: TokenError) -> Self {
        Self::Flow(FlowError::Card(e))
    }
}

impl From<signing::CardError> for Failure {
    fn from(e: signing::CardError) -> Self {
        Self::Flow(FlowError::Card(TokenError::Card(e)))
    }
}

impl From<PortalError> for Failure {
    fn from(e: PortalError) -> Self {
        Self::Flow(FlowError::Portal(e))
    }
}

impl From<SessionError> for Failure {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NotLoggedIn(_) => Self::local("not-logged-in"),
            _ => Self::local("keyring"),
        }
    }
}

impl From<client::batch::BatchError> for Failure {
    fn from(e: client::batch::BatchError) -> Self {
        use client::batch::BatchError;
        let detail = match &e {
            BatchError::Read { path, reason } => format!("{}: {reason}", path.display()),
            BatchError::Empty(path) | BatchError::Twice(path) => path.display().to_string(),
            BatchError::Exists(paths) => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        Self::with_detail(e.code(), detail)
    }
}
