//! Writing to stdout: aligned tables, key/value listings, JSON. A closed
//! pipe (`didctl … | head`) ends the program quietly with success.

use std::io::{ErrorKind, Write};

use serde_json::Value;

/// Writes `text` to stdout; exits 0 if the reader went away.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let res = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
    if let Err(e) = res {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("didctl: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// Pretty JSON, as the server sent it.
pub fn json(v: &Value) {
    out(&format!("{}\n", serde_json::to_string_pretty(v).expect("a JSON value serialises")));
}

/// One JSON value on one line (event tails).
pub fn json_line(v: &Value) {
    out(&format!("{v}\n"));
}

/// A field as a table cell: `-` for null or absent, strings without quotes.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// An aligned table: two spaces between columns, header in capitals.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = String>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(&c);
            l.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(c.chars().count())));
        }
        s.push_str(l.trim_end());
        s.push('\n');
    };
    line(&mut headers.iter().map(|h| h.to_uppercase()));
    for row in rows {
        line(&mut row.iter().cloned());
    }
    s
}

/// `key  value` lines for an object, nested objects as `outer.inner`; the
/// top-level keys named in `first` come first, in that order.
pub fn key_values(v: &Value, first: &[&str]) -> String {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&key, v, out);
                }
            }
            Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
                out.push(vec![prefix.to_owned(), a.iter().map(cell).collect::<Vec<_>>().join(", ")]);
            }
            other => out.push(vec![prefix.to_owned(), cell(other)]),
        }
    }
    let mut rows = Vec::new();
    match v {
        Value::Object(m) => {
            for k in first {
                if let Some(x) = m.get(*k) {
                    walk(k, x, &mut rows);
                }
            }
            for (k, x) in m.iter().filter(|(k, _)| !first.contains(&k.as_str())) {
                walk(k, x, &mut rows);
            }
        }
        other => walk("", other, &mut rows),
    }
    let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    rows.iter().map(|r| format!("{}\n", format!("{:width$}  {}", r[0], r[1]).trim_end())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align() {
        let t = table(
            &["number", "status"],
            &[vec!["+15550001000".into(), "allocated".into()], vec!["+1".into(), "-".into()]],
        );
        assert_eq!(t, "NUMBER        STATUS\n+15550001000  allocated\n+1            -\n");
    }

    #[test]
    fn key_values_flatten() {
        let kv =
            key_values(&json!({"number": "+1555", "a": 3, "route": {"subsystem": "psap", "x": null}}), &["number"]);
        assert_eq!(kv, "number           +1555\na                3\nroute.subsystem  psap\nroute.x          -\n");
    }

    #[test]
    fn cells() {
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!("a")), "a");
        assert_eq!(cell(&json!(true)), "yes");
        assert_eq!(cell(&json!(1.25)), "1.25");
    }
}
