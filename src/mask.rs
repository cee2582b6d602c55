//! Secrets that must never be shown: the set every printed, logged or
//! reported text passes through.
//!
//! A secret is masked as a whole and, when it spans lines, line by line
//! (output is printed a line at a time, a diff shows single lines). Callers
//! mask text *before* escaping it (JSON, shell quoting); as a second line of
//! defence the JSON-escaped and shell-quoted forms of every secret are
//! masked too, so a secret holding `"`, `\`, `'` or a newline cannot slip
//! past in an escaped rendering.
use std::sync::{Arc, Mutex};

/// The replacement text for a masked secret.
pub const MASK: &str = "********";

/// Secrets shorter than this are not masked (masking "a" would garble output).
const MIN_LEN: usize = 4;

/// A shared, growing set of secrets. Cloning shares the set. Its `Debug`
/// never shows the secrets.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Every form to mask, longest first (a secret containing another is
    /// masked whole).
    forms: Arc<Mutex<Vec<String>>>,
    /// The secrets as registered (for [`Secrets::appears_in`]).
    whole: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.whole.lock().map(|w| w.len()).unwrap_or(0);
        write!(f, "Secrets({n} registered)")
    }
}

/// The texts to mask for `secret`: itself, each of its lines, and the
/// escaped renderings of all of these.
pub fn forms(secret: &str) -> Vec<String> {
    let mut base = vec![secret.to_owned()];
    if secret.contains('\n') {
        base.extend(
            secret
                .lines()
                .map(str::trim)
                .filter(|l| l.len() >= MIN_LEN)
                .map(str::to_owned),
        );
    }
    let mut out = Vec::new();
    for b in base {
        // inside a JSON string
        let json = serde_json::to_string(&b).unwrap_or_default();
        let json = json[1..json.len().saturating_sub(1)].to_owned();
        // inside a single-quoted shell word
        let shell = b.replace('\'', "'\\''");
        for f in [b, json, shell] {
            if f.len() >= MIN_LEN && !out.contains(&f) {
                out.push(f);
            }
        }
    }
    out
}

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Secrets::default()
    }

    /// Register `secret` (ignored when shorter than 4 bytes).
    pub fn add(&self, secret: &str) {
        if secret.trim().len() < MIN_LEN {
            return;
        }
        let mut whole = self.whole.lock().unwrap_or_else(|e| e.into_inner());
        if whole.iter().any(|s| s == secret) {
            return;
        }
        whole.push(secret.to_owned());
        let mut forms_ = self.forms.lock().unwrap_or_else(|e| e.into_inner());
        for f in forms(secret) {
            if !forms_.contains(&f) {
                forms_.push(f);
            }
        }
        forms_.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }

    /// `text` with every form of every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let forms_ = self.forms.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for f in forms_.iter() {
            if out.contains(f.as_str()) {
                out = out.replace(f.as_str(), MASK);
            }
        }
        out
    }

    /// Whether `text` holds a secret or a line of one (a diff of such a
    /// file is not shown at all).
    pub fn appears_in(&self, text: &str) -> bool {
        let forms_ = self.forms.lock().unwrap_or_else(|e| e.into_inner());
        forms_.iter().any(|f| text.contains(f.as_str()))
    }

    /// Every string in `v` masked (before it is serialized, so escaping
    /// cannot split a secret).
    pub fn mask_json(&self, v: &mut serde_json::Value) {
        mask_strings(v, &|s| self.mask(s));
    }
}

/// Apply `mask` to every string in `v`, keys included.
pub fn mask_strings(v: &mut serde_json::Value, mask: &dyn Fn(&str) -> String) {
    use serde_json::Value;
    match v {
        Value::String(s) => *s = mask(s),
        Value::Array(a) => a.iter_mut().for_each(|x| mask_strings(x, mask)),
        Value::Object(m) => {
            let old = std::mem::take(m);
            for (k, mut x) in old {
                mask_strings(&mut x, mask);
                m.insert(mask(&k), x);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret with every character that escaping changes.
    const NASTY: &str = "pa\"ss\\wo'rd\nsecond line\n";

    #[test]
    fn masked_whole_per_line_and_in_escaped_renderings() {
        let s = Secrets::new();
        s.add(NASTY);
        s.add("ab"); // too short to mask
        assert_eq!(s.mask(&format!("x{NASTY}y ab")), format!("x{MASK}y ab"));
        for line in NASTY.lines() {
            assert_eq!(s.mask(&format!("+{line}")), format!("+{MASK}"), "{line}");
        }
        // JSON and shell renderings of the whole secret
        let json = serde_json::to_string(&serde_json::json!({ "v": NASTY })).unwrap();
        assert!(!json.contains("second line") || s.mask(&json).contains(MASK));
        assert!(!s.mask(&json).contains("wo'rd") && !s.mask(&json).contains("second"));
        let shell = crate::remote::RemoteCommand::new("echo")
            .arg(NASTY)
            .to_shell();
        let masked = s.mask(&shell);
        assert!(
            !masked.contains("wo") && !masked.contains("second"),
            "{masked}"
        );
        assert!(s.appears_in("a diff line: +second line"));
        assert!(!s.appears_in("nothing here"));
        assert_eq!(format!("{s:?}"), "Secrets(1 registered)");
    }

    #[test]
    fn json_is_masked_before_it_is_escaped() {
        let s = Secrets::new();
        s.add(NASTY);
        let mut v = serde_json::json!({"reason": format!("wrote {NASTY}"), "list": [NASTY]});
        s.mask_json(&mut v);
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(
            text,
            format!("{{\"list\":[\"{MASK}\"],\"reason\":\"wrote {MASK}\"}}")
        );
    }
}
