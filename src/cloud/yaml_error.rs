//! YAML syntax errors of clouds.yaml and secure.yaml, told without the
//! file's text.
use std::path::Path;

use super::error::CloudError;

/// A YAML syntax error as position and what was expected, never with text
/// of the file: serde-saphyr's own message quotes the offending lines, and
/// in a clouds.yaml or secure.yaml those hold passwords.
pub(crate) fn syntax_error(path: &Path, e: &serde_saphyr::Error) -> CloudError {
    use serde_saphyr::Error as E;
    let expected = match e.without_snippet() {
        E::Eof { .. } => "the file ends in the middle of a value".to_owned(),
        E::Unexpected { expected, .. } => format!("expected {expected}"),
        // the parser's messages are fixed phrases; the one naming an
        // unexpected character quotes it between ` and '
        E::ExternalMessage { msg, .. } => unquote(msg),
        E::DuplicateMappingKey { .. } => "a key appears twice in the same mapping".to_owned(),
        E::MultipleDocuments { .. } => "expected one YAML document, found several".to_owned(),
        E::UnknownAnchor { .. } => "an alias refers to an anchor that is not defined".to_owned(),
        _ => "expected a YAML mapping with a `clouds:` key".to_owned(),
    };
    let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    CloudError::CloudsYamlSyntax {
        path: path.to_owned(),
        line,
        col,
        expected,
    }
}

/// `msg` with anything quoted as `…' removed.
pub(crate) fn unquote(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        match rest[start..].find('\'') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.trim_end_matches([':', ' ']).trim().to_owned()
}
