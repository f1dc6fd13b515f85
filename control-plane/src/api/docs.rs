//! OpenAPI: the document served at `/openapi.json`, generated from the code.
//!
//! Routes are registered through `utoipa_axum::OpenApiRouter` with
//! `routes!(handler)`, so a route cannot exist without its documentation.
//! The schemas are the shared crate's wire types themselves (derived behind
//! its `utoipa` feature).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToResponse, ToSchema};

/// An error: `application/problem+json` (RFC 9457).
#[derive(ToSchema, ToResponse)]
#[schema(as = Problem)]
#[response(
    description = "problem details: what was wrong and how to fix it",
    content_type = "application/problem+json"
)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// URI naming the kind of problem, e.g. `https://didroute.dev/problems/invalid-number`.
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    /// What was wrong and how to fix it.
    detail: String,
}

/// The problem answers of every authenticated route: 400 (a malformed path,
/// query or header), 401 (no or a wrong token), 403 (the wrong kind of
/// principal), 500, and 503 (the database is unreachable). Listed once so the
/// routes' documentation cannot drift apart.
pub struct AuthErrors;

/// The problem answers of every route that reads a JSON body: 413 (too
/// large) and 415 (not `application/json`).
pub struct BodyErrors;

fn problems(codes: &[u16]) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
    codes
        .iter()
        .map(|c| (c.to_string(), utoipa::openapi::RefOr::Ref(utoipa::openapi::Ref::from_response_name("ProblemDoc"))))
        .collect()
}

impl utoipa::IntoResponses for AuthErrors {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        problems(&[400, 401, 403, 500, 503])
    }
}

impl utoipa::IntoResponses for BodyErrors {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        problems(&[413, 415])
    }
}

/// The answer of every route that takes an `Idempotency-Key`: 422 when the
/// key was used with another request.
pub struct KeyErrors;

impl utoipa::IntoResponses for KeyErrors {
    fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        problems(&[422])
    }
}

pub use crate::service::schema::{E164Doc, LabelText, NotesText, ReasonText};

/// The `Idempotency-Key` header: one definition for every POST, PATCH and
/// DELETE.
pub struct IdempotencyKeyHeader;

impl utoipa::IntoParams for IdempotencyKeyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        vec![ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(utoipa::openapi::Required::False)
            .description(Some(
                "repeats with the same key and request get the first answer; another request with it is a 422",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(200))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build()]
    }
}

/// `{number}` in a path: one definition for every route that takes one.
pub struct NumberPath;

impl utoipa::IntoParams for NumberPath {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        vec![ParameterBuilder::new()
            .name("number")
            .parameter_in(ParameterIn::Path)
            .required(utoipa::openapi::Required::True)
            .description(Some("E.164 number: +15551234567, %2B15551234567 or 15551234567"))
            .schema(Some(<E164Doc as utoipa::PartialSchema>::schema()))
            .build()]
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "didroute control plane",
        description = "DID allocation, lifecycle and routing for tenants and operators. Every error is application/problem+json.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(
        schemas(
            ProblemDoc,
            didroute_shared::Route,
            didroute_shared::Subsystem,
            didroute_shared::ChangeEvent,
            didroute_shared::wire::InventoryItem,
            didroute_shared::wire::AvailableNumber,
            didroute_shared::wire::Price
        ),
        responses(ProblemDoc)
    ),
    tags(
        (name = "tenants", description = "operator: tenants and their API keys"),
        (name = "ranges", description = "operator: range routes, a tenant's DID ranges that route as one block"),
        (name = "inventory", description = "operator: import, search, provisioning, delete; tenants: available numbers"),
        (name = "numbers", description = "tenant: allocate, remap, release, reclaim, history"),
        (name = "reservations", description = "tenant: hold numbers before allocating them"),
        (name = "events", description = "the change feed lookup nodes tail (operator token or a feed token), and feed tokens (operator)"),
        (name = "tracking", description = "tracking pools and web sessions (dynamic number insertion): a leased number's lookup names the visit (tenant key)"),
        (name = "usage", description = "successful lookups per number, counted by lookup nodes: their batches (feed token), hourly and daily buckets and the busiest numbers (tenant; operator for any tenant)"),
        (name = "graphql", description = "the same operations as GraphQL, for operators and tenants"),
        (name = "service", description = "health, readiness, metrics, this document")
    )
)]
pub struct ApiDoc;

