//! The schemas of the strings the service layer checks: each documented
//! string type carries the pattern and lengths its check enforces (the
//! OpenAPI tests compare the two).

use utoipa::ToSchema;

/// What `E164::parse` accepts, as a pattern: `+` (or a URL-encoded `%2B`, or
/// nothing), then 7 to 15 digits not starting with 0. The server also checks
/// that a country uses the calling code the digits start with, which a
/// pattern cannot say.
const E164_PATTERN: &str = "^(\\+|%2[Bb])?[1-9][0-9]{6,14}$";

/// What `service::check_text` accepts: no control character (Unicode `Cc`)
/// and at least one character that is not white space.
const TEXT_PATTERN: &str =
    "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$";

/// What `service::numbers::check_notes` accepts: anything but NUL.
const NOTES_PATTERN: &str = "^[^\\u0000]*$";

/// A string schema of `min..=max` characters matching `pattern`.
fn string_schema(pattern: &str, min: usize, max: usize) -> utoipa::openapi::ObjectBuilder {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).min_length(Some(min)).max_length(Some(max))
}

/// A documented string type: its pattern and lengths, built once here and
/// checked against the server's own validation in the OpenAPI tests
/// (`api/docs.rs`).
macro_rules! string_doc {
    ($(#[$doc:meta])* $name:ident, $pattern:expr, $min:expr, $max:expr $(, example = $example:expr)?) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                string_schema($pattern, $min, $max)$(.examples([$example]))?.build().into()
            }
        }

        impl ToSchema for $name {}
    };
}

string_doc!(
    /// An E.164 number in a request; see [`E164_PATTERN`] (`%2B` and 15
    /// digits at most).
    E164Doc,
    E164_PATTERN,
    7,
    18,
    example = "+15551234567"
);
string_doc!(
    /// Names, labels and ids a caller chooses.
    LabelText,
    TEXT_PATTERN,
    1,
    super::LABEL_MAX
);
string_doc!(
    /// Why a number was released.
    ReasonText,
    TEXT_PATTERN,
    1,
    super::REASON_MAX
);
string_doc!(
    /// Free-text release notes.
    NotesText,
    NOTES_PATTERN,
    0,
    super::NOTES_MAX
);
