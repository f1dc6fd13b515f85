//! `didctl import`: a PortSIP or CSV file into `POST /v1/inventory`, in
//! batches, with a progress bar on stderr.
//!
//! PortSIP: every number and range of the file shares the attributes given
//! as flags; ranges are split so no request carries more than the batch size.
//! CSV: rows are grouped by their attributes (country, region, …, tenant_id);
//! each group goes as requests whose `numbers` is a list, with consecutive
//! numbers joined into ranges (so a tenant's private pool gets a few ranges,
//! not one per row). The file is read twice (count, then send), so a huge
//! file streams with bounded memory. Parts that do not parse locally are
//! still sent: the server reports them in `rejected` with its reason.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use didroute_shared::wire::{ImportRequest, NumbersInput, Price, CSV_COLUMNS};
use didroute_shared::{parse_ranges, NumberRange, E164};
use reqwest::Method;
use serde_json::{json, Value};

use crate::cli::{ImportArgs, ImportAttrs, ImportFormat};
use crate::client::{Client, Failure, Result};
use crate::output;
use crate::progress::{Counts, Progress};

/// Buffered CSV numbers, across groups, above which every group is sent.
const BUFFERED_BATCHES: u64 = 10;

/// The attributes one import request gives all its numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Attrs {
    country: String,
    region: Option<String>,
    area_code: Option<String>,
    provider: Option<String>,
    carrier_module: Option<String>,
    number_type: Option<String>,
    /// Checked to be a price (a decimal of at most 4 places), sent as written.
    monthly_cost: Option<String>,
    currency: Option<String>,
    /// Checked to be a UUID.
    tenant_id: Option<String>,
}

impl Attrs {
    /// The request body: the shared wire type, so didctl sends exactly the
    /// fields the server reads.
    fn body(&self, numbers: Vec<String>) -> ImportRequest {
        ImportRequest {
            numbers: NumbersInput::List(numbers),
            country: self.country.clone(),
            region: self.region.clone(),
            area_code: self.area_code.clone(),
            provider: self.provider.clone(),
            carrier_module: self.carrier_module.clone(),
            number_type: self.number_type.clone(),
            monthly_cost: self.monthly_cost.as_deref().map(|c| c.parse().expect("checked when read")),
            currency: self.currency.clone(),
            tenant_id: self.tenant_id.as_deref().map(|t| t.parse().expect("checked when read")),
        }
    }
}

fn check_cost(v: &str) -> std::result::Result<String, String> {
    v.parse::<Price>().map(|_| v.to_owned()).map_err(|e| format!("monthly_cost {v:?}: {e}"))
}

fn check_tenant(v: &str) -> std::result::Result<String, String> {
    uuid::Uuid::parse_str(v).map(|u| u.to_string()).map_err(|_| format!("tenant_id {v:?} is not a UUID"))
}

/// One part of the input: a range that parsed, or text the server judges.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Range(NumberRange),
    Raw(String),
}

impl Entry {
    /// Progress units: the numbers of a range, one for anything else.
    fn units(&self) -> u64 {
        match self {
            Entry::Range(r) => r.len(),
            Entry::Raw(_) => 1,
        }
    }
}

/// The entries of PortSIP text: good ranges, then the parts that did not parse.
fn entries(text: &str) -> Vec<Entry> {
    let parsed = parse_ranges(text);
    let mut out: Vec<Entry> = parsed.ranges.into_iter().map(Entry::Range).collect();
    out.extend(parsed.rejected.into_iter().map(|r| Entry::Raw(r.input)));
    out
}

/// Sorts ranges and joins those that touch or overlap (duplicates go).
fn coalesce(entries: Vec<Entry>) -> Vec<Entry> {
    let mut ranges = Vec::new();
    let mut raw = Vec::new();
    for e in entries {
        match e {
            Entry::Range(r) => ranges.push(r),
            Entry::Raw(s) => raw.push(Entry::Raw(s)),
        }
    }
    ranges.sort_by_key(|r| (r.first, r.last));
    let mut out: Vec<NumberRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        if let Some(last) = out.last_mut() {
            if r.first.as_u64() <= last.last.as_u64().saturating_add(1) {
                if r.last <= last.last {
                    continue;
                }
                // ends of another length or calling code, or too long: kept apart
                if let Ok(joined) = NumberRange::new(last.first, r.last) {
                    *last = joined;
                    continue;
                }
            }
        }
        out.push(r);
    }
    out.into_iter().map(Entry::Range).chain(raw).collect()
}

