//! The errors a store reports, typed so that the harness can compare them with the spec.

use crate::Field;

/// What went wrong, without the details: the part of an error the spec speaks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    InvalidToken,
    /// An untyped refusal: the store said no from its own checks without saying which kind of
    /// no (the SDKs' one exception type). It satisfies a rule that requires any refusal, for a
    /// store whose refusals are untyped ([`crate::Choices::untyped_refusals`]).
    Refused,
    Backend,
}

/// A failed store call. A store that returns one of these has changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No stored token has this id.
    #[error("no stored token has id {id:?}")]
    NotFound { id: String },
    /// The call would break a uniqueness rule (one token per user name, one id per token).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The token cannot be stored as given; `field` names the field at fault.
    #[error("invalid token: {field}: {reason}")]
    InvalidToken { field: Field, reason: String },
    /// The store refused the call from its own checks, without a kind (a Python store raising
    /// the SDK's `SDKException`, say): never a failure of the storage.
    #[error("refused: {message}")]
    Refused { message: String },
    /// The storage itself failed (I/O, connection, a corrupt file).
    #[error("backend error: {message}")]
    Backend {
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// A backend error with its cause attached.
    pub fn backend(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A refusal of the token because of one field.
    pub fn invalid(field: Field, reason: impl Into<String>) -> Self {
        StoreError::InvalidToken {
            field,
            reason: reason.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound { .. } => ErrorKind::NotFound,
            StoreError::Conflict(_) => ErrorKind::Conflict,
            StoreError::InvalidToken { .. } => ErrorKind::InvalidToken,
            StoreError::Refused { .. } => ErrorKind::Refused,
            StoreError::Backend { .. } => ErrorKind::Backend,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
