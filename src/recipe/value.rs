//! A recipe file as an owned tree of values that remember where they were
//! written, so every error can point at `file:line:col`.
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::RecipeError;
use crate::location::SourceSpan;

/// The text of one recipe file, shared by every value read from it.
#[derive(Debug)]
pub struct Source {
    /// The file as the user named it.
    pub path: PathBuf,
    /// Its full text.
    pub text: String,
}

impl Source {
    /// The `file:line:col` of byte offset `at`.
    pub fn span(&self, at: usize) -> SourceSpan {
        SourceSpan::from_offset(&self.path, &self.text, at)
    }

    /// A syntax error at byte range `at`.
    pub fn error(&self, at: &Range<usize>, message: impl Into<String>) -> RecipeError {
        RecipeError::Syntax {
            span: self.span(at.start),
            message: message.into(),
        }
    }
}

/// A value with the byte range it came from.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Bytes in the source file.
    pub span: Range<usize>,
    /// The file it came from.
    pub src: Arc<Source>,
}

/// The shapes a TOML value can take.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A date/time, kept as written.
    Datetime(String),
    /// An array.
    Array(Vec<Node>),
    /// A table: keys (with their spans) in file order of appearance.
    Table(Vec<(String, Range<usize>, Node)>),
}

impl Node {
    /// What this value is, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime(_) => "a date",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }

    /// An error pointing at this value.
    pub fn error(&self, message: impl Into<String>) -> RecipeError {
        self.src.error(&self.span, message)
    }

    /// This value as JSON (for template variables).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            Kind::Str(s) | Kind::Datetime(s) => J::String(s.clone()),
            Kind::Int(i) => J::from(*i),
            Kind::Float(f) => J::from(*f),
            Kind::Bool(b) => J::Bool(*b),
            Kind::Array(a) => J::Array(a.iter().map(Node::to_json).collect()),
            Kind::Table(t) => {
                J::Object(t.iter().map(|(k, _, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

/// Parse `text` (read from `path`) into a spanned tree.
pub fn parse(path: &Path, text: String) -> Result<Node, RecipeError> {
    let src = Arc::new(Source {
        path: path.to_owned(),
        text,
    });
    let parsed = DeTable::parse(&src.text).map_err(|e| {
        let at = e.span().unwrap_or(0..0);
        src.error(&at, first_line(e.message()))
    })?;
    let span = parsed.span();
    let table = convert_table(parsed.get_ref(), &src);
    Ok(Node {
        kind: table,
        span,
        src: src.clone(),
    })
}

fn first_line(msg: &str) -> String {
    msg.lines().next().unwrap_or(msg).trim().to_owned()
}

fn convert_table(t: &DeTable<'_>, src: &Arc<Source>) -> Kind {
    let mut entries: Vec<(String, Range<usize>, Node)> = t
        .iter()
        .map(|(k, v)| {
            (
                k.get_ref().to_string(),
                k.span(),
                convert(v.get_ref(), v.span(), src),
            )
        })
        .collect();
    // the parser's map is sorted by key; users think in file order
    entries.sort_by_key(|(_, span, _)| span.start);
    Kind::Table(entries)
}

fn convert(v: &DeValue<'_>, span: Range<usize>, src: &Arc<Source>) -> Node {
    let kind = match v {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
            Ok(n) => Kind::Int(n),
            Err(_) => Kind::Str(i.as_str().to_owned()),
        },
        DeValue::Float(f) => Kind::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(d) => Kind::Datetime(d.to_string()),
        DeValue::Array(a) => Kind::Array(
            a.iter()
                .map(|x| convert(x.get_ref(), x.span(), src))
                .collect(),
        ),
        DeValue::Table(t) => convert_table(t, src),
    };
    Node {
        kind,
        span,
        src: src.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_file_order_and_spans() {
        let n = parse(Path::new("r.toml"), "b = 1\na = \"x\"\n".into()).unwrap();
        let Kind::Table(t) = &n.kind else { panic!() };
        assert_eq!(t[0].0, "b");
        assert_eq!(t[1].0, "a");
        assert_eq!(t[1].2.error("bad").to_string(), "r.toml:2:5: bad");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse(Path::new("r.toml"), "a = 1\nb = [1,\n".into()).unwrap_err();
        assert!(e.to_string().starts_with("r.toml:"), "{e}");
    }
}
