//! File upload as a command: content streamed on stdin into a temp file in
//! the destination's directory, then chmod + rename (atomic on the remote).
use crate::remote::RemoteCommand;

/// The shell script; paths and mode arrive as positional parameters
/// (`$1` temp, `$2` destination, `$3` octal mode), escaped by [`RemoteCommand`].
/// The temp file is removed when any step fails.
const SCRIPT: &str = "umask 077; cat > \"$1\" && chmod \"$3\" \"$1\" && mv -f \"$1\" \"$2\" \
                      || { rc=$?; rm -f \"$1\"; exit $rc; }";

/// Temp file name next to `dest`: `DIR/.NAME.vmbuild-tmp-TAG`.
pub(crate) fn temp_path(dest: &str, tag: &str) -> String {
    let (dir, name) = match dest.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => ("", dest),
    };
    match dir {
        "" => format!(".{name}.vmbuild-tmp-{tag}"),
        "/" => format!("/.{name}.vmbuild-tmp-{tag}"),
        _ => format!("{dir}/.{name}.vmbuild-tmp-{tag}"),
    }
}

/// The upload command for `content` → `dest` with `mode`, as root when `sudo`.
/// Re-running it is harmless, so it is marked idempotent.
pub(crate) fn command(
    content: &[u8],
    dest: &str,
    mode: u32,
    sudo: bool,
    tag: &str,
) -> RemoteCommand {
    let cmd = RemoteCommand::new("sh")
        .args(["-c", SCRIPT, "vmbuild-put"])
        .arg(temp_path(dest, tag))
        .arg(dest)
        .arg(format!("{:04o}", mode & 0o7777))
        .stdin(content.to_vec())
        .idempotent();
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
    fn temp_paths_stay_in_the_destination_directory() {
        assert_eq!(temp_path("/etc/x.conf", "t"), "/etc/.x.conf.vmbuild-tmp-t");
        assert_eq!(temp_path("/x", "t"), "/.x.vmbuild-tmp-t");
        assert_eq!(temp_path("rel/y", "t"), "rel/.y.vmbuild-tmp-t");
        assert_eq!(temp_path("y", "t"), ".y.vmbuild-tmp-t");
    }

    #[test]
    fn command_escapes_paths() {
        let c = command(b"hi", "/tmp/a b'c", 0o640, true, "t");
        assert_eq!(
            c.to_shell(),
            "sudo -n -H -- sh -c 'umask 077; cat > \"$1\" && chmod \"$3\" \"$1\" && mv -f \"$1\" \"$2\" \
             || { rc=$?; rm -f \"$1\"; exit $rc; }' vmbuild-put '/tmp/.a b'\\''c.vmbuild-tmp-t' \
             '/tmp/a b'\\''c' 0640"
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
