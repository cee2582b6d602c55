//! Loading recipes: parse with spans, follow includes, merge variables,
//! evaluate `when`, build resources and check handler references.
//!
//! ```toml
//! include = ["base.toml"]          # paths relative to this file
//! secret_vars = ["db_password"]    # masked in output and diffs
//! [vars]
//! hub_dir = "/opt/hub"
//! [[resource]]
//! name = "hub config"              # unique
//! type = "file"
//! path = "{{hub_dir}}/config.py"
//! content = "..."
//! tags = ["hub"]
//! when = "not minimal"
//! notify = ["restart hub"]
//! [[handler]]
//! name = "restart hub"
//! type = "systemd.service"
//! unit = "jupyterhub.service"
//! state = "restarted"
//! ```
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::RecipeError;
use super::fields::{Fields, suggestion};
use super::resource::Resource;
use super::value::{self, Kind, Node};
use crate::location::SourceSpan;

const TOP_KEYS: &[&str] = &["include", "vars", "secret_vars", "resource", "handler"];

/// One resource (or handler) of a loaded recipe.
#[derive(Debug)]
pub struct Entry {
    /// Its unique name.
    pub name: String,
    /// Its type (`file`, `apt.packages`...).
    pub kind: String,
    /// Where it is declared.
    pub span: SourceSpan,
    /// Tags for `--tags`.
    pub tags: Vec<String>,
    /// Why it is skipped (its `when` is false), if it is.
    pub skip: Option<String>,
    /// Handlers to notify when it changes something.
    pub notify: Vec<String>,
    /// The resource.
    pub resource: Box<dyn Resource>,
}

impl Entry {
    /// `type[name]`, as shown in output.
    pub fn label(&self) -> String {
        format!("{}[{}]", self.kind, self.name)
    }
}

/// Recipes ready to run.
#[derive(Debug, Default)]
pub struct Recipe {
    /// Resources in order (includes first, in include order).
    pub entries: Vec<Entry>,
    /// Handlers, run at the end if notified.
    pub handlers: Vec<Entry>,
    /// Values to mask in all output.
    pub secrets: Vec<String>,
}

#[derive(Default)]
struct Raw {
    vars: Vec<Node>,
    secret_vars: Vec<String>,
    resources: Vec<Node>,
    handlers: Vec<Node>,
    seen: Vec<PathBuf>,
}

/// Load `paths` (in order) with `base` variables (e.g. `{"config": …}`)
/// and `--var KEY=VALUE` overrides.
pub fn load(paths: &[PathBuf], base: Value, overrides: &[String]) -> Result<Recipe, RecipeError> {
    let mut raw = Raw::default();
    for p in paths {
        read_file(p, &mut raw, &mut Vec::new())?;
    }
    let mut vars = match base {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for v in &raw.vars {
        let Value::Object(m) = v.to_json() else {
            return Err(v.error(format!("`vars` must be a table, found {}", v.type_name())));
        };
        vars.extend(m);
    }
    for o in overrides {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| RecipeError::Failed(format!("--var `{o}`: expected KEY=VALUE")))?;
        set_path(&mut vars, k, Value::String(v.to_owned()));
    }
    let vars = Value::Object(vars);
    let secrets = raw
        .secret_vars
        .iter()
        .filter_map(|k| super::when::lookup(&vars, k))
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let mut recipe = Recipe {
        secrets,
        ..Default::default()
    };
    for h in &raw.handlers {
        recipe.handlers.push(build_entry(h, &vars, "a handler")?);
    }
    let mut origins = Vec::new();
    for r in &raw.resources {
        for e in build_entries(r, &vars)? {
            recipe.entries.push(e);
            origins.push(r);
        }
    }
    let handler_origins: Vec<&Node> = raw.handlers.iter().collect();
    check_names(&recipe, &origins, &handler_origins)?;
    Ok(recipe)
}

/// Whether the recipes in `paths` (their includes and the template files
/// they name) use the variable `root` (as in `{{appliance.x}}`, a `when` or
/// a `for_each`): vmbuild prepares some variables (and their state on
/// disk) only for recipes that use them.
pub fn uses_variable(paths: &[PathBuf], root: &str) -> Result<bool, RecipeError> {
    let mut raw = Raw::default();
    for p in paths {
        read_file(p, &mut raw, &mut Vec::new())?;
    }
    let nodes = raw.vars.iter().chain(&raw.resources).chain(&raw.handlers);
    for n in nodes {
        if node_uses(n, root, None) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn node_uses(n: &Node, root: &str, key: Option<&str>) -> bool {
    match &n.kind {
        Kind::Str(s) => {
            if mentions(s, root) {
                return true;
            }
            // a template file is rendered with the same variables
            key == Some("template")
                && n.src
                    .path
                    .parent()
                    .map(|d| d.join(s))
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .is_some_and(|t| mentions(&t, root))
        }
        Kind::Array(a) => a.iter().any(|i| node_uses(i, root, key)),
        Kind::Table(t) => t.iter().any(|(k, _, v)| node_uses(v, root, Some(k))),
        _ => false,
    }
}

/// `root` as a whole word followed by `.` (`appliance.tls`, not `my_appliance`).
fn mentions(text: &str, root: &str) -> bool {
    text.match_indices(root).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + root.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after == Some('.')
    })
}

