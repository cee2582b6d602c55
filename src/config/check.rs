//! Checking one layer (the user's file, or one environment variable) against
//! the [`Shape`] of the config, with every error located in that layer.
use std::collections::BTreeMap;
use std::ops::Range;

use toml_edit::{InlineTable, Item, Key, Table, Value};

use super::error::{ConfigError, Origin};
use super::schema::{Shape, tick_list};

/// Where each value (by dotted key; array items as `key[i]`) came from.
pub(crate) type Locations = BTreeMap<String, Origin>;

/// Maps a byte range of the layer's text to an [`Origin`].
pub(crate) type Locate<'a> = &'a dyn Fn(Option<Range<usize>>) -> Origin;

/// Walks a layer, records where values are and keeps the first error in text order.
pub(crate) struct Checker<'a> {
    locate: Locate<'a>,
    /// Where the checked values came from.
    pub(crate) locations: Locations,
    first: Option<(usize, ConfigError)>,
}

impl<'a> Checker<'a> {
    /// A checker whose positions are turned into origins by `locate`.
    pub(crate) fn new(locate: Locate<'a>) -> Self {
        Checker {
            locate,
            locations: Locations::new(),
            first: None,
        }
    }

    /// The first error found, if any, else the locations.
    pub(crate) fn finish(self) -> Result<Locations, ConfigError> {
        match self.first {
            Some((_, e)) => Err(e),
            None => Ok(self.locations),
        }
    }

    fn fail(&mut self, span: Option<Range<usize>>, key: &str, message: String) {
        let at = span.as_ref().map_or(0, |s| s.start);
        if self.first.as_ref().is_none_or(|(first, _)| at < *first) {
            let origin = (self.locate)(span);
            let error = ConfigError::Value {
                origin,
                key: key.to_owned(),
                message,
            };
            self.first = Some((at, error));
        }
    }

    /// Check `item` found at `path` (empty for the document root).
    pub(crate) fn item(
        &mut self,
        path: &str,
        key_span: Option<Range<usize>>,
        item: &Item,
        shape: &Shape,
    ) {
        match item {
            Item::None => {}
            Item::Value(v) => self.value(path, key_span, v, shape),
            Item::Table(t) => self.table(path, t.span().or(key_span), t, shape),
            Item::ArrayOfTables(a) if matches!(shape, Shape::Array(_) | Shape::Any) => {
                if let Shape::Array(inner) = shape {
                    for (i, t) in a.iter().enumerate() {
                        let span = t.span().or(key_span.clone());
                        self.table(&format!("{path}[{i}]"), span, t, inner);
                    }
                }
            }
            Item::ArrayOfTables(a) => {
                let span = a.span().or(key_span);
                self.fail(
                    span,
                    path,
                    format!("expected {}, found an array of tables", shape.expected()),
                );
            }
        }
    }

    fn table(&mut self, path: &str, span: Option<Range<usize>>, t: &Table, shape: &Shape) {
        self.locations
            .insert(path.to_owned(), (self.locate)(span.clone()));
        if !matches!(shape, Shape::Table(_) | Shape::OpenTable | Shape::Any) {
            let message = format!("expected {}, found a table", shape.expected());
            return self.fail(span, path, message);
        }
        for (name, item) in t.iter() {
            let key = t.key(name);
            self.entry(path, name, key, shape, |c, child, key_span, field| {
                c.item(child, key_span, item, field);
            });
        }
    }

    fn inline_table(&mut self, path: &str, t: &InlineTable, shape: &Shape) {
        for (name, value) in t.iter() {
            let key = t.key(name);
            self.entry(path, name, key, shape, |c, child, key_span, field| {
                c.value(child, key_span, value, field);
            });
        }
    }

