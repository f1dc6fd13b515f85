//! `text/csv` inventory imports: a header row, one number or range per row.
//!
//! Read with the `csv` crate (RFC 4180): quoted fields may hold commas,
//! quotes (`""`) and line breaks; lines may end in CRLF; a UTF-8 byte-order
//! mark before the header is ignored.

use didroute_shared::problem::ProblemType;
use std::collections::BTreeMap;

use didroute_shared::wire::{ImportRequest, NumbersInput, Price, Rejected, CSV_COLUMNS};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Rows grouped into import requests (with each group's original rows),
/// and the rows that could not be read.
#[derive(Debug)]
pub struct Groups {
    pub requests: Vec<(ImportRequest, Vec<String>)>,
    pub rejected: Vec<Rejected>,
}

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(ProblemType::InvalidCsv, detail.into())
}

pub fn import_groups(body: &str) -> ApiResult<Groups> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(body.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut header: Option<Vec<String>> = None;
    let mut groups: BTreeMap<String, (ImportRequest, Vec<String>)> = BTreeMap::new();
    let mut rejected = Vec::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| invalid(format!("the CSV cannot be read: {e}")))?;
        if !more {
            break;
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        // the row as it was sent, for the rejections that quote it
        let start = record.position().map_or(0, |p| p.byte() as usize);
        let end = (reader.position().byte() as usize).min(body.len());
        let input = body.get(start..end).unwrap_or_default().trim_matches(['\r', '\n']).to_owned();
        let Some(columns) = &header else {
            header = Some(read_header(&record)?);
            continue;
        };
        if record.len() != columns.len() {
            let reason = format!("{} fields where the header has {}", record.len(), columns.len());
            rejected.push(Rejected { input, reason });
            continue;
        }
        match row_request(columns, &record) {
            Ok((req, number)) => {
                // rows with the same attributes form one request
                let key = serde_json::to_string(&req).expect("an import request serialises");
                let entry = groups.entry(key).or_insert_with(|| (req, Vec::new()));
                if let NumbersInput::List(list) = &mut entry.0.numbers {
                    list.push(number);
                }
                entry.1.push(input);
            }
            Err(reason) => rejected.push(Rejected { input, reason }),
        }
    }
    if header.is_none() {
        return Err(invalid("the CSV is empty: it needs a header row"));
    }
    Ok(Groups { requests: groups.into_values().collect(), rejected })
}

/// The column names, checked: known, and `number` and `country` present.
fn read_header(record: &csv::StringRecord) -> ApiResult<Vec<String>> {
    let header: Vec<String> = record
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .map(|h| if h == "numbers" { "number".to_owned() } else { h })
        .collect();
    if let Some(unknown) = header.iter().find(|h| !CSV_COLUMNS.contains(&h.as_str())) {
        return Err(invalid(format!("unknown column {unknown:?}: columns are {}", CSV_COLUMNS.join(", "))));
    }
    for required in ["number", "country"] {
        if !header.iter().any(|h| h == required) {
            return Err(invalid(format!("the header must name a {required} column")));
        }
    }
    Ok(header)
}

/// One row as an import request of no numbers (its attributes), and its number.
fn row_request(columns: &[String], record: &csv::StringRecord) -> Result<(ImportRequest, String), String> {
    let mut req = ImportRequest {
        numbers: NumbersInput::List(Vec::new()),
        country: String::new(),
        region: None,
        area_code: None,
        provider: None,
        carrier_module: None,
        number_type: None,
        monthly_cost: None,
        currency: None,
        tenant_id: None,
    };
    let mut number = String::new();
    for (column, value) in columns.iter().zip(record.iter()) {
        if value.is_empty() {
            continue;
        }
        let text = Some(value.to_owned());
        match column.as_str() {
            "number" => number = value.to_owned(),
            "country" => req.country = value.to_owned(),
            "region" => req.region = text,
            "area_code" => req.area_code = text,
            "provider" => req.provider = text,
            "carrier_module" => req.carrier_module = text,
            "number_type" => req.number_type = text,
            "monthly_cost" => {
                let price: Price = value.parse().map_err(|e| format!("monthly_cost: {e}"))?;
                req.monthly_cost = Some(price);
            }
            "currency" => req.currency = text,
            "tenant_id" => {
                let id = Uuid::parse_str(value).map_err(|e| format!("tenant_id {value:?}: {e}"))?;
                req.tenant_id = Some(id);
            }
            other => return Err(format!("unknown column {other:?}")),
        }
    }
    Ok((req, number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(req: &ImportRequest) -> &[String] {
        match &req.numbers {
            NumbersInput::List(l) => l,
            NumbersInput::Text(_) => panic!("csv groups hold lists"),
        }
    }

    #[test]
    fn groups_rows_by_attributes() {
        let g = import_groups(
            "number,country,monthly_cost\n15550001000-15550001009,US,1.5\n15550002000,US,1.5\n442079460000,GB,2\nbad\n",
        )
        .unwrap();
        assert_eq!(g.requests.len(), 2);
        assert_eq!(g.rejected.len(), 1);
        assert_eq!(g.rejected[0].input, "bad");
        let us = g.requests.iter().find(|(r, _)| r.country == "US").unwrap();
        assert_eq!(numbers(&us.0).len(), 2);
        assert_eq!(us.0.monthly_cost, Some("1.5".parse().unwrap()));
        assert!(import_groups("").is_err());
        assert!(import_groups("\n\n").is_err());
        assert!(import_groups("number\n1555").is_err(), "country is required");
        assert!(import_groups("number,country,colour\n").is_err());
    }

    #[test]
    fn reads_bom_crlf_and_quoted_fields() {
        let g = import_groups(
            "\u{feff}Number,country,region,provider\r\n\
             15550001000,US,\"Albany, NY\",\"Acme \"\"Tel\"\"\"\r\n\
             15550001001,US,\"Albany, NY\",\"Acme \"\"Tel\"\"\"\r\n\
             15550001002,US,\"New\r\nYork\",x\r\n",
        )
        .unwrap();
        assert!(g.rejected.is_empty(), "{:?}", g.rejected);
        let albany = g.requests.iter().find(|(r, _)| r.region.as_deref() == Some("Albany, NY")).unwrap();
        assert_eq!(albany.0.provider.as_deref(), Some("Acme \"Tel\""));
        assert_eq!(numbers(&albany.0), ["15550001000", "15550001001"]);
        assert_eq!(albany.1[0], "15550001000,US,\"Albany, NY\",\"Acme \"\"Tel\"\"\"");
        let york = g.requests.iter().find(|(r, _)| r.provider.as_deref() == Some("x")).unwrap();
        assert_eq!(york.0.region.as_deref(), Some("New\r\nYork"));
    }

    #[test]
    fn rejects_unreadable_cells_alone() {
        let g = import_groups(
            "number,country,monthly_cost,tenant_id\n1,US,abc,\n2,US,-1,\n3,US,1.23456,\n4,US,,nope\n5,US,1,\n",
        )
        .unwrap();
        let reasons: Vec<&str> = g.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("monthly_cost") && reasons[0].contains("\"abc\""), "{reasons:?}");
        assert!(reasons[1].contains("negative"), "{reasons:?}");
        assert!(reasons[2].contains("more than 4 decimal places"), "{reasons:?}");
        assert!(reasons[3].starts_with("tenant_id \"nope\""), "{reasons:?}");
        assert_eq!(g.requests.len(), 1);
    }
}
