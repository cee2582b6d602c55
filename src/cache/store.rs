//! The cache on disk: one file per key under the cache directory, written
//! to a temp file in the same directory and renamed when complete (a file
//! is either absent or whole), checked against a sha256 when one is known.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::CacheError;

/// Files by key under `root`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// What [`Store::fetch`] brought back.
#[derive(Debug)]
pub enum Fetched {
    /// Stored at this path.
    Stored(PathBuf),
    /// Upstream answered with this (non-200) status; nothing stored.
    Status(u16),
}

impl Store {
    /// A store under `root` (created on first write).
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The stored file for `key`, if there is one.
    pub fn lookup(&self, key: &str) -> Option<PathBuf> {
        let p = self.root.join(key);
        p.is_file().then_some(p)
    }

    /// Download `url` into the store as `key`, checking `sha256` (hex) when
    /// given. The body streams to a temp file next to its final place.
    pub async fn fetch(
        &self,
        client: &reqwest::Client,
        url: &str,
        key: &str,
        sha256: Option<&str>,
    ) -> Result<Fetched, CacheError> {
        let up = |message: String| CacheError::Upstream {
            url: url.to_owned(),
            message,
        };
        let mut resp = client
            .get(url)
            .send()
            .await
            .map_err(|e| up(super::upstream::chain(&e)))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Ok(Fetched::Status(status));
        }
        let dest = self.root.join(key);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let io = |what: &str, e: std::io::Error| CacheError::Store {
            path: dir.clone(),
            message: format!("{what}: {e}"),
        };
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io("cannot create", e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".part-")
            .tempfile_in(&dir)
            .map_err(|e| io("cannot create a temp file", e))?;
        let (std_file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hash = Sha256::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| up(super::upstream::chain(&e)))?
        {
            hash.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| io("cannot write", e))?;
        }
        file.flush().await.map_err(|e| io("cannot write", e))?;
        drop(file);
        let got = hex::encode(hash.finalize());
        if let Some(want) = sha256
            && !got.eq_ignore_ascii_case(want)
        {
            return Err(up(format!("sha256 is {got}, the index says {want}")));
        }
        tmp_path
            .persist(&dest)
            .map_err(|e| io("cannot rename the temp file", e.error))?;
        Ok(Fetched::Stored(dest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_needs_a_whole_file() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path().to_path_buf());
        assert!(s.lookup("apt/x/y.deb").is_none());
        std::fs::create_dir_all(d.path().join("apt/x")).unwrap();
        std::fs::write(d.path().join("apt/x/y.deb"), b"deb").unwrap();
        assert_eq!(s.lookup("apt/x/y.deb"), Some(d.path().join("apt/x/y.deb")));
        assert!(s.lookup("apt/x").is_none(), "a directory is no hit");
    }
}
