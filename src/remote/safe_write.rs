//! Writing and changing files as root where other users can write too:
//! `/srv/data` is group-writable without a sticky bit, so a student could
//! swap a temp file or a managed path for a symlink between two steps and
//! have root chmod/chown/overwrite any file. Both commands here work from a
//! pinned working directory, never follow a symlink, and set owner and mode
//! on an open descriptor rather than by name.
use super::RemoteCommand;

/// Atomic write that is safe in directories other users can write to
/// (`/srv/data` is group-writable without a sticky bit): the temp file is
/// created with O_CREAT|O_EXCL|O_NOFOLLOW from a pinned working directory,
/// owner and mode are set on the open descriptor (never by name, so a
/// swapped-in symlink is never followed), it is renamed over the
/// destination, and the result is checked to be the file written. Perl
/// because Debian always has it (perl-base is essential) and POSIX sh has no
/// O_NOFOLLOW or fchmod. Args: dir, temp name, name, mode (octal), owner,
/// group (empty: unchanged).
const PUT_SCRIPT: &str = r#"#vmbuild-put
use strict;use Fcntl;my($d,$t,$n,$m,$o,$g)=@ARGV;
chdir $d or die "cannot enter `$d`: $!\n";
sysopen(my $f,$t,O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW,0600) or die "cannot create `$d/$t`: $!\n";
my $ok=eval{binmode STDIN;binmode $f;local $/=\65536;
while(defined(my $b=<STDIN>)){print $f $b or die "cannot write: $!\n"}
my($u,$gi)=(-1,-1);
if($o ne ""){$u=$o=~/^\d+$/?$o:(getpwnam $o)[2];defined $u or die "no user `$o`\n"}
if($g ne ""){$gi=$g=~/^\d+$/?$g:(getgrnam $g)[2];defined $gi or die "no group `$g`\n"}
chown($u,$gi,$f) or die "cannot chown: $!\n" if $u!=-1||$gi!=-1;
chmod(oct $m,$f) or die "cannot chmod: $!\n";
my @s=stat $f;close $f or die "cannot write: $!\n";
rename($t,$n) or die "cannot rename to `$d/$n`: $!\n";
my @l=lstat $n;
($l[0]//-1)==$s[0]&&($l[1]//-1)==$s[1] or die "`$d/$n` was replaced while it was written (someone else can write to `$d`)\n";1};
if(!$ok){my $e=$@;unlink $t;die $e}"#;

/// The command writing `content` to `path` atomically with mode and
/// owner:group (`None`: the writer's), the temp file named after `tag`.
pub fn write_cmd(
    path: &str,
    content: &[u8],
    mode: u32,
    owner: Option<&str>,
    group: Option<&str>,
    tag: &str,
) -> RemoteCommand {
    let (dir, name) = split_path(path);
    RemoteCommand::new("perl")
        .args(["-e", PUT_SCRIPT])
        .arg(dir)
        .arg(format!(".{name}.vmbuild-tmp-{tag}"))
        .arg(name)
        .arg(format!("{:04o}", mode & 0o7777))
        .arg(owner.unwrap_or(""))
        .arg(group.unwrap_or(""))
        .stdin(content.to_vec())
        .idempotent()
}

/// `/a/b` → (`/a`, `b`); `/b` → (`/`, `b`).
fn split_path(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => (".", path),
    }
}

/// chown/chmod of an existing path that never follows a symlink: the path
/// is opened with O_PATH|O_NOFOLLOW (which has no side effects even on a
/// device or FIFO), refused if it is a symlink, and changed through its
/// descriptor. Args: dir, name, mode (octal or empty), owner, group.
const ATTRS_SCRIPT: &str = r#"#vmbuild-attrs
use strict;use Fcntl;my($d,$n,$m,$o,$g)=@ARGV;
chdir $d or die "cannot enter `$d`: $!\n";
sysopen(my $f,$n,010000000|O_NOFOLLOW) or die "cannot open `$d/$n`: $!\n";
my @s=stat $f or die "cannot stat `$d/$n`: $!\n";
($s[2]&0170000)==0120000 and die "`$d/$n` is a symlink: refusing to change what it points to\n";
my $p="/proc/self/fd/".fileno $f;-e $p or die "needs /proc mounted\n";
my($u,$gi)=(-1,-1);
if($o ne ""){$u=$o=~/^\d+$/?$o:(getpwnam $o)[2];defined $u or die "no user `$o`\n"}
if($g ne ""){$gi=$g=~/^\d+$/?$g:(getgrnam $g)[2];defined $gi or die "no group `$g`\n"}
chown($u,$gi,$p) or die "cannot chown `$d/$n`: $!\n" if $u!=-1||$gi!=-1;
$m eq "" or chmod(oct $m,$p) or die "cannot chmod `$d/$n`: $!\n";"#;

/// The command setting mode and/or owner:group of the existing `path`
/// without following a symlink there.
pub fn attrs_cmd(
    path: &str,
    mode: Option<u32>,
    owner: Option<&str>,
    group: Option<&str>,
) -> RemoteCommand {
    let (dir, name) = split_path(path);
    RemoteCommand::new("perl")
        .args(["-e", ATTRS_SCRIPT, dir, name])
        .arg(
            mode.map(|m| format!("{:04o}", m & 0o7777))
                .unwrap_or_default(),
        )
        .arg(owner.unwrap_or(""))
        .arg(group.unwrap_or(""))
        .idempotent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let p = write_cmd("/etc/x y", b"hi", 0o640, Some("root"), Some("adm"), "T");
        assert!(
            p.to_shell()
                .ends_with("' /etc '.x y.vmbuild-tmp-T' 'x y' 0640 root adm"),
            "{p}"
        );
        assert_eq!(p.get_stdin(), Some(&b"hi"[..]));
        assert!(
            write_cmd("/x", b"", 0o644, None, None, "T")
                .to_shell()
                .ends_with("' / .x.vmbuild-tmp-T x 0644 '' ''")
        );
        assert!(
            attrs_cmd("/srv/d/f", Some(0o600), None, Some("staff"))
                .to_shell()
                .ends_with("' /srv/d f 0600 '' staff")
        );
    }

    /// Runs `cmd` with the machine's own shell and perl (as the test user).
    fn run_local(cmd: &RemoteCommand) -> std::process::Output {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.to_shell())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(cmd.get_stdin().unwrap_or_default())
            .unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    fn mode(p: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn symlinks_planted_by_another_user_are_never_followed() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "secret\n").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let shared = d.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        let dir = shared.to_str().unwrap();

        // chmod of a managed path that is now a symlink: refused
        symlink(&victim, shared.join("link")).unwrap();
        let out = run_local(&attrs_cmd(&format!("{dir}/link"), Some(0o644), None, None));
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("is a symlink"));
        assert_eq!(mode(&victim), 0o600);

        // writing over a symlink replaces the link, not its target
        let out = run_local(&write_cmd(
            &format!("{dir}/link"),
            b"new\n",
            0o644,
            None,
            None,
            "t1",
        ));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(shared.join("link")).unwrap(),
            "new\n"
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");
        assert_eq!(mode(&victim), 0o600);
        assert_eq!(mode(&shared.join("link")), 0o644);

        // a temp name taken in advance (a symlink to the victim): O_EXCL|O_NOFOLLOW
        symlink(&victim, shared.join(".f.vmbuild-tmp-t2")).unwrap();
        let out = run_local(&write_cmd(
            &format!("{dir}/f"),
            b"x",
            0o666,
            None,
            None,
            "t2",
        ));
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("File exists"));
        assert_eq!(mode(&victim), 0o600);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "secret\n");

        // ordinary use: setuid bits survive (owner is set before mode), and
        // a FIFO's attributes change without opening it (no blocking)
        let out = run_local(&write_cmd(
            &format!("{dir}/tool"),
            b"#!/bin/sh\n",
            0o4755,
            None,
            None,
            "t3",
        ));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&shared.join("tool")), 0o4755);
        let fifo = shared.join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let out = run_local(&attrs_cmd(fifo.to_str().unwrap(), Some(0o600), None, None));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&fifo), 0o600);
    }
}
