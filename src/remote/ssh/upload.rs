//! File upload as a command: content streamed on stdin into a temp file in
//! the destination's directory, then rename (atomic on the remote), with
//! [`crate::remote::safe_write`]'s protection against planted symlinks.
use crate::remote::RemoteCommand;

/// The upload command for `content` → `dest` with `mode`, as root when `sudo`.
/// Re-running it is harmless, so it is marked idempotent.
pub(crate) fn command(
    content: &[u8],
    dest: &str,
    mode: u32,
    sudo: bool,
    tag: &str,
) -> RemoteCommand {
    let cmd = crate::remote::safe_write::write_cmd(dest, content, mode, None, None, tag);
    if sudo { cmd.sudo() } else { cmd }
}

/// A random tag so concurrent uploads to one path never share a temp file.
pub(crate) fn random_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_escapes_paths() {
        let c = command(b"hi", "/tmp/a b'c", 0o640, true, "t");
        let line = c.to_shell();
        assert!(line.starts_with("sudo -n -H -- perl -e "), "{line}");
        assert!(
            line.ends_with("' /tmp '.a b'\\''c.vmbuild-tmp-t' 'a b'\\''c' 0640 '' ''"),
            "{line}"
        );
        assert_eq!(c.get_stdin(), Some(&b"hi"[..]));
        assert!(c.is_idempotent());
        assert!(!command(b"", "/x", 0o755, false, "t").is_sudo());
    }

    #[test]
    fn script_works_in_a_real_shell() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a b");
        let c = command(b"x", dest.to_str().unwrap(), 0o600, false, "t");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(c.to_shell())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"content").unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(std::fs::read(&dest).unwrap(), b"content");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
