//! Hits and misses per kind of package, for the line after the recap.
use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of files the cache keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Debian packages (and by-hash index files).
    Apt,
    /// Python wheels and sdists.
    Pypi,
    /// npm tarballs.
    Npm,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Apt, Kind::Pypi, Kind::Npm];

    fn label(self) -> &'static str {
        match self {
            Kind::Apt => "apt",
            Kind::Pypi => "pypi",
            Kind::Npm => "npm",
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    failures: AtomicU64,
    bytes_hit: AtomicU64,
    bytes_fetched: AtomicU64,
}

/// Counters shared by every connection of one run.
#[derive(Debug, Default)]
pub struct Stats {
    per: [Counters; 3],
}

impl Stats {
    fn of(&self, k: Kind) -> &Counters {
        &self.per[k as usize]
    }

    /// A file served from the store.
    pub fn hit(&self, k: Kind, bytes: u64) {
        self.of(k).hits.fetch_add(1, Ordering::Relaxed);
        self.of(k).bytes_hit.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A file fetched upstream and stored.
    pub fn miss(&self, k: Kind, bytes: u64) {
        self.of(k).misses.fetch_add(1, Ordering::Relaxed);
        self.of(k).bytes_fetched.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A file that could not be fetched.
    pub fn failure(&self, k: Kind) {
        self.of(k).failures.fetch_add(1, Ordering::Relaxed);
    }

    /// (hits, misses) over all kinds.
    pub fn totals(&self) -> (u64, u64) {
        Kind::ALL.iter().fold((0, 0), |(h, m), k| {
            (
                h + self.of(*k).hits.load(Ordering::Relaxed),
                m + self.of(*k).misses.load(Ordering::Relaxed),
            )
        })
    }

    /// "cache: 140 hits (312 MB), 12 misses (40 MB fetched) — apt 120/10, pypi 20/2".
    pub fn summary(&self) -> String {
        let mb = |b: u64| b.div_ceil(1_000_000);
        let (mut hits, mut misses, mut fails, mut bh, mut bf) = (0, 0, 0, 0, 0);
        let mut parts = Vec::new();
        for k in Kind::ALL {
            let c = self.of(k);
            let (h, m, f) = (
                c.hits.load(Ordering::Relaxed),
                c.misses.load(Ordering::Relaxed),
                c.failures.load(Ordering::Relaxed),
            );
            hits += h;
            misses += m;
            fails += f;
            bh += c.bytes_hit.load(Ordering::Relaxed);
            bf += c.bytes_fetched.load(Ordering::Relaxed);
            if h + m + f > 0 {
                let fail = if f > 0 {
                    format!(", {f} failed")
                } else {
                    String::new()
                };
                parts.push(format!("{} {h} hits/{m} misses{fail}", k.label()));
            }
        }
        if parts.is_empty() {
            return "cache: not used".to_owned();
        }
        let fail = if fails > 0 {
            format!(", {fails} failed")
        } else {
            String::new()
        };
        format!(
            "cache: {hits} hits ({} MB), {misses} misses ({} MB fetched){fail} — {}",
            mb(bh),
            mb(bf),
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary() {
        let s = Stats::default();
        assert_eq!(s.summary(), "cache: not used");
        s.hit(Kind::Apt, 2_500_000);
        s.hit(Kind::Apt, 500_000);
        s.miss(Kind::Pypi, 1);
        s.failure(Kind::Npm);
        assert_eq!(
            s.summary(),
            "cache: 2 hits (3 MB), 1 misses (1 MB fetched), 1 failed — apt 2 hits/0 misses, pypi 0 hits/1 misses, npm 0 hits/0 misses, 1 failed"
        );
        assert_eq!(s.totals(), (2, 1));
    }
}
