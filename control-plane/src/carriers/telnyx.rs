//! The Telnyx API v2 adapter (and `didroute-carrier-sim`, which speaks the
//! same wire format).
//!
//! Written from Telnyx's public API as its official SDKs encode it:
//! team-telnyx/telnyx-python `src/telnyx/types/available_phone_number_list_params.py`,
//! `available_phone_number_list_response.py`, `number_order_create_params.py`,
//! `number_order_with_phone_numbers.py`, `phone_number.py`,
//! `phone_number_list_params.py`, `phone_number_list_response.py`,
//! `pagination_meta.py`, `shared/cost_information.py`,
//! `shared/available_phone_numbers_metadata.py`, `shared/api_error.py` and
//! `resources/phone_numbers/phone_numbers.py`, `resources/number_orders.py`
//! (paths); team-telnyx/telnyx-go `phonenumber.go` (paths).
//!
//! - `GET /v2/available_phone_numbers` with deep-object filters
//!   (`filter[country_code]`, `filter[national_destination_code]`,
//!   `filter[phone_number][contains|starts_with|ends_with]`,
//!   `filter[phone_number_type]`, `filter[limit]`); prices in
//!   `cost_information {upfront_cost, monthly_cost, currency}` as decimal strings.
//! - `POST /v2/number_orders` `{phone_numbers: [{phone_number}], customer_reference}`
//!   and `GET /v2/number_orders/{id}`; `status` pending, success or failure.
//!   `GET /v2/number_orders?filter[customer_reference]=` lists the orders
//!   placed with a reference (`number_order_list_params.py`).
//! - `GET /v2/phone_numbers` with `page[number]`, `page[size]` (at most 250) and
//!   `filter[phone_number]` (digits); `meta {page_number, total_pages, total_results}`.
//! - `DELETE /v2/phone_numbers/{id}` releases a number; the id is Telnyx's, so a
//!   number is looked up first.
//! - Errors are `{"errors": [{code, title, detail}]}`; 429 may carry Retry-After.
//! - `Authorization: Bearer <API key>`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::resilience::{Idempotency, Resilience};
use super::{
    AdapterSettings, AvailableNumber, BreakerState, Carrier, CarrierConfig, CarrierError, CarrierFuture, CarrierHealth,
    CarrierKind, ConfigError, Decimal, NumberStatus, NumberType, Order, OrderRequest, OrderStatus, OrderedNumber,
    OwnedNumber, OwnedPage, PageRequest, SearchQuery,
};

/// Telnyx caps `page[size]`.
pub const MAX_PAGE_SIZE: u32 = 250;
/// How many results a search asks for at most.
pub const MAX_SEARCH_LIMIT: u32 = 1000;

pub struct Telnyx {
    name: String,
    base_url: String,
    api: String,
    token: String,
    http: reqwest::Client,
    resilience: Arc<Resilience>,
}

impl Telnyx {
    pub fn new(config: &CarrierConfig, settings: AdapterSettings) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| ConfigError::Client { name: config.name.clone(), detail: e.to_string() })?;
        Ok(Self {
            name: config.name.clone(),
            base_url: config.base_url.clone(),
            api: format!("{}/v2", config.base_url.trim_end_matches('/')),
            token: config.token.clone(),
            http,
            resilience: Arc::new(
                Resilience::new(&config.name, settings.retry, settings.breaker, settings.clock)
                    .with_observer(settings.observer),
            ),
        })
    }

    pub fn resilience(&self) -> &Resilience {
        &self.resilience
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.api)).bearer_auth(&self.token)
    }

    /// One attempt: send, then read `T` or the carrier's error.
    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, CarrierError> {
        let res = req.send().await.map_err(transport_error)?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = res.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| CarrierError::Protocol(format!("http {status} body is not the expected json: {e}")));
        }
        Err(error_from(status, retry_after, &body))
    }

    /// Finds the account's record of `number` (E.164).
    async fn find_owned(&self, number: &str) -> Result<PhoneNumberWire, CarrierError> {
        let digits = number.trim_start_matches('+');
        let list: Envelope<Vec<PhoneNumberWire>> = self
            .resilience
            .call(Idempotency::Idempotent, || {
                self.send(self.request(Method::GET, "/phone_numbers").query(&[
                    ("filter[phone_number]", digits),
                    ("page[number]", "1"),
                    ("page[size]", "250"),
                ]))
            })
            .await?;
        list.data
            .into_iter()
            .find(|p| p.phone_number == number)
            .ok_or_else(|| CarrierError::NotFound(format!("{number} is not owned by the account")))
    }
}

