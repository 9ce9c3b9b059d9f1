//! What a backend can hold, declared once and checked before anything is written, so that a
//! value past the limits is refused with InvalidToken naming the field and the limit, never
//! truncated by the storage.

use crate::{Field, Result, StoreError, Token};

/// A backend's declared limits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Longest value, in characters, per field; fields not listed are unlimited.
    pub max_chars: &'static [(Field, usize)],
    /// Characters the storage cannot hold, with how to name them in an error.
    pub forbidden_chars: &'static [(char, &'static str)],
}

impl Limits {
    /// Whether the store can hold `value` in `field`. A lookup of a value it cannot hold matches
    /// nothing, and is answered without asking the storage.
    pub fn holds(&self, field: Field, value: &str) -> bool {
        let forbidden = self.forbidden_chars.iter().any(|(c, _)| value.contains(*c));
        let too_long = self
            .max_chars
            .iter()
            .any(|(f, max)| *f == field && value.chars().count() > *max);
        !forbidden && !too_long
    }

    /// Refuses the token if a present value is past the limits.
    pub fn check(&self, token: &Token) -> Result<()> {
        for (field, value) in token.present() {
            for (c, name) in self.forbidden_chars {
                if value.contains(*c) {
                    return Err(StoreError::invalid(
                        field,
                        format!("contains {name}, which this store cannot hold"),
                    ));
                }
            }
            let limit = self.max_chars.iter().find(|(f, _)| *f == field);
            if let Some((_, max)) = limit {
                let len = value.chars().count();
                if len > *max {
                    return Err(StoreError::invalid(
                        field,
                        format!("is {len} characters long; this store holds at most {max}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_field_and_the_limit() {
        let limits = Limits {
            max_chars: &[(Field::UserName, 3)],
            forbidden_chars: &[('\0', "a NUL character")],
        };
        let long = Token::default().with(Field::UserName, "abcd");
        let err = limits.check(&long).unwrap_err();
        assert!(matches!(
            err,
            StoreError::InvalidToken {
                field: Field::UserName,
                ..
            }
        ));
        assert!(err.to_string().contains("at most 3"));
        let nul = Token::default().with(Field::ApiDomain, "a\0b");
        assert!(limits.check(&nul).unwrap_err().to_string().contains("NUL"));
        assert!(limits
            .check(&Token::default().with(Field::UserName, "abc"))
            .is_ok());
    }
}