/// Cuts entries into request batches of at most `batch` numbers, splitting
/// ranges where needed; returns each batch's texts and unit count.
fn split(entries: Vec<Entry>, batch: u64) -> Vec<(Vec<String>, u64)> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut n = 0u64;
    for e in entries {
        match e {
            Entry::Raw(s) => {
                cur.push(s);
                n += 1;
            }
            Entry::Range(mut r) => loop {
                let room = batch - n;
                if r.len() <= room {
                    cur.push(r.to_string());
                    n += r.len();
                    break;
                }
                let head_last = E164::from_u64(r.first.as_u64() + room - 1).expect("inside a valid range");
                cur.push(NumberRange { first: r.first, last: head_last }.to_string());
                out.push((std::mem::take(&mut cur), batch));
                n = 0;
                r.first = E164::from_u64(head_last.as_u64() + 1).expect("inside a valid range");
            },
        }
        if n >= batch {
            out.push((std::mem::take(&mut cur), n));
            n = 0;
        }
    }
    if !cur.is_empty() {
        out.push((cur, n));
    }
    out
}

/// Sends batches and adds up the answers.
struct Importer<'a> {
    client: &'a Client,
    progress: Progress,
    counts: Counts,
    rejected: Vec<Value>,
    batch: u64,
    /// CSV: a group the server refuses as bad input (400, 422) is rejected
    /// entry by entry and the import goes on, as the server's own CSV import does.
    refusal_rejects: bool,
}

impl Importer<'_> {
    /// Sends `entries` with `attrs`; `units` is what they count for in the progress bar.
    async fn send(&mut self, attrs: &Attrs, entries: Vec<Entry>, units: u64) -> Result<()> {
        let batches = split(entries, self.batch);
        let sent: u64 = batches.iter().map(|b| b.1).sum();
        let last = batches.len().saturating_sub(1);
        for (i, (texts, mut n)) in batches.into_iter().enumerate() {
            if i == last {
                // duplicates joined away still count as done
                n += units.saturating_sub(sent);
            }
            let body = serde_json::to_value(attrs.body(texts)).expect("an import request serialises");
            match self.client.call(Method::POST, "/v1/inventory", &vec![], Some(&body), &[]).await {
                Ok(a) => {
                    let get = |k: &str| a.body.get(k).and_then(Value::as_u64).unwrap_or(0);
                    self.counts.imported += get("imported");
                    self.counts.already_present += get("already_present");
                    if let Some(r) = a.body.get("rejected").and_then(Value::as_array) {
                        self.counts.rejected += r.len() as u64;
                        self.rejected.extend(r.iter().cloned());
                    }
                }
                Err(f) if self.refusal_rejects && matches!(f.status(), Some(400 | 422)) => {
                    let reason = f.to_string();
                    if let Some(Value::Array(list)) = body.get("numbers") {
                        self.counts.rejected += list.len() as u64;
                        self.rejected.extend(list.iter().map(|input| json!({ "input": input, "reason": reason })));
                    }
                }
                Err(f) => return Err(f),
            }
            self.counts.requests += 1;
            self.progress.advance(n, &self.counts);
        }
        Ok(())
    }

    /// A row the file itself got wrong: rejected here, nothing sent.
    fn reject_row(&mut self, input: String, reason: String) {
        self.counts.rejected += 1;
        self.rejected.push(json!({ "input": input, "reason": reason }));
        self.progress.skip(1, &self.counts);
    }
}

