//! Where in a user's file something was found, for `file:line:col` errors.
use std::fmt;
use std::path::PathBuf;

/// A position in a user-supplied file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpan {
    /// The file, as the user named it (or `<embedded default>`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

impl SourceSpan {
    /// The span of byte offset `offset` in `text` read from `file`.
    pub fn from_offset(file: impl Into<PathBuf>, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        SourceSpan {
            file: file.into(),
            line,
            col,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for SourceSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(SourceSpan::from_offset("f", t, 0).to_string(), "f:1:1");
        assert_eq!(SourceSpan::from_offset("f", t, 6).to_string(), "f:2:1");
        // 'é' is two bytes but one column
        assert_eq!(SourceSpan::from_offset("f", t, 9).to_string(), "f:2:3");
        assert_eq!(SourceSpan::from_offset("f", t, 999).to_string(), "f:3:1");
    }
}
