//! Greetings: what a caller hears when a call to a number connects.
//!
//! PSAP lines greet with the emergency number of the number's own country
//! (the country the numbering plan gives it at import, see
//! [`crate::country`]), every other line with its customer label. The words
//! come from a template: the tenant's own for the route's kind, else the
//! default of the tenant's locale; a number's own `greeting_text` replaces
//! the template altogether.
//!
//! Templates hold two placeholders, `{emergency_number}` and `{label}`;
//! `{{` and `}}` are literal braces. [`check_template`] says what is wrong
//! with one, so a tenant learns it when setting it, not from a caller.
//!
//! The text is rendered where the route is (the control plane's views, the
//! lookup node once per distinct route when it enters the snapshot), never
//! per lookup.

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

/// The locale of a tenant that never chose one.
pub const DEFAULT_LOCALE: &str = "en";
/// Longest locale tag (BCP 47's own recommended buffer).
pub const LOCALE_MAX: usize = 35;
/// Longest greeting template or greeting text, in characters.
pub const GREETING_MAX: usize = 500;
/// The placeholders a template may hold.
pub const PLACEHOLDERS: [&str; 2] = ["emergency_number", "label"];

/// The default templates of one language: (language, emergency, label).
/// Every locale whose language is listed here needs no templates of its own.
const DEFAULTS: &[(&str, &str, &str)] = &[
    ("de", "Notruf {emergency_number}, wo ist der Notfallort?", "Vielen Dank für Ihren Anruf bei {label}."),
    ("en", "{emergency_number}, what is the address of your emergency?", "Thank you for calling {label}."),
    ("es", "{emergency_number}, ¿cuál es la dirección de su emergencia?", "Gracias por llamar a {label}."),
    ("fr", "{emergency_number}, quelle est l'adresse de votre urgence ?", "Merci d'avoir appelé {label}."),
    ("it", "{emergency_number}, qual è l'indirizzo della sua emergenza?", "Grazie per aver chiamato {label}."),
    (
        "ja",
        "{emergency_number}番です。緊急の場所の住所を教えてください。",
        "{label}にお電話いただきありがとうございます。",
    ),
    ("pt", "{emergency_number}, qual é o endereço da sua emergência?", "Obrigado por ligar para {label}."),
];

/// The languages with default templates, in order.
pub fn default_languages() -> impl Iterator<Item = &'static str> {
    DEFAULTS.iter().map(|d| d.0)
}

/// The default template of `kind` for `locale` (by its language subtag:
/// `pt-BR` takes `pt`'s), or None when the language has none.
pub fn default_template(locale: &str, kind: GreetingKind) -> Option<&'static str> {
    let language = locale.split('-').next().unwrap_or_default();
    DEFAULTS.iter().find(|d| d.0.eq_ignore_ascii_case(language)).map(|d| match kind {
        GreetingKind::Emergency => d.1,
        GreetingKind::Label => d.2,
    })
}

/// Why a locale, template or greeting text cannot be used: the message
/// names what is wrong, for the caller to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GreetingError(pub String);

/// A locale tag as BCP 47 writes the common ones: a 2 or 3 letter lowercase
/// language, then subtags of 1 to 8 letters or digits (`pt-BR`, `es-419`).
pub fn check_locale(locale: &str) -> Result<(), GreetingError> {
    let bad = |why: &str| Err(GreetingError(format!("locale {locale:?} {why}")));
    if locale.is_empty() {
        return Err(GreetingError("locale must not be empty".into()));
    }
    if locale.len() > LOCALE_MAX {
        return bad(&format!("is longer than {LOCALE_MAX} characters"));
    }
    let mut parts = locale.split('-');
    let language = parts.next().unwrap_or_default();
    if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_lowercase()) {
        return bad("must start with a 2 or 3 letter lowercase language code, as in en or pt-BR");
    }
    if parts.any(|p| p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return bad("has a subtag that is not 1 to 8 letters or digits");
    }
    Ok(())
}

