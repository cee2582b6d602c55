//! What valid values look like: patterns for names, URLs-ish strings and IPs.
use std::net::Ipv4Addr;
use std::sync::LazyLock;

use regex::Regex;

use super::check::quote;

fn re(pattern: &str) -> Regex {
    // Patterns are literals below, covered by the tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad built-in pattern {pattern}: {e}"))
}

pub(crate) static FILE_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"));
pub(crate) static HOST_LABEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"));
pub(crate) static DOMAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"));
pub(crate) static SUITE: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z][a-z0-9-]*$"));
pub(crate) static TIMEZONE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"));
pub(crate) static LOCALE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([a-z]{2,3}(_[A-Z]{2})?|C)(\.[A-Za-z0-9-]+)?(@[a-z]+)?$|^POSIX$"));
pub(crate) static DEB_PACKAGE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$"));
pub(crate) static SHA256: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9a-fA-F]{64}$"));
pub(crate) static MEM_LIMIT: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9]+(\.[0-9]+)?[KMGT]?$"));
pub(crate) static UNIX_USER: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z_][a-z0-9_-]{0,31}$"));
pub(crate) static GITHUB_REPO: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+(@[A-Za-z0-9._/-]+)?$"));
pub(crate) static PIP_REQUIREMENT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*([<>=!~]=?.*)?$"));

pub(crate) const IP_EXPECTED: &str = "expected `dhcp` or a host IPv4 address such as `192.168.56.10` (not the network or broadcast address of its /24)";

/// `dhcp`, or an IPv4 address a VM can have on a /24 private network.
pub(crate) fn ip_ok(ip: &str) -> bool {
    if ip == "dhcp" {
        return true;
    }
    let Ok(addr) = ip.parse::<Ipv4Addr>() else {
        return false;
    };
    let last = addr.octets()[3];
    !(addr.is_unspecified()
        || addr.is_loopback()
        || addr.is_multicast()
        || addr.is_broadcast()
        || last == 0
        || last == 255)
}

/// The message for a bad `-i` value.
pub(crate) fn ip_message(ip: &str) -> String {
    format!("{IP_EXPECTED}, found {}", quote(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses() {
        for ok in ["dhcp", "192.168.56.10", "10.0.0.1"] {
            assert!(ip_ok(ok), "{ok}");
        }
        for bad in [
            "DHCP",
            "192.168.56.0",
            "192.168.56.255",
            "127.0.0.1",
            "0.0.0.0",
            "300.1.1.1",
            "10.0.0",
            "224.0.0.1",
            "::1",
        ] {
            assert!(!ip_ok(bad), "{bad}");
        }
    }

    #[test]
    fn patterns_accept_the_usual_values() {
        assert!(
            LOCALE.is_match("en_US.UTF-8")
                && LOCALE.is_match("C.UTF-8")
                && LOCALE.is_match("de_DE@euro")
        );
        assert!(
            TIMEZONE.is_match("America/Argentina/Buenos_Aires") && TIMEZONE.is_match("Etc/GMT+2")
        );
        assert!(
            PIP_REQUIREMENT.is_match("pandas==2.2.3")
                && PIP_REQUIREMENT.is_match("jupyterlab>=4,<5")
        );
        assert!(PIP_REQUIREMENT.is_match("dask[complete]"));
        assert!(!PIP_REQUIREMENT.is_match("-r evil.txt"));
        assert!(
            DEB_PACKAGE.is_match("r-cran-ggplot2")
                && DEB_PACKAGE.is_match("libc6=2.36-9")
                && !DEB_PACKAGE.is_match("Bad Name")
        );
        assert!(
            MEM_LIMIT.is_match("1G") && MEM_LIMIT.is_match("1.5G") && !MEM_LIMIT.is_match("1 GB")
        );
        assert!(GITHUB_REPO.is_match("IRkernel/IRkernel") && !GITHUB_REPO.is_match("IRkernel"));
        assert!(DOMAIN.is_match("hub.example.org") && !DOMAIN.is_match("localhost"));
    }
}