/// Adds `/openapi.json` itself, which is served outside the documented router.
pub fn document_self(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::{ContentBuilder, ObjectBuilder};
    let op = OperationBuilder::new()
        .tag("service")
        .summary(Some("this document"))
        .security(utoipa::openapi::security::SecurityRequirement::default())
        .response(
            "200",
            ResponseBuilder::new()
                .description("the OpenAPI 3.1 document of this API")
                .content("application/json", ContentBuilder::new().schema(Some(ObjectBuilder::new())).build())
                .build(),
        )
        .build();
    openapi.paths.paths.insert("/openapi.json".to_owned(), PathItem::new(HttpMethod::Get, op));
}

#[cfg(test)]
mod tests {
    use didroute_shared::e164::NumberError;
    use didroute_shared::E164;
    use proptest::prelude::*;
    use utoipa::PartialSchema;

    use super::{E164Doc, LabelText, NotesText, ReasonText};
    use crate::service::numbers::check_notes;
    use crate::service::{check_text, LABEL_MAX, REASON_MAX};

    /// A documented string type as a client reads it: the served `pattern`
    /// under ECMA-262 (what JSON Schema specifies; checked with and without
    /// the `u` flag), and `minLength` / `maxLength` in code points.
    struct Documented {
        patterns: [regress::Regex; 2],
        min: usize,
        max: usize,
    }

    impl Documented {
        fn of<T: PartialSchema>() -> Documented {
            let schema = serde_json::to_value(T::schema()).unwrap();
            let pattern = schema["pattern"].as_str().unwrap();
            let length = |k: &str| schema[k].as_u64().unwrap() as usize;
            Documented {
                patterns: [regress::Regex::new(pattern).unwrap(), regress::Regex::with_flags(pattern, "u").unwrap()],
                min: length("minLength"),
                max: length("maxLength"),
            }
        }

        fn allows(&self, input: &str) -> bool {
            let [plain, unicode] = self.patterns.each_ref().map(|p| p.find(input).is_some());
            assert_eq!(plain, unicode, "{input:?}: the pattern means two things with and without the u flag");
            plain && (self.min..=self.max).contains(&input.chars().count())
        }
    }

    /// The document says yes exactly when the parser does, or when only the
    /// calling code is unknown (which a pattern cannot know).
    fn agrees_on_number(doc: &Documented, input: &str) {
        let parsed = E164::parse(input);
        let shape_ok = !matches!(parsed, Err(ref e) if !matches!(e, NumberError::UnknownCountryCode { .. }));
        assert_eq!(doc.allows(input), shape_ok, "{input:?}: documented vs parsed ({parsed:?})");
    }

    fn agrees(doc: &Documented, input: &str, accepted: bool) {
        assert_eq!(doc.allows(input), accepted, "{input:?}: documented vs accepted");
    }

    const TEXTS: &[&str] = &[
        "a",
        " a ",
        "Tenant 1 line 0",
        "",
        " ",
        "\t",
        "a\tb",
        "a\nb",
        "a\u{85}b",
        "a\u{9f}",
        "\u{a0}",
        "\u{3000}x",
        "é",
        "x\u{7f}",
        "\u{2028}",
        "a\u{0}b",
        "\u{1f600}",
        "acme\n",
        "acme z",
        "\\u0000",
    ];