    /// Look `name` up in a table shape, then check its value with `check`.
    fn entry(
        &mut self,
        path: &str,
        name: &str,
        key: Option<&Key>,
        shape: &Shape,
        check: impl FnOnce(&mut Self, &str, Option<Range<usize>>, &Shape),
    ) {
        let child = join(path, name);
        let key_span = key.and_then(Key::span);
        match shape {
            Shape::Table(fields) => match fields.iter().find(|f| f.name == name) {
                Some(field) => check(self, &child, key_span, &field.shape),
                None => {
                    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
                    let message = unknown_key_message(name, &names);
                    self.fail(key_span, &child, message);
                }
            },
            _ => check(self, &child, key_span, &Shape::Any),
        }
    }

    fn value(&mut self, path: &str, key_span: Option<Range<usize>>, v: &Value, shape: &Shape) {
        let span = v.span().or(key_span.clone());
        self.locations
            .insert(path.to_owned(), (self.locate)(span.clone()));
        let problem = match (shape, v) {
            (Shape::Any, Value::InlineTable(t)) | (Shape::OpenTable, Value::InlineTable(t)) => {
                self.inline_table(path, t, &Shape::OpenTable);
                None
            }
            (Shape::Any, Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&format!("{path}[{i}]"), span.clone(), item, &Shape::Any);
                }
                None
            }
            (Shape::Any, _) | (Shape::Bool, Value::Boolean(_)) => None,
            (Shape::Table(_), Value::InlineTable(t)) => {
                self.inline_table(path, t, shape);
                None
            }
            (Shape::Str(allowed), Value::String(s)) => check_str(s.value(), allowed.as_deref()),
            (Shape::Int { min, max }, Value::Integer(i)) => {
                let i = *i.value();
                (i < *min || i > *max).then(|| mismatch(shape, v))
            }
            (Shape::Num { above }, Value::Integer(_) | Value::Float(_)) => {
                let f = match v {
                    Value::Integer(i) => *i.value() as f64,
                    Value::Float(f) => *f.value(),
                    _ => 0.0,
                };
                (!f.is_finite() || above.is_some_and(|a| f <= a)).then(|| mismatch(shape, v))
            }
            (Shape::Array(item_shape), Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&format!("{path}[{i}]"), span.clone(), item, item_shape);
                }
                None
            }
            _ => Some(mismatch(shape, v)),
        };
        if let Some(message) = problem {
            self.fail(span, path, message);
        }
    }
}

/// `a.b` from `a` and `b`; the root path is empty.
pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn check_str(s: &str, allowed: Option<&[String]>) -> Option<String> {
    let allowed = allowed?;
    if allowed.iter().any(|a| a == s) {
        return None;
    }
    let mut message = format!("expected one of {}, found {}", tick_list(allowed), quote(s));
    if let Some(best) = did_you_mean(s, allowed) {
        message.push_str(&format!("; did you mean `{best}`?"));
    }
    Some(message)
}

fn mismatch(shape: &Shape, v: &Value) -> String {
    format!("expected {}, found {}", shape.expected(), found(v))
}

/// The message for an unknown key among `valid` keys.
pub(crate) fn unknown_key_message(name: &str, valid: &[String]) -> String {
    match did_you_mean(name, valid) {
        Some(best) => format!("unknown key; did you mean `{best}`?"),
        None => format!("unknown key; expected one of {}", tick_list(valid)),
    }
}

/// The candidate most similar to `input`, if any is similar enough.
pub(crate) fn did_you_mean<'c>(input: &str, candidates: &'c [String]) -> Option<&'c str> {
    let input = input.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&input, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.as_str())
}

/// A short description of a value, for "found ..." in messages.
pub(crate) fn found(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s.value()),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => format!("{:?}", f.value()),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => format!("the date-time {}", d.value()),
        Value::Array(_) => "an array".into(),
        Value::InlineTable(_) => "a table".into(),
    }
}

/// A string in double quotes, shortened if long.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        let head: String = s.chars().take(MAX).collect();
        format!("{:?}", format!("{head}..."))
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_need_similarity() {
        let keys: Vec<String> = ["cpus", "memory_mb", "disk_gb"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(did_you_mean("memroy_mb", &keys), Some("memory_mb"));
        assert_eq!(did_you_mean("memory", &keys), Some("memory_mb"));
        assert_eq!(did_you_mean("CPU", &keys), Some("cpus"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }
}
