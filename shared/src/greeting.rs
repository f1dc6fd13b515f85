//! Greeting selection: PSAP lines greet with the country's emergency number,
//! every other line with its customer label.

use serde::{Deserialize, Serialize};

use crate::{Country, Subsystem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "snake_case")]
pub enum GreetingKind {
    Emergency,
    Label,
}

/// What plays when a call to a number connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Greeting {
    pub kind: GreetingKind,
    /// Set for `emergency` greetings only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_number: Option<String>,
    pub text: String,
}

impl Greeting {
    pub fn for_route(subsystem: Subsystem, country: Country, customer_label: &str) -> Greeting {
        match subsystem {
            Subsystem::Psap => {
                let number = country.emergency_number();
                Greeting {
                    kind: GreetingKind::Emergency,
                    emergency_number: Some(number.to_owned()),
                    text: format!("{number}, what is the address of your emergency?"),
                }
            }
            _ => Greeting {
                kind: GreetingKind::Label,
                emergency_number: None,
                text: format!("Thank you for calling {customer_label}."),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psap_lines_greet_with_the_emergency_number() {
        let us = Greeting::for_route(Subsystem::Psap, Country::parse("US").unwrap(), "Metro 911");
        assert_eq!(us.kind, GreetingKind::Emergency);
        assert_eq!(us.emergency_number.as_deref(), Some("911"));
        let de = Greeting::for_route(Subsystem::Psap, Country::parse("DE").unwrap(), "Leitstelle");
        assert_eq!(de.emergency_number.as_deref(), Some("112"));
        let jp = Greeting::for_route(Subsystem::Psap, Country::parse("JP").unwrap(), "x");
        assert_eq!(jp.emergency_number.as_deref(), Some("119"));
    }

    #[test]
    fn other_lines_greet_with_the_label() {
        let g = Greeting::for_route(Subsystem::Utilities, Country::parse("US").unwrap(), "City Water");
        assert_eq!(g.kind, GreetingKind::Label);
        assert_eq!(g.emergency_number, None);
        assert!(g.text.contains("City Water"));
    }
}
