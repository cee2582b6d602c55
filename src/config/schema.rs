//! The shape of `vmbuild.toml`, derived from the JSON schema of [`Config`].
//!
//! The schemars schema is the single source of truth: the walker in
//! `check.rs`, the env mapping and `config init` all read this [`Shape`] tree,
//! so a field added to the types is validated without further code.
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::Config;

/// What a value at some key must look like.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// A table with a fixed set of keys (unknown keys are rejected).
    Table(Vec<Field>),
    /// A free-form table (e.g. `hub.authenticator_settings`).
    OpenTable,
    /// A string, optionally restricted to some values.
    Str(Option<Vec<String>>),
    /// An integer in `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A float (integers accepted).
    Num {
        /// Values must be greater than this.
        above: Option<f64>,
    },
    /// `true` or `false`.
    Bool,
    /// An array of items of one shape.
    Array(Box<Shape>),
    /// Anything.
    Any,
}

/// One key of a [`Shape::Table`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// The key.
    pub(crate) name: String,
    /// Its doc comment.
    pub(crate) doc: Option<String>,
    /// Its shape.
    pub(crate) shape: Shape,
}

/// The shape of the whole config (computed once).
pub(crate) fn root() -> &'static Shape {
    static ROOT: OnceLock<Shape> = OnceLock::new();
    ROOT.get_or_init(|| {
        let schema = serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null);
        let defs = schema
            .get("$defs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        shape_of(&schema, &defs)
    })
}

impl Shape {
    /// The field `name` of a table shape.
    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        match self {
            Shape::Table(fields) => fields.iter().find(|f| f.name == name),
            _ => None,
        }
    }

    /// Human description of what this shape accepts: `an integer from 1 to 256`.
    pub(crate) fn expected(&self) -> String {
        match self {
            Shape::Table(_) | Shape::OpenTable => "a table".into(),
            Shape::Str(None) => "a string".into(),
            Shape::Str(Some(values)) => format!("one of {}", tick_list(values)),
            Shape::Int { min, max } => match (*min, *max) {
                (i64::MIN, _) => "an integer".into(),
                (0, max) if max >= i64::from(u32::MAX) => "a non-negative integer".into(),
                (min, max) if max >= i64::from(u32::MAX) => format!("an integer of at least {min}"),
                (min, max) => format!("an integer from {min} to {max}"),
            },
            Shape::Num { above: Some(a) } => format!("a number greater than {a}"),
            Shape::Num { above: None } => "a number".into(),
            Shape::Bool => "`true` or `false`".into(),
            Shape::Array(item) => match item.as_ref() {
                Shape::Str(None) => "an array of strings".into(),
                other => format!("an array whose items are {}", other.expected()),
            },
            Shape::Any => "any value".into(),
        }
    }
}

/// `` `a`, `b`, `c` ``.
pub(crate) fn tick_list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve<'a>(v: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| defs.get(name))
            .unwrap_or(v),
        None => v,
    }
}

fn shape_of(v: &Value, defs: &Map<String, Value>) -> Shape {
    let v = resolve(v, defs);
    if let Some(values) = string_values(v) {
        return Shape::Str(Some(values));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = v.get(key).and_then(Value::as_array) {
            // `Option<T>`: TOML has no null, so only the non-null branch counts.
            let non_null: Vec<&Value> = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [one] = non_null.as_slice() {
                return shape_of(one, defs);
            }
            return Shape::Any;
        }
    }
    let ty = match v.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or(""),
        _ => "",
    };
    match ty {
        "object" => match v.get("properties").and_then(Value::as_object) {
            Some(props) => Shape::Table(
                props
                    .iter()
                    .map(|(name, p)| Field {
                        name: name.clone(),
                        doc: p
                            .get("description")
                            .or_else(|| resolve(p, defs).get("description"))
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        shape: shape_of(p, defs),
                    })
                    .collect(),
            ),
            None => Shape::OpenTable,
        },
        "string" => Shape::Str(None),
        "integer" => int_shape(v),
        "number" => Shape::Num {
            above: v.get("exclusiveMinimum").and_then(Value::as_f64),
        },
        "boolean" => Shape::Bool,
        "array" => Shape::Array(Box::new(
            v.get("items")
                .map_or(Shape::Any, |items| shape_of(items, defs)),
        )),
        _ => Shape::Any,
    }
}

/// The allowed strings of an `enum` or a `oneOf` of `const`s.
fn string_values(v: &Value) -> Option<Vec<String>> {
    if let Some(e) = v.get("enum").and_then(Value::as_array) {
        return e.iter().map(|x| x.as_str().map(str::to_owned)).collect();
    }
    let alts = v.get("oneOf").and_then(Value::as_array)?;
    alts.iter()
        .map(|a| a.get("const").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn int_shape(v: &Value) -> Shape {
    let (type_min, type_max) = match v.get("format").and_then(Value::as_str) {
        Some("uint8") => (0, i64::from(u8::MAX)),
        Some("uint16") => (0, i64::from(u16::MAX)),
        Some("uint32") => (0, i64::from(u32::MAX)),
        Some("uint64" | "uint") => (0, i64::MAX),
        Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    let min = v.get("minimum").and_then(Value::as_i64).unwrap_or(type_min);
    let max = v.get("maximum").and_then(Value::as_i64).unwrap_or(type_max);
    Shape::Int {
        min: min.max(type_min),
        max: max.min(type_max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_attributes_become_shapes() {
        let vm = &root().field("vm").expect("vm").shape;
        assert_eq!(
            vm.field("cpus").expect("cpus").shape.expected(),
            "an integer from 1 to 256"
        );
        assert_eq!(
            vm.field("accelerator").expect("acc").shape.expected(),
            "one of `auto`, `kvm`, `tcg`"
        );
        let hub = &root().field("hub").expect("hub").shape;
        assert_eq!(
            hub.field("authenticator_settings").expect("s").shape,
            Shape::OpenTable
        );
        assert_eq!(
            hub.field("domain").expect("d").shape,
            Shape::Str(None),
            "Option<String> is a plain string in TOML"
        );
        let formats = &root().field("export").expect("e").shape;
        assert_eq!(
            formats.field("formats").expect("f").shape.expected(),
            "an array whose items are one of `box`, `ova`, `qcow2`, `vmdk`"
        );
        let port = &root().field("network").expect("n").shape;
        assert_eq!(
            port.field("forward_http_port").expect("p").shape.expected(),
            "an integer from 0 to 65535"
        );
    }
}