fn set_path(vars: &mut Map<String, Value>, key: &str, v: Value) {
    match key.split_once('.') {
        None => {
            vars.insert(key.to_owned(), v);
        }
        Some((head, rest)) => {
            let e = vars
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            if let Value::Object(m) = e {
                set_path(m, rest, v);
            }
        }
    }
}

fn read_file(path: &Path, raw: &mut Raw, stack: &mut Vec<PathBuf>) -> Result<(), RecipeError> {
    let canon = path.canonicalize().map_err(|source| RecipeError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if raw.seen.contains(&canon) {
        return Ok(()); // included twice: load once
    }
    raw.seen.push(canon.clone());
    stack.push(canon);
    let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let root = value::parse(path, text)?;
    let Kind::Table(entries) = &root.kind else {
        return Err(root.error("expected a table"));
    };
    for (key, span, node) in entries {
        match key.as_str() {
            "include" => include(path, node, raw, stack)?,
            "vars" => raw.vars.push(node.clone()),
            "secret_vars" => raw.secret_vars.extend(strings(node, "secret_vars")?),
            "resource" => raw.resources.extend(tables(node, "resource")?),
            "handler" => raw.handlers.extend(tables(node, "handler")?),
            other => {
                return Err(root.src.error(
                    span,
                    format!(
                        "unknown top-level key `{other}`{} (expected one of: include, vars, secret_vars, [[resource]], [[handler]])",
                        suggestion(other, TOP_KEYS)
                    ),
                ));
            }
        }
    }
    stack.pop();
    Ok(())
}

fn include(
    from: &Path,
    node: &Node,
    raw: &mut Raw,
    stack: &mut Vec<PathBuf>,
) -> Result<(), RecipeError> {
    let base = from.parent().unwrap_or(Path::new("."));
    for (i, rel) in strings(node, "include")?.iter().enumerate() {
        let at = match &node.kind {
            Kind::Array(a) => &a[i],
            _ => node,
        };
        let p = base.join(rel);
        let canon = p
            .canonicalize()
            .map_err(|e| at.error(format!("cannot include `{}`: {e}", p.display())))?;
        if stack.contains(&canon) {
            return Err(at.error(format!("`{}` includes itself (include cycle)", p.display())));
        }
        read_file(&p, raw, stack)?;
    }
    Ok(())
}

fn strings(node: &Node, key: &str) -> Result<Vec<String>, RecipeError> {
    let one = |n: &Node| match &n.kind {
        Kind::Str(s) => Ok(s.clone()),
        _ => Err(n.error(format!(
            "`{key}` must list strings, found {}",
            n.type_name()
        ))),
    };
    match &node.kind {
        Kind::Array(a) => a.iter().map(one).collect(),
        _ => Ok(vec![one(node)?]),
    }
}

fn tables(node: &Node, key: &str) -> Result<Vec<Node>, RecipeError> {
    match &node.kind {
        Kind::Array(a) => Ok(a.clone()),
        _ => Err(node.error(format!(
            "`{key}` must be an array of tables: write `[[{key}]]`, found {}",
            node.type_name()
        ))),
    }
}

/// A resource with `for_each = "some.list"` stands for one resource per
/// item of that list variable, with the item bound to `item` and its
/// position to `index` (so its `name` should mention `{{item}}`).
fn build_entries(node: &Node, vars: &Value) -> Result<Vec<Entry>, RecipeError> {
    let for_each = match &node.kind {
        Kind::Table(entries) => entries.iter().find(|(k, _, _)| k == "for_each"),
        _ => None,
    };
    let Some((_, _, at)) = for_each else {
        return Ok(vec![build_entry(node, vars, "a resource")?]);
    };
    let Kind::Str(raw_path) = &at.kind else {
        return Err(at.error(format!(
            "`for_each` must name a list variable (e.g. \"config.python.environments\"), found {}",
            at.type_name()
        )));
    };
    let path = raw_path
        .trim()
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim();
    let items = match super::when::lookup(vars, path) {
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(at.error(format!(
                "`for_each`: `{path}` must be a list, found {}",
                json_type(other)
            )));
        }
        None => return Err(at.error(format!("`for_each`: there is no variable `{path}`"))),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut v = vars.clone();
            if let Value::Object(m) = &mut v {
                m.insert("item".into(), item);
                m.insert("index".into(), Value::from(i));
            }
            build_entry(node, &v, "a resource")
        })
        .collect()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