    #[test]
    fn the_number_schema_is_what_the_parser_takes() {
        let doc = Documented::of::<E164Doc>();
        for input in [
            "+15551234567",
            "%2B15551234567",
            "%2b15551234567",
            "15551234567",
            "+6834002",
            "+683400",
            "+123456789012345",
            "+1234567890123456",
            "%2B123456789012345",
            "%2B1234567890123456",
            "+05551234567",
            "0015551234567",
            "",
            "+",
            "%2B",
            "+1 555 123 4567",
            "+1-555-1234567",
            "++15551234567",
            "+15551234567\n",
            "\u{ff11}5551234567",
            "+99912345678",
        ] {
            agrees_on_number(&doc, input);
        }
    }

    #[test]
    fn the_text_schemas_are_what_the_server_takes() {
        let (label, reason, notes) =
            (Documented::of::<LabelText>(), Documented::of::<ReasonText>(), Documented::of::<NotesText>());
        let long = |n: usize| ["x".repeat(n), "😀".repeat(n)];
        let sizes = [
            LABEL_MAX,
            LABEL_MAX + 1,
            REASON_MAX,
            REASON_MAX + 1,
            crate::service::NOTES_MAX,
            crate::service::NOTES_MAX + 1,
        ];
        let inputs: Vec<String> = TEXTS.iter().map(|s| s.to_string()).chain(sizes.into_iter().flat_map(long)).collect();
        for input in &inputs {
            agrees(&label, input, check_text("f", input, LABEL_MAX).is_ok());
            agrees(&reason, input, check_text("f", input, REASON_MAX).is_ok());
            agrees(&notes, input, check_notes(input).is_ok());
        }
    }

    /// A price is documented as the decimal string the server writes and
    /// reads (or a number), and the money fields point at it.
    #[test]
    fn prices_are_documented_as_decimal_strings() {
        use didroute_shared::wire::Price;
        let schema = serde_json::to_value(Price::schema()).unwrap();
        let text = &schema["oneOf"][0];
        assert_eq!(text["type"], "string", "{schema}");
        assert_eq!(schema["oneOf"][1]["type"], "number", "{schema}");
        let pattern = regress::Regex::new(text["pattern"].as_str().unwrap()).unwrap();
        for ok in ["0", "1.25", "1.5", ".5", "0.0001", "99999999.9999"] {
            assert!(pattern.find(ok).is_some(), "{ok}");
            assert!(ok.parse::<Price>().is_ok(), "{ok}");
        }
        for bad in ["", "-1", "1.", "1.23456", "100000000", "1e3", "abc", "+1"] {
            assert!(pattern.find(bad).is_none(), "{bad}");
            assert!(bad.parse::<Price>().is_err(), "{bad}");
        }
        for units in [0, 1, 12_500, 999_999_999_999] {
            let written = Price::from_units(units).unwrap().to_string();
            assert!(pattern.find(&written).is_some(), "{written}");
        }
        let doc = serde_json::to_value(<super::ApiDoc as utoipa::OpenApi>::openapi()).unwrap();
        let cost = &doc["components"]["schemas"]["InventoryItem"]["properties"]["monthly_cost"];
        assert_eq!(cost["$ref"], "#/components/schemas/Price", "{cost}");
    }

    proptest! {
        #[test]
        fn any_number_like_string_gets_the_same_answer(
            input in "(\\+|%2[Bb]|00|0|)[0-9 +-]{0,17}",
        ) {
            agrees_on_number(&Documented::of::<E164Doc>(), &input);
        }

        #[test]
        fn any_text_gets_the_same_answer(input in "\\PC{0,3}[\\s\\x00-\\x1f\\x7f-\\x9f]{0,2}\\PC{0,3}") {
            agrees(&Documented::of::<LabelText>(), &input, check_text("f", &input, LABEL_MAX).is_ok());
            agrees(&Documented::of::<NotesText>(), &input, check_notes(&input).is_ok());
        }
    }
}
