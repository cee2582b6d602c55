//! `when` conditions: a tiny expression language over the recipe variables.
//!
//! `enable_r`, `not enable_r`, `flavor == 'gpu'`, `a and (b or not c)`,
//! `config.r.enabled`. A variable is true when it is `true`, a non-empty
//! string other than `"false"`, a non-zero number or a non-empty list.
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Lit(Value),
    Eq,
    Ne,
    And,
    Or,
    Not,
    Open,
    Close,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => (out.push(Tok::Open), i += 1).1,
            ')' => (out.push(Tok::Close), i += 1).1,
            '=' | '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(if c == '=' { Tok::Eq } else { Tok::Ne });
                i += 2;
            }
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|x| *x == c)
                    .ok_or("unterminated string")?;
                out.push(Tok::Lit(Value::String(
                    chars[i + 1..i + 1 + end].iter().collect(),
                )));
                i += end + 2;
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || "_-.".contains(chars[i]))
                {
                    i += 1;
                }
                let w: String = chars[start..i].iter().collect();
                out.push(match w.as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "true" => Tok::Lit(Value::Bool(true)),
                    "false" => Tok::Lit(Value::Bool(false)),
                    _ => match w.parse::<f64>() {
                        Ok(n) => Tok::Lit(Value::from(n)),
                        Err(_) => Tok::Ident(w),
                    },
                });
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    vars: &'a Value,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut v = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let r = self.and()?;
            v = v || r;
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut v = self.not()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let r = self.not()?;
            v = v && r;
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<bool, String> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(!self.not()?);
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<bool, String> {
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let v = self.or()?;
            return match self.next() {
                Some(Tok::Close) => Ok(v),
                _ => Err("expected `)`".into()),
            };
        }
        let left = self.operand()?;
        match self.peek() {
            Some(Tok::Eq | Tok::Ne) => {
                let eq = self.next() == Some(Tok::Eq);
                let right = self.operand()?;
                Ok(same(&left, &right) == eq)
            }
            _ => Ok(truthy(&left)),
        }
    }

    fn operand(&mut self) -> Result<Value, String> {
        match self.next() {
            Some(Tok::Lit(v)) => Ok(v),
            Some(Tok::Ident(name)) => lookup(self.vars, &name)
                .cloned()
                .ok_or_else(|| format!("unknown variable `{name}`")),
            Some(t) => Err(format!("expected a variable or a value, found {t:?}")),
            None => Err("expression ends too early".into()),
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        _ => a == b,
    }
}

/// Whether a variable's value counts as true.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty() && s != "false" && s != "0",
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `a.b.c` in `vars`.
pub fn lookup<'a>(vars: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(vars, |v, k| v.get(k))
}

/// Evaluate `expr` against `vars`.
pub fn eval(expr: &str, vars: &Value) -> Result<bool, String> {
    let mut p = Parser {
        toks: lex(expr)?,
        pos: 0,
        vars,
    };
    let v = p.or()?;
    match p.peek() {
        None => Ok(v),
        Some(t) => Err(format!("unexpected {t:?} after a complete condition")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let vars = serde_json::json!({
            "r": true, "n": 0, "flavor": "gpu", "list": [], "config": {"r": {"enabled": false}}
        });
        for (expr, want) in [
            ("r", true),
            ("not r", false),
            ("n", false),
            ("flavor == 'gpu'", true),
            ("flavor != \"gpu\"", false),
            ("r and not list", true),
            ("n or (r and flavor == 'cpu')", false),
            ("config.r.enabled or r", true),
            ("n == 0", true),
        ] {
            assert_eq!(eval(expr, &vars), Ok(want), "{expr}");
        }
        assert!(
            eval("nope", &vars)
                .unwrap_err()
                .contains("unknown variable `nope`")
        );
        assert!(eval("r and", &vars).is_err());
        assert!(eval("(r", &vars).is_err());
    }
}
