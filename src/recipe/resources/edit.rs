//! Pure text edits shared by the line/block/sysctl/hostname/locale/mount
//! resources: given a file's text, the text it should have.
use regex::Regex;

/// `text` with `line` present: the last line matching `re` (or equal to
/// `line` when there is no `re`) is replaced, otherwise `line` is appended.
/// `None` when nothing changes.
pub fn ensure_line(text: &str, line: &str, re: Option<&Regex>) -> Option<String> {
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(re) = re
        && let Some(i) = lines.iter().rposition(|l| re.is_match(l))
    {
        if lines[i] == line {
            return None;
        }
        lines[i] = line;
        return Some(join(&lines));
    }
    if lines.contains(&line) {
        return None;
    }
    lines.push(line);
    Some(join(&lines))
}

/// `text` without lines matching `re` (or equal to `line`). `None` when
/// nothing changes.
pub fn remove_lines(text: &str, line: &str, re: Option<&Regex>) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let kept: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| match re {
            Some(re) => !re.is_match(l),
            None => *l != line,
        })
        .collect();
    (kept.len() != lines.len()).then(|| join(&kept))
}

/// `text` with `body` between the `begin` and `end` marker lines (added at
/// the end if the markers are missing); `None` when nothing changes.
pub fn ensure_block(text: &str, begin: &str, end: &str, body: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let body: Vec<&str> = body.lines().collect();
    let mut want: Vec<&str> = vec![begin];
    want.extend(&body);
    want.push(end);
    let out = match find_block(&lines, begin, end) {
        Some((b, e)) => {
            if lines[b..=e] == want[..] {
                return None;
            }
            [&lines[..b], &want[..], &lines[e + 1..]].concat()
        }
        None => [&lines[..], &want[..]].concat(),
    };
    Some(join(&out))
}

/// `text` without the marked block; `None` when there is none.
pub fn remove_block(text: &str, begin: &str, end: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (b, e) = find_block(&lines, begin, end)?;
    Some(join(&[&lines[..b], &lines[e + 1..]].concat()))
}

fn find_block(lines: &[&str], begin: &str, end: &str) -> Option<(usize, usize)> {
    let b = lines.iter().position(|l| *l == begin)?;
    let e = lines[b..].iter().position(|l| *l == end)? + b;
    Some((b, e))
}

fn join(lines: &[&str]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("{}\n", lines.join("\n"))
    }
}

/// The plan for editing the text file `path` with `edit` (which returns the
/// new text, or `None` when nothing changes). A missing file counts as empty
/// when `create`, and is an error otherwise. Needs the `Path` and `Content`
/// facts of `path`.
pub fn edit_file(
    facts: &super::super::facts::Facts,
    path: &str,
    create: bool,
    what: &str,
    ok_reason: String,
    edit: impl Fn(&str) -> Option<String>,
) -> Result<super::super::resource::Plan, super::super::facts::FactError> {
    use super::super::facts::FactError;
    use super::super::resource::{Action, Change, Plan};
    let have = facts.path(path)?;
    let text = facts.text(path)?;
    let (text, mode, owner, group) = match text {
        Some(t) => (t, have.mode, Some(have.owner), Some(have.group)),
        None if create => (String::new(), 0o644, None, None),
        None => {
            return Err(FactError::Conflict(format!(
                "`{path}` does not exist (set create = true to create it)"
            )));
        }
    };
    let Some(new) = edit(&text) else {
        return Ok(Plan::ok(ok_reason));
    };
    let mut c = Change::new(
        format!("{what} in `{path}`"),
        vec![Action::Put {
            path: path.to_owned(),
            content: new.clone().into_bytes(),
            mode,
            owner,
            group,
        }],
    );
    c.diff = Some(super::unified_diff(path, &text, &new));
    Ok(Plan::from_changes(vec![c], ""))
}

/// The facts [`edit_file`] needs.
pub fn edit_facts(path: &str) -> Vec<super::super::facts::FactQuery> {
    use super::super::facts::FactQuery;
    vec![
        FactQuery::Path(path.to_owned()),
        FactQuery::Content(path.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_table() {
        let re = Regex::new(r"^#?\s*PermitRootLogin\b").unwrap();
        let cases: &[(&str, &str, Option<&Regex>, Option<&str>)] = &[
            ("a\n", "b", None, Some("a\nb\n")),
            ("a\nb\n", "b", None, None),
            ("", "b", None, Some("b\n")),
            (
                "x\n#PermitRootLogin yes\ny\n",
                "PermitRootLogin no",
                Some(&re),
                Some("x\nPermitRootLogin no\ny\n"),
            ),
            (
                "PermitRootLogin no\n",
                "PermitRootLogin no",
                Some(&re),
                None,
            ),
            ("a", "b", Some(&re), Some("a\nb\n")),
        ];
        for (text, line, re, want) in cases {
            assert_eq!(
                ensure_line(text, line, *re).as_deref(),
                *want,
                "{text:?} {line:?}"
            );
        }
        assert_eq!(remove_lines("a\nb\na\n", "a", None).as_deref(), Some("b\n"));
        assert_eq!(remove_lines("b\n", "a", None), None);
    }

    #[test]
    fn block_table() {
        let (b, e) = ("# BEGIN x", "# END x");
        assert_eq!(
            ensure_block("a\n", b, e, "1\n2").as_deref(),
            Some("a\n# BEGIN x\n1\n2\n# END x\n")
        );
        assert_eq!(
            ensure_block("a\n# BEGIN x\n1\n2\n# END x\n", b, e, "1\n2"),
            None
        );
        assert_eq!(
            ensure_block("a\n# BEGIN x\nold\n# END x\nz\n", b, e, "new").as_deref(),
            Some("a\n# BEGIN x\nnew\n# END x\nz\n")
        );
        assert_eq!(
            remove_block("a\n# BEGIN x\n1\n# END x\n", b, e).as_deref(),
            Some("a\n")
        );
        assert_eq!(remove_block("a\n", b, e), None);
    }
}