fn build_entry(node: &Node, vars: &Value, what: &str) -> Result<Entry, RecipeError> {
    let mut f = Fields::new(node, vars, what)?;
    let kind = f.opt_raw_str("type")?.ok_or_else(|| {
        f.error(format!(
            "missing key `type` in {what} (one of: {})",
            super::resources::KINDS.join(", ")
        ))
    })?;
    let name = f.str("name")?;
    let mut f = Fields::new(node, vars, format!("the `{kind}` resource `{name}`"))?;
    f.opt_raw_str("type")?;
    f.str("name")?;
    f.opt_raw_str("for_each")?;
    let tags = f.str_list("tags")?;
    let notify = f.str_list("notify")?;
    let skip = match (f.opt_raw_str("when")?, f.node("when")) {
        (Some(expr), Some(at)) => match super::when::eval(&expr, vars) {
            Ok(true) => None,
            Ok(false) => Some(format!("when: `{expr}` is false")),
            Err(e) => return Err(at.error(format!("bad `when` condition: {e}"))),
        },
        _ => None,
    };
    let resource = match (super::resources::build(&kind, &mut f), &skip) {
        (Ok(r), _) => {
            f.finish()?;
            r
        }
        // A skipped resource may be incomplete on purpose (an empty package
        // list from the config is why `when` skips it); its type must exist.
        (Err(_), Some(why)) if super::resources::KINDS.contains(&kind.as_str()) => {
            Box::new(super::resources::Skipped(why.clone()))
        }
        (Err(e), _) => return Err(e),
    };
    Ok(Entry {
        name,
        kind,
        span: node.src.span(node.span.start),
        tags,
        skip,
        notify,
        resource,
    })
}

