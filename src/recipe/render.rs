//! Rendering the handlebars templates in recipe strings and template files,
//! with errors that name the missing variable and the closest existing ones.
use std::fmt;

use serde_json::Value;

/// Why a template did not render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderProblem {
    /// It uses a variable that does not exist.
    Missing {
        /// The variable as written (`config.hub.admin_user`).
        name: String,
        /// Existing variables with close names, closest first.
        close: Vec<String>,
        /// Line and column in the template, when known.
        at: Option<(usize, usize)>,
    },
    /// Anything else (bad syntax, a helper's error).
    Other(String),
}

impl fmt::Display for RenderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderProblem::Missing { name, close, at } => {
                write!(f, "unknown variable `{name}`")?;
                if let Some((l, c)) = at {
                    write!(f, " (template line {l}, column {c})")?;
                }
                match close.as_slice() {
                    [] => Ok(()),
                    [one] => write!(f, "; did you mean `{one}`?"),
                    many => {
                        let list: Vec<String> = many.iter().map(|c| format!("`{c}`")).collect();
                        write!(f, "; did you mean one of {}?", list.join(", "))
                    }
                }
            }
            RenderProblem::Other(m) => f.write_str(m),
        }
    }
}

/// Render `text` with `vars`.
pub fn render(text: &str, vars: &Value) -> Result<String, RenderProblem> {
    let mut hb = crate::template::registry();
    hb.register_template_string("t", text).map_err(|e| {
        let at = e
            .pos()
            .map(|(l, c)| format!(" (template line {l}, column {c})"))
            .unwrap_or_default();
        RenderProblem::Other(format!("bad template syntax{at}: {}", e.reason()))
    })?;
    hb.render("t", vars).map_err(|e| match e.reason() {
        handlebars::RenderErrorReason::MissingVariable(Some(name)) => RenderProblem::Missing {
            name: name.clone(),
            close: closest(name, vars),
            at: e.line_no.zip(e.column_no),
        },
        other => RenderProblem::Other(other.to_string()),
    })
}

/// Up to three variable paths in `vars` closest to `name`.
pub fn closest(name: &str, vars: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    collect(vars, String::new(), 0, &mut paths);
    let mut scored: Vec<(f64, String)> = paths
        .into_iter()
        .map(|p| (strsim::jaro_winkler(name, &p), p))
        .filter(|(s, _)| *s > 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().take(3).map(|(_, p)| p).collect()
}

fn collect(v: &Value, prefix: String, depth: usize, out: &mut Vec<String>) {
    let Value::Object(m) = v else { return };
    for (k, child) in m {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if depth < 4 {
            collect(child, path.clone(), depth + 1, out);
        }
        out.push(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named_with_close_ones() {
        let vars = serde_json::json!({
            "hub_hostname": "hub",
            "config": {"name": "box", "hub": {"admin_users": ["a"]}},
        });
        let e = render("x {{jhub_hostname}}", &vars).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown variable `jhub_hostname` (template line 1, column 3); did you mean `hub_hostname`?"
        );
        let e = render("{{config.hub.admin_user}}", &vars).unwrap_err();
        match &e {
            RenderProblem::Missing { close, .. } => {
                assert_eq!(close[0], "config.hub.admin_users", "{e}")
            }
            other => panic!("{other:?}"),
        }
        let e = render("{{zzz}}", &vars).unwrap_err().to_string();
        assert!(
            e.starts_with("unknown variable `zzz`") && !e.contains("did you mean"),
            "{e}"
        );
        assert_eq!(render("{{config.name}}", &vars).unwrap(), "box");
    }
}
