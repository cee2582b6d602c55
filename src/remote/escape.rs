//! POSIX shell quoting for remote arguments. Every argument sent to the
//! remote shell passes through [`quote`]; nothing is quoted by hand.
use std::borrow::Cow;

/// `arg` quoted so that a POSIX shell reads it back as exactly one word.
pub fn quote(arg: &str) -> Cow<'_, str> {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
    if safe {
        Cow::Borrowed(arg)
    } else {
        Cow::Owned(format!("'{}'", arg.replace('\'', r"'\''")))
    }
}

/// Join arguments into one shell command line.
pub fn join<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    args.into_iter()
        .map(|a| quote(a.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (input, want) in [
            ("plain", "plain"),
            ("", "''"),
            ("a b", "'a b'"),
            ("it's", r"'it'\''s'"),
            ("$(rm -rf /)", "'$(rm -rf /)'"),
            ("`x`", "'`x`'"),
            ("a\nb", "'a\nb'"),
            ("/opt/tljh/hub", "/opt/tljh/hub"),
            ("*", "'*'"),
            ("~root", "'~root'"),
            ("a;b", "'a;b'"),
            ("name==1.2", "name==1.2"),
        ] {
            assert_eq!(quote(input), want, "{input:?}");
        }
    }

    #[test]
    fn round_trips_through_a_real_shell() {
        let nasty = [
            "a b",
            "it's",
            "$(echo pwned)",
            "\"q\"",
            "back\\slash",
            "new\nline",
            "",
            "*",
            "-n",
        ];
        let line = format!("printf '%s\\0' {}", join(nasty));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .output()
            .unwrap();
        let got: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|_| true)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        assert_eq!(&got[..nasty.len()], &nasty.map(String::from)[..]);
    }
}