fn transport_error(e: reqwest::Error) -> CarrierError {
    if e.is_connect() {
        CarrierError::Unreachable(e.to_string())
    } else if e.is_timeout() {
        CarrierError::Timeout(Duration::ZERO)
    } else {
        CarrierError::Transport(e.to_string())
    }
}

fn error_from(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> CarrierError {
    let first = serde_json::from_slice::<ErrorsWire>(body).ok().and_then(|e| e.errors.into_iter().next());
    let code = first.as_ref().map(|e| e.code.clone()).unwrap_or_default();
    let detail = first
        .map(|e| match e.detail.or(e.description) {
            Some(d) if !d.is_empty() => format!("{}: {d}", e.title),
            _ => e.title,
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    match status {
        StatusCode::TOO_MANY_REQUESTS => CarrierError::RateLimited { retry_after },
        StatusCode::NOT_FOUND => CarrierError::NotFound(detail),
        s if s.is_server_error() => CarrierError::Unavailable { status: s.as_u16(), detail },
        s => CarrierError::Rejected { status: s.as_u16(), code, detail },
    }
}

impl Carrier for Telnyx {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> CarrierKind {
        CarrierKind::Telnyx
    }

    fn search<'a>(&'a self, q: &'a SearchQuery) -> CarrierFuture<'a, Vec<AvailableNumber>> {
        Box::pin(async move {
            let mut params: Vec<(&str, String)> = vec![
                ("filter[country_code]", q.country.to_ascii_uppercase()),
                ("filter[limit]", q.limit.clamp(1, MAX_SEARCH_LIMIT).to_string()),
            ];
            let optional = [
                ("filter[national_destination_code]", &q.area_code),
                ("filter[phone_number][contains]", &q.contains),
                ("filter[phone_number][starts_with]", &q.starts_with),
                ("filter[phone_number][ends_with]", &q.ends_with),
            ];
            params.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
            if let Some(t) = q.number_type {
                params.push(("filter[phone_number_type]", t.as_str().to_string()));
            }
            let res: Envelope<Vec<AvailableWire>> = self
                .resilience
                .call(Idempotency::Idempotent, || {
                    self.send(self.request(Method::GET, "/available_phone_numbers").query(&params))
                })
                .await?;
            res.data.into_iter().map(|a| a.into_domain(q.number_type)).collect()
        })
    }

    fn order<'a>(&'a self, request: &'a OrderRequest) -> CarrierFuture<'a, Order> {
        Box::pin(async move {
            let body = CreateOrderWire {
                phone_numbers: request.numbers.iter().map(|n| OrderLineWire { phone_number: n }).collect(),
                customer_reference: request.customer_reference.as_deref(),
            };
            let res: Envelope<OrderWire> = self
                .resilience
                .call(Idempotency::NotIdempotent, || {
                    self.send(self.request(Method::POST, "/number_orders").json(&body))
                })
                .await?;
            res.data.into_domain()
        })
    }

    fn order_status<'a>(&'a self, order_id: &'a str) -> CarrierFuture<'a, Order> {
        Box::pin(async move {
            let path = format!("/number_orders/{}", path_segment(order_id)?);
            let res: Envelope<OrderWire> =
                self.resilience.call(Idempotency::Idempotent, || self.send(self.request(Method::GET, &path))).await?;
            res.data.into_domain()
        })
    }

    fn find_orders<'a>(&'a self, customer_reference: &'a str) -> CarrierFuture<'a, Vec<Order>> {
        Box::pin(async move {
            let params = [("filter[customer_reference]", customer_reference), ("page[size]", "250")];
            let res: Envelope<Vec<OrderWire>> = self
                .resilience
                .call(Idempotency::Idempotent, || self.send(self.request(Method::GET, "/number_orders").query(&params)))
                .await?;
            // a carrier that ignores the filter must not make another order ours
            res.data
                .into_iter()
                .filter(|o| o.customer_reference.as_deref() == Some(customer_reference))
                .map(OrderWire::into_domain)
                .collect()
        })
    }

    fn disconnect<'a>(&'a self, number: &'a str) -> CarrierFuture<'a, ()> {
        Box::pin(async move {
            let owned = self.find_owned(number).await?;
            let path = format!("/phone_numbers/{}", path_segment(&owned.id)?);
            let _: Envelope<PhoneNumberWire> = self
                .resilience
                .call(Idempotency::Idempotent, || self.send(self.request(Method::DELETE, &path)))
                .await?;
            Ok(())
        })
    }

    fn owned_numbers(&self, page: PageRequest) -> CarrierFuture<'_, OwnedPage> {
        Box::pin(async move {
            let number = page.page.max(1);
            let size = page.size.clamp(1, MAX_PAGE_SIZE);
            let params = [("page[number]", number.to_string()), ("page[size]", size.to_string())];
            let res: Envelope<Vec<PhoneNumberWire>> = self
                .resilience
                .call(Idempotency::Idempotent, || self.send(self.request(Method::GET, "/phone_numbers").query(&params)))
                .await?;
            let meta = res.meta.ok_or_else(|| CarrierError::Protocol("phone numbers page without meta".into()))?;
            Ok(OwnedPage {
                numbers: res.data.into_iter().map(PhoneNumberWire::into_domain).collect(),
                page: meta.page_number.unwrap_or(number),
                total_pages: meta.total_pages.unwrap_or(number),
                total_results: meta.total_results,
            })
        })
    }

    fn number_status<'a>(&'a self, number: &'a str) -> CarrierFuture<'a, NumberStatus> {
        Box::pin(async move { Ok(number_status(&self.find_owned(number).await?.status)) })
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn health(&self) -> CarrierHealth {
        let breaker = self.resilience.breaker.state();
        let last = self.resilience.last_outcome();
        CarrierHealth {
            name: self.name.clone(),
            kind: CarrierKind::Telnyx,
            breaker,
            healthy: breaker == BreakerState::Closed && last.ok,
            last_error: last.error,
        }
    }
}

/// Ids go into paths: refuse anything that could change the path.
fn path_segment(id: &str) -> Result<&str, CarrierError> {
    let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(id).ok_or_else(|| CarrierError::NotFound(format!("{id:?} is not a carrier id")))
}

fn number_status(s: &str) -> NumberStatus {
    match s {
        "active" => NumberStatus::Active,
        "purchase-pending" | "provision-pending" => NumberStatus::PurchasePending,
        "purchase-failed" => NumberStatus::PurchaseFailed,
        "port-pending" => NumberStatus::PortPending,
        "deleted" => NumberStatus::Deleted,
        other => NumberStatus::Other(other.to_string()),
    }
}

fn order_status(s: &str) -> Result<OrderStatus, CarrierError> {
    match s {
        "pending" => Ok(OrderStatus::Pending),
        "success" => Ok(OrderStatus::Success),
        "failure" => Ok(OrderStatus::Failure),
        other => Err(CarrierError::Protocol(format!("unknown order status {other:?}"))),
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
    #[serde(default)]
    meta: Option<MetaWire>,
}

#[derive(Deserialize)]
struct MetaWire {
    page_number: Option<u32>,
    total_pages: Option<u32>,
    total_results: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorsWire {
    errors: Vec<ErrorWire>,
}

#[derive(Deserialize)]
struct ErrorWire {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    detail: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct AvailableWire {
    phone_number: String,
    #[serde(default)]
    cost_information: Option<CostWire>,
    #[serde(default)]
    region_information: Vec<RegionWire>,
    #[serde(default)]
    features: Vec<FeatureWire>,
}

#[derive(Deserialize)]
struct CostWire {
    upfront_cost: Option<String>,
    monthly_cost: Option<String>,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct RegionWire {
    region_type: Option<String>,
    region_name: Option<String>,
}

#[derive(Deserialize)]
struct FeatureWire {
    name: String,
}

fn decimal(field: &str, v: Option<String>) -> Result<Option<Decimal>, CarrierError> {
    v.map(|s| Decimal::parse(&s).ok_or_else(|| CarrierError::Protocol(format!("{field} {s:?} is not a decimal"))))
        .transpose()
}

impl AvailableWire {
    fn into_domain(self, asked: Option<NumberType>) -> Result<AvailableNumber, CarrierError> {
        let cost = self.cost_information.unwrap_or(CostWire { upfront_cost: None, monthly_cost: None, currency: None });
        Ok(AvailableNumber {
            country: self
                .region_information
                .into_iter()
                .find(|r| r.region_type.as_deref() == Some("country_code"))
                .and_then(|r| r.region_name),
            number: self.phone_number,
            number_type: asked,
            upfront_cost: decimal("upfront_cost", cost.upfront_cost)?,
            monthly_cost: decimal("monthly_cost", cost.monthly_cost)?,
            currency: cost.currency,
            features: self.features.into_iter().map(|f| f.name).collect(),
        })
    }
}

#[derive(Serialize)]
struct CreateOrderWire<'a> {
    phone_numbers: Vec<OrderLineWire<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_reference: Option<&'a str>,
}

#[derive(Serialize)]
struct OrderLineWire<'a> {
    phone_number: &'a str,
}

#[derive(Deserialize)]
struct OrderWire {
    id: String,
    status: String,
    #[serde(default)]
    phone_numbers: Vec<OrderNumberWire>,
    customer_reference: Option<String>,
}

#[derive(Deserialize)]
struct OrderNumberWire {
    phone_number: String,
    status: Option<String>,
}

impl OrderWire {
    fn into_domain(self) -> Result<Order, CarrierError> {
        let status = order_status(&self.status)?;
        let numbers = self
            .phone_numbers
            .into_iter()
            .map(|n| {
                let s = n.status.as_deref().map(order_status).transpose()?.unwrap_or(status);
                Ok(OrderedNumber { number: n.phone_number, status: s })
            })
            .collect::<Result<_, CarrierError>>()?;
        Ok(Order { id: self.id, status, numbers, customer_reference: self.customer_reference })
    }
}

#[derive(Deserialize)]
struct PhoneNumberWire {
    id: String,
    phone_number: String,
    #[serde(default)]
    status: String,
    country_iso_alpha2: Option<String>,
    #[serde(default)]
    phone_number_type: Option<String>,
    customer_reference: Option<String>,
}

impl PhoneNumberWire {
    fn into_domain(self) -> OwnedNumber {
        OwnedNumber {
            carrier_id: self.id,
            status: number_status(&self.status),
            number: self.phone_number,
            country: self.country_iso_alpha2,
            number_type: self.phone_number_type.as_deref().and_then(NumberType::parse),
            customer_reference: self.customer_reference,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_telnyx_errors() {
        let body = br#"{"errors":[{"code":"10015","title":"Invalid parameter","detail":"bad limit"}]}"#;
        assert_eq!(
            error_from(StatusCode::UNPROCESSABLE_ENTITY, None, body),
            CarrierError::Rejected { status: 422, code: "10015".into(), detail: "Invalid parameter: bad limit".into() }
        );
        assert_eq!(
            error_from(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(2)), b"{}"),
            CarrierError::RateLimited { retry_after: Some(Duration::from_secs(2)) }
        );
        assert!(matches!(
            error_from(StatusCode::BAD_GATEWAY, None, b"<html>"),
            CarrierError::Unavailable { status: 502, .. }
        ));
        assert!(matches!(error_from(StatusCode::NOT_FOUND, None, b""), CarrierError::NotFound(_)));
    }

    #[test]
    fn reads_orders_and_rejects_unknown_statuses() {
        let wire: OrderWire = serde_json::from_str(
            r#"{"id":"o1","status":"pending","customer_reference":"r","phone_numbers":[{"phone_number":"+15551234567","status":"pending"}]}"#,
        )
        .unwrap();
        let order = wire.into_domain().unwrap();
        assert_eq!(order.status, OrderStatus::Pending);
        assert_eq!(order.numbers, vec![OrderedNumber { number: "+15551234567".into(), status: OrderStatus::Pending }]);
        let wire: OrderWire = serde_json::from_str(r#"{"id":"o1","status":"weird"}"#).unwrap();
        assert!(matches!(wire.into_domain(), Err(CarrierError::Protocol(_))));
    }

    #[test]
    fn refuses_ids_that_would_change_the_path() {
        assert!(path_segment("6a09cdc3-8948-47f0-aa62-74ac943d6c58").is_ok());
        for bad in ["", "../x", "a/b", "a?b", "a b"] {
            assert!(path_segment(bad).is_err(), "{bad:?}");
        }
    }
}