pub async fn run(client: &Client, args: &ImportArgs, json_out: bool) -> Result<()> {
    let format = match args.format {
        ImportFormat::Auto => detect(&args.file)?,
        f => f,
    };
    let mut importer = Importer {
        client,
        progress: Progress::new(0, false),
        counts: Counts::default(),
        rejected: Vec::new(),
        batch: args.batch_size,
        refusal_rejects: format == ImportFormat::Csv,
    };
    let res = match format {
        ImportFormat::Csv => csv_import(&mut importer, args).await,
        _ => portsip_import(&mut importer, args).await,
    };
    importer.progress.finish(&importer.counts);
    let c = importer.counts;
    if let Err(e) = res {
        if c.requests > 0 {
            eprintln!(
                "didctl: import stopped after {} requests (imported {}, already present {}, rejected {} so far); \
                 running it again is safe: numbers already present are skipped",
                c.requests, c.imported, c.already_present, c.rejected
            );
        }
        return Err(e);
    }
    let summary = json!({
        "imported": c.imported,
        "already_present": c.already_present,
        "rejected": importer.rejected,
    });
    if json_out {
        output::json(&summary);
    } else {
        let mut s = format!(
            "imported         {}\nalready present  {}\nrejected         {}\n",
            c.imported, c.already_present, c.rejected
        );
        const SHOWN: usize = 50;
        if !importer.rejected.is_empty() {
            let rows: Vec<Vec<String>> = importer
                .rejected
                .iter()
                .take(SHOWN)
                .map(|r| vec![output::cell(&r["input"]), output::cell(&r["reason"])])
                .collect();
            s.push('\n');
            s.push_str(&output::table(&["input", "reason"], &rows));
            if importer.rejected.len() > SHOWN {
                s.push_str(&format!("… and {} more (--json lists them all)\n", importer.rejected.len() - SHOWN));
            }
        }
        output::out(&s);
    }
    if c.rejected > 0 {
        return Err(Failure::Partial(format!(
            "inputs rejected: {} (listed on stdout); everything else was imported",
            c.rejected
        )));
    }
    Ok(())
}

/// CSV when the file is named `*.csv` or its first line starts with a `number` column.
fn detect(path: &Path) -> Result<ImportFormat> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return Ok(ImportFormat::Csv);
    }
    let file = open(path)?;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| read_error(path, e))?;
        let first = line.trim_start_matches('\u{feff}').split(',').next().unwrap_or("").trim().trim_matches('"');
        if first.is_empty() && line.trim().is_empty() {
            continue;
        }
        let first = first.to_ascii_lowercase();
        return Ok(if first == "number" || first == "numbers" { ImportFormat::Csv } else { ImportFormat::Portsip });
    }
    Ok(ImportFormat::Portsip)
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| read_error(path, e))
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::usage(format!("cannot read {}: {e}", path.display()))
}

fn flag_attrs(a: &ImportAttrs) -> std::result::Result<Attrs, String> {
    Ok(Attrs {
        country: a.country.clone().unwrap_or_default(),
        region: a.region.clone(),
        area_code: a.area_code.clone(),
        provider: a.provider.clone(),
        carrier_module: a.carrier_module.clone(),
        number_type: a.number_type.clone(),
        monthly_cost: a.monthly_cost.map(|c| c.to_string()),
        currency: a.currency.clone(),
        tenant_id: a.tenant_id.as_deref().map(check_tenant).transpose().map_err(|e| format!("--tenant: {e}"))?,
    })
}

async fn portsip_import(importer: &mut Importer<'_>, args: &ImportArgs) -> Result<()> {
    let attrs = flag_attrs(&args.attrs).map_err(Failure::usage)?;
    let text = std::fs::read_to_string(&args.file).map_err(|e| read_error(&args.file, e))?;
    let entries = entries(&text);
    if entries.is_empty() {
        return Err(Failure::usage(format!("{} holds no numbers", args.file.display())));
    }
    let units = entries.iter().map(Entry::units).sum();
    importer.progress = Progress::new(units, !args.quiet);
    importer.send(&attrs, entries, units).await
}

