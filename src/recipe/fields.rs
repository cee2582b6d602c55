//! Reading the keys of one recipe table with precise errors: wrong types
//! point at the value, missing keys at the table, unknown keys at the key
//! (with "did you mean"). Strings are rendered as handlebars templates with
//! the recipe variables.
use std::ops::Range;

use super::RecipeError;
use super::value::{Kind, Node};

/// The closest of `candidates` to `word`, if any is close enough to suggest.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// " (did you mean `x`?)" or nothing.
pub fn suggestion(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// The keys of one table, read one by one; [`Fields::finish`] rejects the rest.
pub struct Fields<'a> {
    table: &'a Node,
    entries: &'a [(String, Range<usize>, Node)],
    asked: Vec<&'static str>,
    vars: &'a serde_json::Value,
    what: String,
}

impl<'a> Fields<'a> {
    /// Fields of `table` (which must be a table), described as `what` in errors
    /// (e.g. "a `file` resource").
    pub fn new(
        table: &'a Node,
        vars: &'a serde_json::Value,
        what: impl Into<String>,
    ) -> Result<Self, RecipeError> {
        let what = what.into();
        match &table.kind {
            Kind::Table(entries) => Ok(Fields {
                table,
                entries,
                asked: Vec::new(),
                vars,
                what,
            }),
            _ => Err(table.error(format!(
                "expected {what} as a table, found {}",
                table.type_name()
            ))),
        }
    }