fn check_names(
    recipe: &Recipe,
    origins: &[&Node],
    handler_origins: &[&Node],
) -> Result<(), RecipeError> {
    let handler_names: Vec<&str> = recipe.handlers.iter().map(|h| h.name.as_str()).collect();
    for (list, nodes) in [
        (&recipe.entries, origins),
        (&recipe.handlers, handler_origins),
    ] {
        for (i, e) in list.iter().enumerate() {
            if let Some(first) = list[..i].iter().find(|x| x.name == e.name) {
                return Err(nodes[i].error(format!(
                    "duplicate name `{}` (first used at {})",
                    e.name, first.span
                )));
            }
            for n in &e.notify {
                if !handler_names.contains(&n.as_str()) {
                    return Err(nodes[i].error(format!(
                        "`{}` notifies `{n}`, but there is no [[handler]] with that name{}",
                        e.name,
                        suggestion(n, &handler_names)
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const LOOPS: &str = r#"
[[resource]]
name = "env {{item.name}}"
type = "pip.packages"
for_each = "envs"
venv = "/opt/envs/{{item.name}}"
packages = "{{item.packages}}"

[[resource]]
name = "nothing to install"
type = "apt.packages"
packages = "{{none}}"
when = "none"
"#;

    #[test]
    fn for_each_expands_and_list_variables_fill_lists() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "r.toml", LOOPS);
        let vars = serde_json::json!({
            "envs": [
                {"name": "a", "packages": ["x==1", "y==2"]},
                {"name": "b", "packages": ["z==3"]},
            ],
            "none": [],
        });
        let r = load(&[p], vars, &[]).unwrap();
        let labels: Vec<String> = r.entries.iter().map(Entry::label).collect();
        assert_eq!(
            labels,
            [
                "pip.packages[env a]",
                "pip.packages[env b]",
                "apt.packages[nothing to install]"
            ]
        );
        let dbg = format!("{:?}", r.entries[0].resource);
        assert!(dbg.contains("/opt/envs/a") && dbg.contains("y==2"), "{dbg}");
        // skipped by `when`, so its empty list is no error
        assert!(r.entries[2].skip.is_some());
    }

    #[test]
    fn for_each_must_name_a_list() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "r.toml", LOOPS);
        let e = load(
            std::slice::from_ref(&p),
            serde_json::json!({"envs": "x", "none": []}),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("r.toml:5:12") && e.contains("`envs` must be a list, found a string"),
            "{e}"
        );
        let e = load(&[p], serde_json::json!({"none": []}), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("there is no variable `envs`"), "{e}");
    }

    #[test]
    fn includes_vars_when_and_handlers() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "base.toml",
            "[vars]\ndir = \"/opt\"\n[[resource]]\nname = \"d\"\ntype = \"directory\"\npath = \"{{dir}}/x\"\n",
        );
        let main = write(
            d.path(),
            "main.toml",
            "include = [\"base.toml\"]\n[vars]\nr = false\n[[resource]]\nname = \"f\"\ntype = \"file\"\npath = \"{{dir}}/f\"\ncontent = \"{{config.name}}\"\nwhen = \"r\"\nnotify = \"h\"\n[[handler]]\nname = \"h\"\ntype = \"command\"\ncommand = \"true\"\n",
        );
        let r = load(
            &[main],
            serde_json::json!({"config": {"name": "box"}}),
            &["dir=/srv".into()],
        )
        .unwrap();
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].label(), "directory[d]");
        assert_eq!(r.entries[1].skip.as_deref(), Some("when: `r` is false"));
        assert!(
            format!("{:?}", r.entries[0].resource).contains("/srv/x"),
            "--var wins"
        );
        assert_eq!(r.handlers.len(), 1);
    }

    #[test]
    fn finds_the_variables_recipes_use() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "t.hbs", "key = {{appliance.tls.key}}\n");
        let plain = write(
            d.path(),
            "plain.toml",
            "[[resource]]\nname = \"my_appliance.x marker\"\ntype = \"file\"\npath = \"/x\"\ncontent = \"{{config.name}}\"\n",
        );
        let via_template = write(
            d.path(),
            "tpl.toml",
            "[[resource]]\nname = \"t\"\ntype = \"file\"\npath = \"/t\"\ntemplate = \"t.hbs\"\n",
        );
        let via_when = write(
            d.path(),
            "when.toml",
            "include = [\"plain.toml\"]\n[[resource]]\nname = \"w\"\ntype = \"command\"\ncommand = \"true\"\nwhen = \"appliance.tls.enabled\"\n",
        );
        assert!(!uses_variable(std::slice::from_ref(&plain), "appliance").unwrap());
        assert!(uses_variable(&[plain, via_template], "appliance").unwrap());
        assert!(uses_variable(&[via_when], "appliance").unwrap());
    }

    #[test]
    fn template_errors_name_variable_field_and_resource() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "r.toml",
            "[vars]\nhub_hostname = \"hub\"\n[[resource]]\nname = \"motd\"\ntype = \"file\"\npath = \"/etc/motd\"\ncontent = \"on {{jhub_hostname}}\"\n",
        );
        let e = load(&[p], serde_json::json!({}), &[])
            .unwrap_err()
            .to_string();
        let e = e.replace(&format!("{}/", d.path().display()), "");
        assert_eq!(
            e,
            "r.toml:7:11: `content` in the `file` resource `motd`: unknown variable `jhub_hostname` (template line 1, column 4); did you mean `hub_hostname`?"
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                "[[resource]]\nname = \"x\"\ntype = \"fil\"\npath = \"/a\"\n",
                "r.toml:1:1: unknown resource type `fil`; did you mean `file`?",
            ),
            (
                "[[resource]]\nname = \"x\"\ntype = \"file\"\npath = \"/a\"\ncontent = \"\"\nmdoe = \"0644\"\n",
                "r.toml:6:1: unknown key `mdoe`",
            ),
            (
                "[[resource]]\nname = \"x\"\ntype = \"file\"\npath = 3\n",
                "r.toml:4:8: `path` in the `file` resource `x` must be a string, found an integer",
            ),
            (
                "[[resource]]\nname = \"x\"\ntype = \"command\"\ncommand = \"true\"\nnotify = [\"nope\"]\n",
                "there is no [[handler]]",
            ),
            (
                "resources = 1\n",
                "r.toml:1:1: unknown top-level key `resources`; did you mean `resource`?",
            ),
            (
                "[[resource]]\nname = \"x\"\ntype = \"command\"\ncommand = \"true\"\nwhen = \"nope\"\n",
                "r.toml:5:8: bad `when` condition: unknown variable `nope`",
            ),
            ("[[resource]\n", "r.toml:1:"),
        ];
        for (text, want) in cases {
            let p = write(d.path(), "r.toml", text);
            let e = load(&[p], serde_json::json!({}), &[])
                .unwrap_err()
                .to_string();
            let e = e.replace(&format!("{}/", d.path().display()), "");
            assert!(e.contains(want), "got {e:?}, want {want:?}");
        }
    }
}
