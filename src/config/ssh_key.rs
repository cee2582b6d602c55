//! What an `access.ssh_keys` entry must be: one OpenSSH public key line,
//! `TYPE BASE64 [COMMENT]`, whose data really is a key of that type. The
//! line goes into `authorized_keys` on the appliance, so anything else
//! (options, a private key, two keys on one line) is refused here.
use base64::Engine as _;

/// Key types sshd on Debian 12 accepts in `authorized_keys`.
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Why `line` is not an acceptable public key line, or `None` when it is.
pub(crate) fn problem(line: &str) -> Option<String> {
    let expected = "an OpenSSH public key line such as `ssh-ed25519 AAAAC3Nza… you@host`";
    if line.contains("PRIVATE KEY") {
        return Some("is a private key; give the public half (the `.pub` file)".into());
    }
    if line.contains(['\n', '\r', '\0']) {
        return Some(format!("expected one line: {expected}"));
    }
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return Some(format!("expected {expected}"));
    };
    if !KEY_TYPES.contains(&kind) {
        return Some(format!(
            "expected {expected}; `{}` is not a key type (one of {})",
            kind.chars().take(40).collect::<String>(),
            KEY_TYPES
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(data) else {
        return Some(format!("the key data after `{kind}` is not base64"));
    };
    let not_a_key = || Some(format!("the key data after `{kind}` is not an SSH key"));
    let Some(fields) = fields(&blob) else {
        return not_a_key();
    };
    match fields.first() {
        Some(t) if *t == kind.as_bytes() => {}
        Some(t) => {
            return Some(format!(
                "the key data is a `{}` key, the line says `{kind}`",
                String::from_utf8_lossy(t)
            ));
        }
        None => return not_a_key(),
    }
    // the key itself: ed25519 is one 32-byte field; the others have more
    let complete = match kind {
        "ssh-ed25519" => fields.len() == 2 && fields[1].len() == 32,
        _ => fields.len() >= 3 && fields[1..].iter().all(|f| !f.is_empty()),
    };
    if !complete {
        return not_a_key();
    }
    let insecure = crate::template::preseed::VAGRANT_INSECURE_KEYS
        .iter()
        .any(|k| k.split_whitespace().nth(1) == Some(data));
    if insecure {
        return Some("is Vagrant's published insecure key, which opens nothing".into());
    }
    None
}

/// The fields of an SSH public key blob (RFC 4253: each a uint32 length,
/// then that many bytes; the first is the key type), or `None` unless they
/// fill the blob exactly.
fn fields(mut blob: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !blob.is_empty() {
        let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
        out.push(blob.get(4..4usize.checked_add(len)?)?);
        blob = &blob[4 + len..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH8OPg1yTHbALWOileY6wKaCpDioGnksjSxrDkFE3CiT owner@laptop";

    #[test]
    fn real_public_keys_pass() {
        assert_eq!(problem(ED25519), None);
        // no comment is fine too
        assert_eq!(problem(ED25519.rsplit_once(' ').unwrap().0), None);
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        assert_eq!(
            problem("AAAAC3NzaC1lZDI1NTE5").unwrap(),
            "expected an OpenSSH public key line such as `ssh-ed25519 AAAAC3Nza… you@host`"
        );
        assert!(
            problem("command=\"sh\" ssh-ed25519 AAAA")
                .unwrap()
                .contains("`command=\"sh\"` is not a key type")
        );
        assert_eq!(
            problem("ssh-ed25519 not*base64").unwrap(),
            "the key data after `ssh-ed25519` is not base64"
        );
        let rsa_data = crate::template::preseed::VAGRANT_INSECURE_KEYS[0]
            .split_whitespace()
            .nth(1)
            .unwrap();
        assert_eq!(
            problem(&format!("ssh-ed25519 {rsa_data}")).unwrap(),
            "the key data is a `ssh-rsa` key, the line says `ssh-ed25519`"
        );
        assert_eq!(
            problem("ssh-ed25519 AAAA").unwrap(),
            "the key data after `ssh-ed25519` is not an SSH key"
        );
        assert_eq!(
            problem("-----BEGIN OPENSSH PRIVATE KEY-----").unwrap(),
            "is a private key; give the public half (the `.pub` file)"
        );
        assert!(problem(&format!("{ED25519}\n{ED25519}")).is_some());
    }

    #[test]
    fn vagrants_insecure_keys_are_refused() {
        for k in crate::template::preseed::VAGRANT_INSECURE_KEYS {
            assert_eq!(
                problem(k).unwrap(),
                "is Vagrant's published insecure key, which opens nothing"
            );
        }
    }
}