    /// The table itself (for errors about the whole resource).
    pub fn table(&self) -> &'a Node {
        self.table
    }

    /// The raw value of `key`, if present.
    pub fn node(&mut self, key: &'static str) -> Option<&'a Node> {
        self.asked.push(key);
        self.entries.iter().find(|(k, _, _)| k == key).map(|e| &e.2)
    }

    /// An error at the whole table.
    pub fn error(&self, message: impl Into<String>) -> RecipeError {
        self.table.error(message)
    }

    fn missing(&self, key: &str, ty: &str) -> RecipeError {
        self.table
            .error(format!("missing key `{key}` ({ty}) in {}", self.what))
    }

    fn wrong(&self, key: &str, node: &Node, ty: &str) -> RecipeError {
        node.error(format!(
            "`{key}` in {} must be {ty}, found {}",
            self.what,
            node.type_name()
        ))
    }

    /// Render `s` (written at `node`) with the recipe variables; an error
    /// names the field, the resource and the variable.
    pub fn render(&self, node: &Node, s: &str) -> Result<String, RecipeError> {
        if !s.contains("{{") {
            return Ok(s.to_owned());
        }
        super::render::render(s, self.vars)
            .map_err(|e| node.error(format!("{} in {}: {e}", self.field_of(node), self.what)))
    }

    /// Render the text of template file `file`, named at `node`.
    pub fn render_file(&self, node: &Node, file: &str, s: &str) -> Result<String, RecipeError> {
        super::render::render(s, self.vars).map_err(|e| {
            node.error(format!(
                "template `{file}` ({} in {}): {e}",
                self.field_of(node),
                self.what
            ))
        })
    }

    /// "`key`" for the value at `node` (an item of a list counts as its key).
    fn field_of(&self, node: &Node) -> String {
        self.entries
            .iter()
            .find(|(_, _, n)| n.span.start <= node.span.start && node.span.end <= n.span.end)
            .map_or_else(|| "a value".to_owned(), |(k, _, _)| format!("`{k}`"))
    }

    /// An optional string, rendered.
    pub fn opt_str(&mut self, key: &'static str) -> Result<Option<String>, RecipeError> {
        match self.node(key) {
            None => Ok(None),
            Some(n) => match &n.kind {
                Kind::Str(s) => self.render(n, s).map(Some),
                _ => Err(self.wrong(key, n, "a string")),
            },
        }
    }

    /// An optional string, not rendered (expressions, names).
    pub fn opt_raw_str(&mut self, key: &'static str) -> Result<Option<String>, RecipeError> {
        match self.node(key) {
            None => Ok(None),
            Some(n) => match &n.kind {
                Kind::Str(s) => Ok(Some(s.clone())),
                _ => Err(self.wrong(key, n, "a string")),
            },
        }
    }

    /// A required string, rendered.
    pub fn str(&mut self, key: &'static str) -> Result<String, RecipeError> {
        self.opt_str(key)?
            .ok_or_else(|| self.missing(key, "a string"))
    }

    /// A string or array of strings (each rendered); empty when absent.
    pub fn str_list(&mut self, key: &'static str) -> Result<Vec<String>, RecipeError> {
        let Some(n) = self.node(key) else {
            return Ok(Vec::new());
        };
        match &n.kind {
            Kind::Str(s) => match self.list_var(s) {
                Some(list) => list.map_err(|e| n.error(format!("`{key}` in {}: {e}", self.what))),
                None => Ok(vec![self.render(n, s)?]),
            },
            Kind::Array(items) => items
                .iter()
                .map(|i| match &i.kind {
                    Kind::Str(s) => self.render(i, s),
                    _ => Err(i.error(format!(
                        "items of `{key}` in {} must be strings, found {}",
                        self.what,
                        i.type_name()
                    ))),
                })
                .collect(),
            _ => Err(self.wrong(key, n, "a string or an array of strings")),
        }
    }

    /// `"{{ some.list }}"` (nothing but one variable) names a list variable,
    /// as in Ansible: its items are the strings. `None` when `s` is anything
    /// else or the variable is not a list (then `s` is an ordinary template).
    fn list_var(&self, s: &str) -> Option<Result<Vec<String>, String>> {
        let path = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
        if path.is_empty()
            || !path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return None;
        }
        let serde_json::Value::Array(items) = super::when::lookup(self.vars, path)? else {
            return None;
        };
        Some(
            items
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!("`{path}` must list strings, found {other}")),
                })
                .collect(),
        )
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, key: &'static str) -> Result<Option<bool>, RecipeError> {
        match self.node(key) {
            None => Ok(None),
            Some(n) => match &n.kind {
                Kind::Bool(b) => Ok(Some(*b)),
                _ => Err(self.wrong(key, n, "true or false")),
            },
        }
    }

    /// A boolean with a default.
    pub fn bool_or(&mut self, key: &'static str, default: bool) -> Result<bool, RecipeError> {
        Ok(self.opt_bool(key)?.unwrap_or(default))
    }

    /// An optional non-negative integer.
    pub fn opt_u32(&mut self, key: &'static str) -> Result<Option<u32>, RecipeError> {
        match self.node(key) {
            None => Ok(None),
            Some(n) => match &n.kind {
                Kind::Int(i) => u32::try_from(*i)
                    .map(Some)
                    .map_err(|_| n.error(format!("`{key}` must be between 0 and {}", u32::MAX))),
                _ => Err(self.wrong(key, n, "an integer")),
            },
        }
    }

    /// An optional file mode written as an octal string (`"0644"`).
    pub fn opt_mode(&mut self, key: &'static str) -> Result<Option<u32>, RecipeError> {
        let Some(n) = self.node(key) else {
            return Ok(None);
        };
        let bad = || {
            n.error(format!(
                "`{key}` must be an octal mode as a string, like \"0644\""
            ))
        };
        match &n.kind {
            Kind::Str(s) => {
                let s = self.render(n, s)?;
                let m = u32::from_str_radix(s.trim(), 8).map_err(|_| bad())?;
                if m > 0o7777 { Err(bad()) } else { Ok(Some(m)) }
            }
            _ => Err(bad()),
        }
    }

    /// An optional string that must be one of `choices`.
    pub fn opt_choice(
        &mut self,
        key: &'static str,
        choices: &[&'static str],
    ) -> Result<Option<&'static str>, RecipeError> {
        let Some(n) = self.node(key) else {
            return Ok(None);
        };
        let Kind::Str(s) = &n.kind else {
            return Err(self.wrong(key, n, "a string"));
        };
        choices
            .iter()
            .find(|c| **c == s)
            .copied()
            .map(Some)
            .ok_or_else(|| {
                n.error(format!(
                    "`{key}` must be one of {}, found `{s}`{}",
                    choices
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    suggestion(s, choices)
                ))
            })
    }

    /// Fail on any key that was never asked for, suggesting a close one.
    pub fn finish(self) -> Result<(), RecipeError> {
        for (k, span, _) in self.entries {
            if !self.asked.contains(&k.as_str()) {
                let mut allowed = self.asked.clone();
                allowed.sort_unstable();
                allowed.dedup();
                return Err(self.table.src.error(
                    span,
                    format!(
                        "unknown key `{k}` in {}{} (known keys: {})",
                        self.what,
                        suggestion(k, &allowed),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::value::parse;
    use std::path::Path;

    #[test]
    fn unknown_keys_suggest_close_ones() {
        let n = parse(Path::new("r.toml"), "pth = \"/x\"\n".into()).unwrap();
        let vars = serde_json::json!({});
        let mut f = Fields::new(&n, &vars, "a `file` resource").unwrap();
        assert!(f.opt_str("path").unwrap().is_none());
        let e = f.finish().unwrap_err().to_string();
        assert!(e.starts_with("r.toml:1:1: unknown key `pth`"), "{e}");
        assert!(e.contains("did you mean `path`?"), "{e}");
    }

    #[test]
    fn types_modes_and_templates() {
        let text = "mode = \"0755\"\nname = \"{{user}}-x\"\nbad = 3\n";
        let n = parse(Path::new("r.toml"), text.into()).unwrap();
        let vars = serde_json::json!({"user": "jo"});
        let mut f = Fields::new(&n, &vars, "x").unwrap();
        assert_eq!(f.opt_mode("mode").unwrap(), Some(0o755));
        assert_eq!(f.str("name").unwrap(), "jo-x");
        let e = f.str("bad").unwrap_err().to_string();
        assert_eq!(
            e,
            "r.toml:3:7: `bad` in x must be a string, found an integer"
        );
        let e = f.str("gone").unwrap_err().to_string();
        assert!(e.contains("missing key `gone`"), "{e}");
    }
}
