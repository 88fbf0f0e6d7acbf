//! Third-party login (D2): when a person signed in through a third party (a WeChat or Alipay
//! login, a bank's single sign-on…), identity data that came that way is limited to what the
//! person agreed to share with that third party.
//!
//! The integrator says which fields the person's agreement with the provider covers
//! ([`ThirdPartyGrant`]); identity data carrying any other field is refused whole
//! ([`NotAgreed`]) — nothing is stored, and the error names the field, never its value.
//!
//! ```
//! use huoti_privacy::third_party::{IdentityField, NotAgreed, ThirdPartyGrant};
//!
//! let grant = ThirdPartyGrant::new("wechat", [IdentityField::Name, IdentityField::Phone]).unwrap();
//! assert_eq!(grant.check([IdentityField::Phone]), Ok(()));
//! assert_eq!(
//!     grant.check([IdentityField::Name, IdentityField::IdNumber]),
//!     Err(NotAgreed { provider: "wechat".into(), field: IdentityField::IdNumber }),
//! );
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A field of identity data (L3: kept apart from face data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityField {
    /// The person's name.
    Name,
    /// The resident ID number.
    IdNumber,
    /// The phone number.
    Phone,
}

impl IdentityField {
    /// Every field.
    pub const ALL: [IdentityField; 3] = [
        IdentityField::Name,
        IdentityField::IdNumber,
        IdentityField::Phone,
    ];

    /// The wire name (`name`, `id_number`, `phone`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityField::Name => "name",
            IdentityField::IdNumber => "id_number",
            IdentityField::Phone => "phone",
        }
    }
}

impl fmt::Display for IdentityField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityField {
    type Err = GrantError;

    fn from_str(s: &str) -> Result<Self, GrantError> {
        IdentityField::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| GrantError::UnknownField(s.to_owned()))
    }
}

/// What the person agreed to share with a login provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThirdPartyGrant {
    provider: String,
    agreed: BTreeSet<IdentityField>,
}

/// A grant that cannot be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The provider is not named.
    #[error("third_party_login.provider: name the login provider")]
    NoProvider,
    /// A field name that identity data does not have.
    #[error("third_party_login.agreed_fields: {0:?} is not one of name, id_number, phone")]
    UnknownField(String),
}

/// Identity data carried a field the person did not agree to share with the provider (D2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the person did not agree to share {field} with {provider} (D2)")]
pub struct NotAgreed {
    /// The login provider.
    pub provider: String,
    /// The first field outside the agreement.
    pub field: IdentityField,
}

impl ThirdPartyGrant {
    /// A grant: `provider` and the fields the person agreed to share with it.
    pub fn new(
        provider: &str,
        agreed: impl IntoIterator<Item = IdentityField>,
    ) -> Result<Self, GrantError> {
        let provider = provider.trim();
        if provider.is_empty() {
            return Err(GrantError::NoProvider);
        }
        Ok(Self {
            provider: provider.to_owned(),
            agreed: agreed.into_iter().collect(),
        })
    }

    /// The provider.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// `Ok` when every field sent is within the agreement; otherwise the first one that is not.
    pub fn check(&self, sent: impl IntoIterator<Item = IdentityField>) -> Result<(), NotAgreed> {
        let mut sent: Vec<IdentityField> = sent.into_iter().collect();
        sent.sort_unstable();
        match sent.into_iter().find(|f| !self.agreed.contains(f)) {
            None => Ok(()),
            Some(field) => Err(NotAgreed {
                provider: self.provider.clone(),
                field,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentityField::*;

    #[test]
    fn d2_third_party_login_carries_only_the_fields_agreed_with_that_party() {
        let g = ThirdPartyGrant::new("wechat", [Name]).unwrap();
        assert_eq!(g.check([Name]), Ok(()));
        assert_eq!(g.check([]), Ok(()));
        for extra in [IdNumber, Phone] {
            assert_eq!(
                g.check([extra, Name]),
                Err(NotAgreed {
                    provider: "wechat".into(),
                    field: extra
                })
            );
        }
        // An agreement to nothing lets nothing through.
        let none = ThirdPartyGrant::new("alipay", []).unwrap();
        assert!(none.check([Phone]).is_err());
        let all = ThirdPartyGrant::new("bank-sso", IdentityField::ALL).unwrap();
        assert_eq!(all.check(IdentityField::ALL), Ok(()));
    }

    #[test]
    fn d2_a_grant_names_its_provider_and_known_fields() {
        assert_eq!(
            ThirdPartyGrant::new("  ", [Name]),
            Err(GrantError::NoProvider)
        );
        assert_eq!(
            "email".parse::<IdentityField>(),
            Err(GrantError::UnknownField("email".into()))
        );
        for f in IdentityField::ALL {
            assert_eq!(f.as_str().parse::<IdentityField>(), Ok(f));
        }
    }
}
