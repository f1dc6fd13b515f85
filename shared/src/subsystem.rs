//! The telephony subsystems a number can route to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which call-handling surface receives calls to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(rename_all = "snake_case"))]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum Subsystem {
    /// A public-safety answering point: greets with the emergency number.
    Psap,
    Utilities,
    DocumentTelephony,
    Mdoc,
    /// A tracking number of a tracking pool (dynamic number insertion):
    /// given only by `POST /v1/tracking-pools`, and while leased its route
    /// names the web session the call comes from.
    Tracking,
}

impl Subsystem {
    pub const ALL: [Subsystem; 5] = [Self::Psap, Self::Utilities, Self::DocumentTelephony, Self::Mdoc, Self::Tracking];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Psap => "psap",
            Self::Utilities => "utilities",
            Self::DocumentTelephony => "document_telephony",
            Self::Mdoc => "mdoc",
            Self::Tracking => "tracking",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown subsystem {0:?}: expected one of psap, utilities, document_telephony, mdoc, tracking")]
pub struct SubsystemError(pub String);

impl FromStr for Subsystem {
    type Err = SubsystemError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| SubsystemError(s.to_owned()))
    }
}

impl fmt::Display for Subsystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_its_names_and_explains_others() {
        for s in Subsystem::ALL {
            assert_eq!(s.as_str().parse::<Subsystem>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        let err = "PSAP".parse::<Subsystem>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown subsystem \"PSAP\": expected one of psap, utilities, document_telephony, mdoc, tracking"
        );
    }
}