/// One piece of a parsed template.
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits a template into text and placeholders, or says what is wrong.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, GreetingError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    // character position of `rest` in the template, for the messages
    let mut at = 0;
    while let Some(i) = rest.find(['{', '}']) {
        let (text, tail) = rest.split_at(i);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        at += text.chars().count();
        if tail.starts_with("{{") || tail.starts_with("}}") {
            pieces.push(Piece::Text(&tail[..1]));
            rest = &tail[2..];
            at += 2;
            continue;
        }
        if tail.starts_with('}') {
            return Err(GreetingError(format!(
                "unbalanced braces: a }} at character {} closes nothing (write }}}} for a literal brace)",
                at + 1
            )));
        }
        let inner = &tail[1..];
        match inner.find(['{', '}']) {
            Some(j) if inner[j..].starts_with('}') => {
                let name = &inner[..j];
                if !PLACEHOLDERS.contains(&name) {
                    return Err(GreetingError(format!(
                        "unknown placeholder {{{name}}}: a template may use {{emergency_number}} and {{label}}"
                    )));
                }
                pieces.push(Piece::Placeholder(name));
                rest = &inner[j + 1..];
                at += name.chars().count() + 2;
            }
            _ => {
                return Err(GreetingError(format!(
                    "unbalanced braces: the {{ at character {} is not closed (write {{{{ for a literal brace)",
                    at + 1
                )))
            }
        }
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// Checks text a caller wants said: not blank, at most [`GREETING_MAX`]
/// characters, no control characters (NUL among them, which PostgreSQL
/// cannot store).
pub fn check_text(text: &str) -> Result<(), GreetingError> {
    if text.trim().is_empty() {
        return Err(GreetingError("must not be empty".into()));
    }
    if text.chars().count() > GREETING_MAX {
        return Err(GreetingError(format!("is longer than {GREETING_MAX} characters")));
    }
    if text.contains('\0') {
        return Err(GreetingError("must not contain the NUL character (U+0000)".into()));
    }
    if text.chars().any(char::is_control) {
        return Err(GreetingError("must not contain control characters".into()));
    }
    Ok(())
}

/// Checks a greeting template: [`check_text`], then its braces and
/// placeholders.
pub fn check_template(template: &str) -> Result<(), GreetingError> {
    check_text(template)?;
    parse(template).map(drop)
}

/// `template` with its placeholders filled in. A template that does not
/// parse (never stored: [`check_template`] runs first) is said as it is.
pub fn render(template: &str, emergency_number: &str, label: &str) -> String {
    let Ok(pieces) = parse(template) else { return template.to_owned() };
    let mut out = String::with_capacity(template.len() + label.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder("emergency_number") => out.push_str(emergency_number),
            Piece::Placeholder(_) => out.push_str(label),
        }
    }
    out
}

impl Greeting {
    /// The default English greeting of a route.
    pub fn for_route(subsystem: Subsystem, country: Country, customer_label: &str) -> Greeting {
        Greeting::render(subsystem, country, customer_label, DEFAULT_LOCALE, None, None)
    }

