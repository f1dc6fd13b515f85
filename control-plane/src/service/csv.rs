//! `text/csv` inventory imports: a header row, one number or range per row.

use std::collections::BTreeMap;

use super::inventory::{ImportRequest, NumbersInput, Rejected};
use crate::error::{ApiError, ApiResult};

/// Columns a CSV import may have.
const COLUMNS: [&str; 10] = [
    "number",
    "country",
    "region",
    "area_code",
    "provider",
    "carrier_module",
    "number_type",
    "monthly_cost",
    "currency",
    "tenant_id",
];

/// Rows grouped into import requests (with each group's original lines),
/// and the rows that could not be read.
pub struct Groups {
    pub requests: Vec<(ImportRequest, Vec<String>)>,
    pub rejected: Vec<Rejected>,
}

/// Splits one CSV line into fields: commas separate, double quotes quote,
/// `""` inside quotes is a quote.
fn fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true
            }
            (',', false) => out.push(std::mem::take(&mut cur).trim().to_owned()),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    out.push(cur.trim().to_owned());
    Ok(out)
}

pub fn import_groups(body: &str) -> ApiResult<Groups> {
    let mut lines = body.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| ApiError::BadRequest("invalid-csv", "the CSV is empty: it needs a header row".into()))?;
    let header = fields(header).map_err(|e| ApiError::BadRequest("invalid-csv", format!("header: {e}")))?;
    let header: Vec<String> =
        header.into_iter().map(|h| if h == "numbers" { "number".to_owned() } else { h.to_ascii_lowercase() }).collect();
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(ApiError::BadRequest(
            "invalid-csv",
            format!("unknown column {unknown:?}: columns are {}", COLUMNS.join(", ")),
        ));
    }
    for required in ["number", "country"] {
        if !header.iter().any(|h| h == required) {
            return Err(ApiError::BadRequest("invalid-csv", format!("the header must name a {required} column")));
        }
    }
    let mut groups: BTreeMap<String, (ImportRequest, Vec<String>)> = BTreeMap::new();
    let mut rejected = Vec::new();
    for line in lines {
        let row = match fields(line) {
            Ok(r) if r.len() == header.len() => r,
            Ok(r) => {
                rejected.push(Rejected {
                    input: line.to_owned(),
                    reason: format!("{} fields where the header has {}", r.len(), header.len()),
                });
                continue;
            }
            Err(e) => {
                rejected.push(Rejected { input: line.to_owned(), reason: e });
                continue;
            }
        };
        let mut obj = serde_json::Map::new();
        let mut number = String::new();
        for (h, v) in header.iter().zip(row) {
            if h == "number" {
                number = v;
            } else if !v.is_empty() {
                let value = if h == "monthly_cost" {
                    match v.parse::<f64>() {
                        Ok(c) => serde_json::json!(c),
                        Err(_) => serde_json::json!(v),
                    }
                } else {
                    serde_json::json!(v)
                };
                obj.insert(h.clone(), value);
            }
        }
        // rows with the same attributes form one request
        let key = serde_json::Value::Object(obj.clone()).to_string();
        obj.insert("numbers".into(), serde_json::json!([]));
        let req: ImportRequest = match serde_json::from_value(serde_json::Value::Object(obj)) {
            Ok(r) => r,
            Err(e) => {
                rejected.push(Rejected { input: line.to_owned(), reason: e.to_string() });
                continue;
            }
        };
        let entry = groups.entry(key).or_insert_with(|| (req, Vec::new()));
        if let NumbersInput::List(list) = &mut entry.0.numbers {
            list.push(number);
        }
        entry.1.push(line.to_owned());
    }
    Ok(Groups { requests: groups.into_values().collect(), rejected })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields() {
        assert_eq!(fields(r#"a, "b,c" ,"d""e",,"#).unwrap(), ["a", "b,c", "d\"e", "", ""]);
        assert!(fields(r#""open"#).is_err());
    }

    #[test]
    fn groups_rows_by_attributes() {
        let g = import_groups(
            "number,country,monthly_cost\n15550001000-15550001009,US,1.5\n15550002000,US,1.5\n442079460000,GB,2\nbad\n",
        )
        .unwrap();
        assert_eq!(g.requests.len(), 2);
        assert_eq!(g.rejected.len(), 1);
        let us = g.requests.iter().find(|(r, _)| r.country == "US").unwrap();
        assert!(matches!(&us.0.numbers, NumbersInput::List(l) if l.len() == 2));
        assert_eq!(us.0.monthly_cost, Some(1.5));
        assert!(import_groups("").is_err());
        assert!(import_groups("number\n1555").is_err(), "country is required");
        assert!(import_groups("number,country,colour\n").is_err());
    }
}
