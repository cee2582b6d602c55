//! Rendering the user-overridable templates in `box-configs/` and `preseed/`.
//!
//! Templates are embedded in the binary (so a bare `vmbuild` works anywhere)
//! and can be overridden file by file: a file with the same relative name in
//! the config's `build.templates_dir` wins. Handlebars runs in strict mode (a
//! missing variable is an error, not an empty string) with no HTML escaping;
//! the `json` helper emits a value as a JSON literal for JSON templates.
mod embedded;
pub mod installer;
pub mod preseed;
pub mod vagrantfile;

use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde::Serialize;
use thiserror::Error;

pub use embedded::EMBEDDED;

/// A template could not be found, parsed or rendered.
#[derive(Debug, Error)]
pub enum TemplateError {
    /// No such template, embedded or overridden.
    #[error("no template named `{0}`")]
    Missing(String),
    /// The template text is invalid.
    #[error("{origin}: {message}")]
    Parse {
        /// file (and line:col when known).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Rendering failed (e.g. a variable the template uses does not exist).
    #[error("rendering `{origin}`: {message}")]
    Render {
        /// The template.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// An override file could not be read.
    #[error("cannot read template override `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Where a template's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// Compiled into vmbuild.
    Embedded(&'static str),
    /// A user's override file.
    File(PathBuf),
}

impl std::fmt::Display for TemplateOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateOrigin::Embedded(n) => write!(f, "{n} (built in)"),
            TemplateOrigin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Looks templates up (override dir first, then embedded) and renders them.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    override_dir: Option<PathBuf>,
}

impl Templates {
    /// Templates with overrides from `dir` (if any).
    pub fn new(override_dir: Option<&Path>) -> Self {
        Templates {
            override_dir: override_dir.map(Path::to_owned),
        }
    }

    /// The text of template `name` (e.g. `preseed/preseed.cfg.hbs`) and its origin.
    pub fn source(&self, name: &str) -> Result<(String, TemplateOrigin), TemplateError> {
        if let Some(dir) = &self.override_dir {
            let p = dir.join(name);
            if p.exists() {
                let text = std::fs::read_to_string(&p).map_err(|source| TemplateError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                return Ok((text, TemplateOrigin::File(p)));
            }
        }
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| ((*t).to_owned(), TemplateOrigin::Embedded(n)))
            .ok_or_else(|| TemplateError::Missing(name.to_owned()))
    }

    /// Render template `name` with `data`.
    pub fn render(&self, name: &str, data: &impl Serialize) -> Result<String, TemplateError> {
        let (text, origin) = self.source(name)?;
        render_str(&text, &origin.to_string(), data)
    }
}

/// Render template `text` (named `origin` in errors) with `data`.
pub fn render_str(
    text: &str,
    origin: &str,
    data: &impl Serialize,
) -> Result<String, TemplateError> {
    let mut hb = registry();
    hb.register_template_string(origin, text)
        .map_err(|e| TemplateError::Parse {
            origin: match e.pos() {
                Some((l, c)) => format!("{origin}:{l}:{c}"),
                None => origin.to_owned(),
            },
            message: e.reason().to_string(),
        })?;
    hb.render(origin, data).map_err(|e| TemplateError::Render {
        origin: match (e.line_no, e.column_no) {
            (Some(l), Some(c)) => format!("{origin}:{l}:{c}"),
            _ => origin.to_owned(),
        },
        message: e.reason().to_string(),
    })
}

/// A handlebars registry as every vmbuild template uses it: strict, no HTML
/// escaping, the `json` helper.
pub(crate) fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper(
        "json",
        Box::new(
            |h: &handlebars::Helper<'_>,
             _: &Handlebars<'_>,
             _: &handlebars::Context,
             _: &mut handlebars::RenderContext<'_, '_>,
             out: &mut dyn handlebars::Output|
             -> handlebars::HelperResult {
                let v = h
                    .param(0)
                    .map(|p| p.value().clone())
                    .unwrap_or(serde_json::Value::Null);
                out.write(
                    &serde_json::to_string(&v)
                        .map_err(|e| handlebars::RenderErrorReason::Other(e.to_string()))?,
                )?;
                Ok(())
            },
        ),
    );
    hb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_rejects_missing_variables() {
        let err = render_str("hello {{nope}}", "t", &serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn no_html_escaping_and_json_helper() {
        let out = render_str(
            "{{a}} {{json a}}",
            "t",
            &serde_json::json!({"a": "x<y>&\"z\""}),
        )
        .unwrap();
        assert_eq!(out, r#"x<y>&"z" "x<y>&\"z\"""#);
    }

    #[test]
    fn overrides_win_over_embedded() {
        let dir = tempfile::tempdir().unwrap();
        let name = EMBEDDED[0].0;
        std::fs::create_dir_all(dir.path().join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(name), "override").unwrap();
        let (text, origin) = Templates::new(Some(dir.path())).source(name).unwrap();
        assert_eq!(text, "override");
        assert!(matches!(origin, TemplateOrigin::File(_)));
    }
}
