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

/// An error and the errors it wraps, as one line: `db error: FATAL: database "x" does not
/// exist`, where the error alone displays `db error`. A cause whose text the line already holds
/// is left out.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !text.is_empty() && !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::with_causes;

    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("db error")
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_causes_an_error_hides_are_shown_once() {
        let hidden = Wrapper(std::io::Error::other("database \"nodb\" does not exist"));
        assert_eq!(
            with_causes(&hidden),
            "db error: database \"nodb\" does not exist"
        );
        let plain = std::io::Error::other("refused");
        assert_eq!(with_causes(&plain), "refused");
    }
}