/// Column positions of a CSV header.
struct Header {
    index: BTreeMap<&'static str, usize>,
}

impl Header {
    fn read(rdr: &mut csv::Reader<File>, path: &Path) -> Result<Header> {
        let headers = rdr.headers().map_err(|e| read_error(path, e))?.clone();
        let mut index = BTreeMap::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
            let name = if h == "numbers" { "number" } else { h.as_str() };
            let Some(col) = CSV_COLUMNS.iter().find(|c| **c == name) else {
                return Err(Failure::usage(format!(
                    "{}: unknown column {h:?} in the header; the columns are {}",
                    path.display(),
                    CSV_COLUMNS.join(",")
                )));
            };
            if index.insert(*col, i).is_some() {
                return Err(Failure::usage(format!("{}: column {col:?} appears twice in the header", path.display())));
            }
        }
        if !index.contains_key("number") {
            return Err(Failure::usage(format!(
                "{}: the header has no `number` column; the first line must name the columns, e.g. {}",
                path.display(),
                CSV_COLUMNS.join(",")
            )));
        }
        Ok(Header { index })
    }

    fn get<'r>(&self, rec: &'r csv::StringRecord, col: &str) -> Option<&'r str> {
        self.index.get(col).and_then(|i| rec.get(*i)).map(str::trim).filter(|v| !v.is_empty())
    }
}

fn csv_reader(path: &Path) -> Result<(csv::Reader<File>, Header)> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(open(path)?);
    let header = Header::read(&mut rdr, path)?;
    Ok((rdr, header))
}

/// The attributes of one row, flags filling what it leaves empty.
fn row_attrs(h: &Header, rec: &csv::StringRecord, d: &Attrs) -> std::result::Result<Attrs, String> {
    let col = |c: &str, def: &Option<String>| h.get(rec, c).map(str::to_owned).or_else(|| def.clone());
    let country = col("country", &Some(d.country.clone()).filter(|c| !c.is_empty()))
        .ok_or("no country: give a country column or --country")?;
    Ok(Attrs {
        country,
        region: col("region", &d.region),
        area_code: col("area_code", &d.area_code),
        provider: col("provider", &d.provider),
        carrier_module: col("carrier_module", &d.carrier_module),
        number_type: col("number_type", &d.number_type),
        monthly_cost: h.get(rec, "monthly_cost").map(check_cost).transpose()?.or_else(|| d.monthly_cost.clone()),
        currency: col("currency", &d.currency),
        tenant_id: h.get(rec, "tenant_id").map(check_tenant).transpose()?.or_else(|| d.tenant_id.clone()),
    })
}

#[derive(Default)]
struct Group {
    entries: Vec<Entry>,
    units: u64,
}

