//! SSH public keys: `authorized_keys` lines, fingerprints, Vagrant's
//! published insecure keys, and the public half of an OpenSSH private key.
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};

/// Vagrant's published insecure public keys (RSA, and the ed25519 one newer
/// Vagrant releases ship): their private halves are public, so an account
/// accepting them accepts anyone.
const VAGRANT_INSECURE: [&str; 2] = [
    "AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ==",
    "AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y",
];

/// One public key (from an `authorized_keys` line or `owner.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Option names before the key (`command`, `restrict`, ...), values left out.
    pub options: Vec<String>,
    /// The key type as written (`ssh-ed25519`).
    pub key_type: String,
    /// The decoded key blob.
    pub blob: Vec<u8>,
    /// The comment, if any.
    pub comment: String,
}

impl PublicKey {
    /// `SHA256:…` as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.blob)
    }

    /// Whether this is one of Vagrant's insecure keys.
    pub fn is_vagrant_insecure(&self) -> bool {
        VAGRANT_INSECURE
            .iter()
            .any(|k| STANDARD.decode(k).is_ok_and(|b| b == self.blob))
    }

    /// Type, fingerprint and comment: how findings name a key.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.key_type, self.fingerprint());
        if !self.comment.is_empty() {
            s.push_str(&format!(" `{}`", self.comment));
        }
        if !self.options.is_empty() {
            s.push_str(&format!(" (options: {})", self.options.join(",")));
        }
        s
    }
}

/// `SHA256:…` of a key blob.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-")
        || t.starts_with("ecdsa-sha2-")
        || t.starts_with("sk-ssh-")
        || t.starts_with("sk-ecdsa-")
}

/// Split off the options field: it ends at the first blank outside double
/// quotes (`command="a b",no-pty ssh-ed25519 …`).
fn split_options(line: &str) -> (&str, &str) {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return (&line[..i], line[i..].trim_start()),
            _ => {}
        }
    }
    (line, "")
}

fn option_names(opts: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut quoted = false;
    let mut cur = String::new();
    let mut in_value = false;
    for c in opts.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                names.push(std::mem::take(&mut cur));
                in_value = false;
            }
            '=' if !quoted => in_value = true,
            _ if !in_value => cur.push(c),
            _ => {}
        }
    }
    if !cur.is_empty() {
        names.push(cur);
    }
    names
}

/// Parse one `authorized_keys` line; `None` for blank lines, comments and
/// lines sshd would not accept either.
pub fn parse_line(line: &str) -> Option<PublicKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let first = line.split_whitespace().next()?;
    let (options, rest) = if is_key_type(first) {
        (Vec::new(), line)
    } else {
        let (opts, rest) = split_options(line);
        (option_names(opts), rest)
    };
    let mut parts = rest.splitn(3, [' ', '\t']);
    let key_type = parts.next()?.to_owned();
    if !is_key_type(&key_type) {
        return None;
    }
    let blob = STANDARD.decode(parts.next()?.trim()).ok()?;
    let comment = parts.next().unwrap_or("").trim().to_owned();
    Some(PublicKey {
        options,
        key_type,
        blob,
        comment,
    })
}

fn read_string<'a>(b: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let s = b.get(4..4 + len)?;
    *b = &b[4 + len..];
    Some(s)
}

/// The public key blob inside an OpenSSH-format private key (the
/// `openssh-key-v1` container keeps it unencrypted), for its fingerprint.
pub fn openssh_private_key_public_blob(pem: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
    const END: &str = "-----END OPENSSH PRIVATE KEY-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let end = start + pem[start..].find(END)?;
    let b64: String = pem[start..end].split_whitespace().collect();
    let raw = STANDARD.decode(b64).ok()?;
    let mut b = raw.strip_prefix(b"openssh-key-v1\0")?;
    read_string(&mut b)?; // cipher
    read_string(&mut b)?; // kdf
    read_string(&mut b)?; // kdf options
    let n = u32::from_be_bytes(b.get(..4)?.try_into().ok()?);
    b = &b[4..];
    (n >= 1).then_some(())?;
    Some(read_string(&mut b)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAGRANT_RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";
    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOaLKOjsBqvESpZL+bR4wH7AN5JCQr8hwpmHZ/crt4kp alice@laptop";

    #[test]
    fn plain_lines_parse_with_fingerprint_and_comment() {
        let k = parse_line(VAGRANT_RSA).unwrap();
        assert_eq!(k.key_type, "ssh-rsa");
        assert_eq!(k.comment, "vagrant insecure public key");
        // what `ssh-keygen -lf vagrant.pub` prints
        assert_eq!(
            k.fingerprint(),
            "SHA256:1M4RzhMyWuFS/86uPY/ce2prh/dVTHW7iD2RhpquOZA"
        );
        assert!(k.is_vagrant_insecure());
        let e = parse_line(ED).unwrap();
        assert!(!e.is_vagrant_insecure());
        assert!(e.options.is_empty());
    }

    #[test]
    fn the_ed25519_insecure_key_is_known_whatever_the_comment() {
        let k = parse_line("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y renamed").unwrap();
        assert!(k.is_vagrant_insecure());
    }

    #[test]
    fn options_with_quoted_blanks_are_split_off() {
        let line = format!("command=\"echo hi there, you\",no-pty,from=\"10.0.0.1\" {VAGRANT_RSA}");
        let k = parse_line(&line).unwrap();
        assert_eq!(k.options, ["command", "no-pty", "from"]);
        assert!(k.is_vagrant_insecure());
        let k = parse_line(&format!("restrict {ED}")).unwrap();
        assert_eq!(k.options, ["restrict"]);
        assert_eq!(k.comment, "alice@laptop");
    }

    #[test]
    fn comments_blanks_and_garbage_are_not_keys() {
        assert_eq!(parse_line("# ssh-rsa AAAA"), None);
        assert_eq!(parse_line("   "), None);
        assert_eq!(parse_line("ssh-rsa not-base64!"), None);
        assert_eq!(parse_line("hello world"), None);
    }

    #[test]
    fn openssh_private_keys_yield_their_public_blob() {
        // a throwaway key made with `ssh-keygen -t ed25519 -N '' -C test` for this test
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACAk02viKeHcgV+lk0s45uALbj94m5Dv40eBmVHjASHbNQAAAIgMWlQLDFpU
CwAAAAtzc2gtZWQyNTUxOQAAACAk02viKeHcgV+lk0s45uALbj94m5Dv40eBmVHjASHbNQ
AAAECV8CZrNTjrfSG+viycsZJs1J8owf3P2BAqPWxLBydG5STTa+Ip4dyBX6WTSzjm4Atu
P3ibkO/jR4GZUeMBIds1AAAABHRlc3QB
-----END OPENSSH PRIVATE KEY-----
";
        let blob = openssh_private_key_public_blob(pem).unwrap();
        // what `ssh-keygen -lf` printed for it
        assert_eq!(
            fingerprint(&blob),
            "SHA256:fPw234+dPta9uqwZ6F7xJBuPLBS8tpFJhuBZjLG2PYA"
        );
        assert_eq!(
            openssh_private_key_public_blob("-----BEGIN RSA PRIVATE KEY-----\n"),
            None
        );
    }
}
