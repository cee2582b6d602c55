//! Turning checked `toml_edit` items (which keep spans) into plain `toml` values
//! for merging, and merging layers.
use toml_edit::{Item, Value};

/// The plain value of a `toml_edit` item (`None` for an empty item).
pub(crate) fn item_to_toml(item: &Item) -> Option<toml::Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_toml(v)),
        Item::Table(t) => Some(toml::Value::Table(
            t.iter()
                .filter_map(|(k, i)| item_to_toml(i).map(|v| (k.to_owned(), v)))
                .collect(),
        )),
        Item::ArrayOfTables(a) => Some(toml::Value::Array(
            a.iter()
                .map(|t| {
                    item_to_toml(&Item::Table(t.clone()))
                        .unwrap_or(toml::Value::Table(toml::Table::new()))
                })
                .collect(),
        )),
    }
}

/// The plain value of a `toml_edit` value.
pub(crate) fn value_to_toml(v: &Value) -> toml::Value {
    match v {
        Value::String(s) => toml::Value::String(s.value().clone()),
        Value::Integer(i) => toml::Value::Integer(*i.value()),
        Value::Float(f) => toml::Value::Float(*f.value()),
        Value::Boolean(b) => toml::Value::Boolean(*b.value()),
        Value::Datetime(d) => match d.value().to_string().parse() {
            Ok(dt) => toml::Value::Datetime(dt),
            Err(_) => toml::Value::String(d.value().to_string()),
        },
        Value::Array(a) => toml::Value::Array(a.iter().map(value_to_toml).collect()),
        Value::InlineTable(t) => toml::Value::Table(
            t.iter()
                .map(|(k, v)| (k.to_owned(), value_to_toml(v)))
                .collect(),
        ),
    }
}

/// Merge `over` into `base`: tables merge key by key, everything else replaces.
pub(crate) fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Set the value at `path` (a list of keys), creating tables on the way.
pub(crate) fn set_path(base: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = base;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(t) = entry else {
            return;
        };
        table = t;
    }
    table.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_path_creates_tables_and_merge_keeps_siblings() {
        let mut base: toml::Table = "[vm]\ncpus = 2\nmemory_mb = 2048".parse().expect("toml");
        set_path(
            &mut base,
            &["vm".into(), "cpus".into()],
            toml::Value::Integer(4),
        );
        set_path(
            &mut base,
            &["hub".into(), "x".into()],
            toml::Value::Boolean(true),
        );
        merge(&mut base, "[vm]\nmemory_mb = 4096".parse().expect("toml"));
        assert_eq!(
            toml::to_string(&base).expect("ser"),
            "[hub]\nx = true\n\n[vm]\ncpus = 4\nmemory_mb = 4096\n"
        );
    }
}