async fn csv_import(importer: &mut Importer<'_>, args: &ImportArgs) -> Result<()> {
    let defaults = flag_attrs(&args.attrs).map_err(Failure::usage)?;
    let path = &args.file;

    // first pass: the header, and how many numbers there are
    let (mut rdr, header) = csv_reader(path)?;
    let mut units = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => units += header.get(&record, "number").map_or(1, |n| entries(n).iter().map(Entry::units).sum()),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(read_error(path, e)),
            Err(_) => units += 1,
        }
    }
    if units == 0 {
        return Err(Failure::usage(format!("{} holds no rows after its header", path.display())));
    }
    importer.progress = Progress::new(units, !args.quiet);

    // second pass: group rows by attributes, send each group in batches
    let (mut rdr, header) = csv_reader(path)?;
    let mut groups: BTreeMap<Attrs, Group> = BTreeMap::new();
    let mut buffered = 0u64;
    let cap = importer.batch.saturating_mul(BUFFERED_BATCHES);
    loop {
        let line = rdr.position().line() + 1;
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(read_error(path, e)),
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                importer.reject_row(format!("line {line}"), format!("line {line}: {e}"));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let Some(number) = header.get(&record, "number") else {
            importer.reject_row(format!("line {line}"), format!("line {line}: the number is empty"));
            continue;
        };
        let attrs = match row_attrs(&header, &record, &defaults) {
            Ok(a) => a,
            Err(reason) => {
                importer.reject_row(number.to_owned(), format!("line {line}: {reason}"));
                continue;
            }
        };
        let row = entries(number);
        let row_units: u64 = row.iter().map(Entry::units).sum();
        let group = groups.entry(attrs.clone()).or_default();
        group.entries.extend(row);
        group.units += row_units;
        buffered += row_units;
        if group.units >= importer.batch {
            let g = groups.remove(&attrs).expect("just added");
            buffered -= g.units;
            importer.send(&attrs, coalesce(g.entries), g.units).await?;
        } else if buffered >= cap {
            for (attrs, g) in std::mem::take(&mut groups) {
                importer.send(&attrs, coalesce(g.entries), g.units).await?;
            }
            buffered = 0;
        }
    }
    for (attrs, g) in groups {
        importer.send(&attrs, coalesce(g.entries), g.units).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(first: u64, last: u64) -> Entry {
        Entry::Range(NumberRange { first: E164::from_u64(first).unwrap(), last: E164::from_u64(last).unwrap() })
    }

    #[test]
    fn portsip_entries_keep_bad_parts_for_the_server() {
        let e = entries("15550001000-15550001009;4420790000\n\nbogus ; 15550");
        assert_eq!(e.len(), 4);
        assert_eq!(e[0], r(15550001000, 15550001009));
        assert_eq!(e[1], r(4420790000, 4420790000));
        assert!(matches!(&e[2], Entry::Raw(s) if s == "bogus"));
        assert!(matches!(&e[3], Entry::Raw(s) if s == "15550"));
        assert_eq!(e.iter().map(Entry::units).sum::<u64>(), 10 + 1 + 2);
    }

    #[test]
    fn split_cuts_ranges_at_the_batch_size() {
        let b = split(vec![r(15550001000, 15550001024), Entry::Raw("x".into()), r(15550002000, 15550002000)], 10);
        let texts: Vec<_> = b.iter().map(|(t, n)| (t.join(";"), *n)).collect();
        assert_eq!(
            texts,
            [
                ("15550001000-15550001009".to_owned(), 10),
                ("15550001010-15550001019".to_owned(), 10),
                ("15550001020-15550001024;x;15550002000".to_owned(), 7),
            ]
        );
        // every number once, in order
        assert_eq!(b.iter().map(|x| x.1).sum::<u64>(), 27);
        assert_eq!(split(vec![r(15550001000, 15550001009)], 10).len(), 1);
    }

    #[test]
    fn coalesce_joins_neighbours_and_drops_duplicates() {
        let joined = coalesce(vec![
            r(15550001002, 15550001002),
            r(15550001000, 15550001000),
            r(15550001001, 15550001001),
            r(15550001001, 15550001001),
            Entry::Raw("nope".into()),
            r(15550001005, 15550001006),
            // another calling code right after: not joined
            r(4420790000, 4420790001),
        ]);
        assert_eq!(
            joined,
            [
                r(4420790000, 4420790001),
                r(15550001000, 15550001002),
                r(15550001005, 15550001006),
                Entry::Raw("nope".into())
            ]
        );
    }

    #[test]
    fn bodies_carry_only_given_fields() {
        let a = Attrs {
            country: "US".into(),
            monthly_cost: Some("1.5".into()),
            tenant_id: Some("00000000-0000-0000-0000-000000000001".into()),
            ..Attrs::default()
        };
        assert_eq!(
            serde_json::to_value(a.body(vec!["1".into()])).unwrap(),
            json!({"numbers": ["1"], "country": "US", "monthly_cost": "1.50",
                   "tenant_id": "00000000-0000-0000-0000-000000000001"})
        );
        assert!(check_cost("abc").is_err());
        assert!(check_cost("inf").is_err());
        assert!(check_cost("-1").is_err());
        assert!(check_cost("1.23456").is_err());
        assert_eq!(check_cost("1.25").unwrap(), "1.25");
        assert!(check_tenant("t1").is_err());
    }
}