    /// The greeting of a route: `text` (the number's own) if set, else
    /// `template` (the tenant's for this kind), else the locale's default
    /// (English when the locale's language has none).
    pub fn render(
        subsystem: Subsystem,
        country: Country,
        customer_label: &str,
        locale: &str,
        template: Option<&str>,
        text: Option<&str>,
    ) -> Greeting {
        let kind = match subsystem {
            Subsystem::Psap => GreetingKind::Emergency,
            _ => GreetingKind::Label,
        };
        let emergency = country.emergency_number();
        let text = match text {
            Some(t) => t.to_owned(),
            None => {
                let template = template
                    .or_else(|| default_template(locale, kind))
                    .or_else(|| default_template(DEFAULT_LOCALE, kind))
                    .unwrap_or_default();
                render(template, emergency, customer_label)
            }
        };
        Greeting { kind, emergency_number: (kind == GreetingKind::Emergency).then(|| emergency.to_owned()), text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(c: &str) -> Country {
        Country::parse(c).unwrap()
    }

    #[test]
    fn psap_lines_greet_with_the_emergency_number() {
        let us = Greeting::for_route(Subsystem::Psap, country("US"), "Metro 911");
        assert_eq!(us.kind, GreetingKind::Emergency);
        assert_eq!(us.emergency_number.as_deref(), Some("911"));
        assert_eq!(us.text, "911, what is the address of your emergency?");
        let de = Greeting::for_route(Subsystem::Psap, country("DE"), "Leitstelle");
        assert_eq!(de.emergency_number.as_deref(), Some("112"));
        let jp = Greeting::for_route(Subsystem::Psap, country("JP"), "x");
        assert_eq!(jp.emergency_number.as_deref(), Some("119"));
        // Jamaica shares +1 with the US but dials 119, not 911
        let jm = Greeting::for_route(Subsystem::Psap, country("JM"), "x");
        assert_eq!(jm.emergency_number.as_deref(), Some("119"));
        assert_eq!(jm.text, "119, what is the address of your emergency?");
    }

    #[test]
    fn other_lines_greet_with_the_label() {
        let g = Greeting::for_route(Subsystem::Utilities, country("US"), "City Water");
        assert_eq!(g.kind, GreetingKind::Label);
        assert_eq!(g.emergency_number, None);
        assert_eq!(g.text, "Thank you for calling City Water.");
    }

    #[test]
    fn every_required_language_has_both_defaults_and_they_are_valid() {
        for lang in ["en", "es", "fr", "de", "pt", "it", "ja"] {
            for kind in [GreetingKind::Emergency, GreetingKind::Label] {
                let t = default_template(lang, kind).unwrap_or_else(|| panic!("{lang} {kind:?}"));
                check_template(t).unwrap_or_else(|e| panic!("{lang} {kind:?}: {e}"));
            }
            let e = default_template(lang, GreetingKind::Emergency).unwrap();
            assert!(e.contains("{emergency_number}"), "{lang}");
            assert!(default_template(lang, GreetingKind::Label).unwrap().contains("{label}"), "{lang}");
        }
        assert_eq!(default_languages().count(), 7);
        // a region subtag takes its language's defaults
        assert_eq!(default_template("pt-BR", GreetingKind::Label), default_template("pt", GreetingKind::Label));
        assert_eq!(default_template("zh", GreetingKind::Label), None);
    }

    #[test]
    fn locales_render_their_own_language() {
        let es = Greeting::render(Subsystem::Psap, country("MX"), "x", "es-MX", None, None);
        assert_eq!(es.text, "911, ¿cuál es la dirección de su emergencia?");
        let fr = Greeting::render(Subsystem::Utilities, country("FR"), "EDF", "fr", None, None);
        assert_eq!(fr.text, "Merci d'avoir appelé EDF.");
        let ja = Greeting::render(Subsystem::Psap, country("JP"), "x", "ja", None, None);
        assert_eq!(ja.text, "119番です。緊急の場所の住所を教えてください。");
        // a locale without defaults (only allowed with the tenant's own
        // templates) falls back to English rather than saying nothing
        let zh = Greeting::render(Subsystem::Utilities, country("US"), "A", "zh", None, None);
        assert_eq!(zh.text, "Thank you for calling A.");
    }

    #[test]
    fn the_numbers_own_text_wins_then_the_tenants_template() {
        let t = Some("Dial {emergency_number} again? This is {label} {{not a placeholder}}.");
        let g = Greeting::render(Subsystem::Psap, country("JM"), "Kingston", "en", t, None);
        assert_eq!(g.text, "Dial 119 again? This is Kingston {not a placeholder}.");
        assert_eq!(g.emergency_number.as_deref(), Some("119"));
        let g = Greeting::render(Subsystem::Psap, country("JM"), "Kingston", "en", t, Some("Hello {label}"));
        assert_eq!(g.text, "Hello {label}", "the number's own text is said as written");
        assert_eq!(g.kind, GreetingKind::Emergency);
    }

    #[test]
    fn templates_are_checked_with_reasons() {
        let err = |t: &str| check_template(t).unwrap_err().0;
        assert!(check_template("{emergency_number}: {label} {{}}").is_ok());
        assert_eq!(err("Hi {name}"), "unknown placeholder {name}: a template may use {emergency_number} and {label}");
        assert_eq!(
            err("Hi {label"),
            "unbalanced braces: the { at character 4 is not closed (write {{ for a literal brace)"
        );
        assert_eq!(
            err("Hi {la{bel}"),
            "unbalanced braces: the { at character 4 is not closed (write {{ for a literal brace)"
        );
        assert_eq!(err("é} x"), "unbalanced braces: a } at character 2 closes nothing (write }} for a literal brace)");
        assert_eq!(err("{}"), "unknown placeholder {}: a template may use {emergency_number} and {label}");
        assert_eq!(err("  "), "must not be empty");
        assert_eq!(err(&"é".repeat(GREETING_MAX + 1)), "is longer than 500 characters");
        assert!(check_template(&"é".repeat(GREETING_MAX)).is_ok());
        assert_eq!(err("a\0b"), "must not contain the NUL character (U+0000)");
        assert_eq!(err("a\nb"), "must not contain control characters");
    }

    #[test]
    fn locales_are_checked() {
        for ok in ["en", "pt-BR", "es-419", "fil", "zh-Hant-TW"] {
            assert!(check_locale(ok).is_ok(), "{ok}");
        }
        for bad in ["", "e", "EN", "english", "en-", "en_US", "en-toolongtag", &"en-x".repeat(12)] {
            assert!(check_locale(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_locale("EN").unwrap_err().0,
            "locale \"EN\" must start with a 2 or 3 letter lowercase language code, as in en or pt-BR"
        );
    }
}
