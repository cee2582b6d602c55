//! Comparing Glance's record of an uploaded image with what was sent.
use super::error::CloudError;
use super::glance::Image;
use super::hashing::Sums;

/// Compare Glance's record with what we sent.
pub(crate) fn verify(image: &Image, sums: &Sums, disk_format: &str) -> Result<(), CloudError> {
    let mismatch = |algo: &str, local: String, remote: String| CloudError::HashMismatch {
        id: image.id.clone(),
        algo: algo.into(),
        local,
        remote,
    };
    if image.status != "active" {
        return Err(CloudError::NotActive {
            id: image.id.clone(),
            status: image.status.clone(),
            detail: String::new(),
        });
    }
    if image
        .disk_format
        .as_deref()
        .is_some_and(|f| f != disk_format)
    {
        // A conversion plugin rewrote the data: its checksums are of other bytes.
        return Ok(());
    }
    if image.size != Some(sums.bytes) {
        let remote = image.size.map_or("unknown".to_owned(), |s| s.to_string());
        return Err(mismatch("size", sums.bytes.to_string(), remote));
    }
    if let Some(md5) = image.checksum.as_ref().filter(|m| **m != sums.md5) {
        return Err(mismatch("md5", sums.md5.clone(), md5.clone()));
    }
    match (image.os_hash_algo.as_deref(), &image.os_hash_value) {
        (Some("sha512"), Some(v)) if v != &sums.sha512 => {
            Err(mismatch("sha512", sums.sha512.clone(), v.clone()))
        }
        (Some("sha512"), Some(_)) => Ok(()),
        // Other multihash algorithms: md5 and size were checked above.
        (Some(_), Some(_)) => Ok(()),
        _ if image.checksum.is_some() => Ok(()),
        _ => Err(mismatch(
            "sha512",
            sums.sha512.clone(),
            "none (Glance recorded no checksum)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(status: &str, size: u64, md5: &str, sha: &str) -> Image {
        Image {
            id: "i1".into(),
            name: None,
            status: status.into(),
            size: Some(size),
            checksum: Some(md5.into()),
            os_hash_algo: Some("sha512".into()),
            os_hash_value: Some(sha.into()),
            disk_format: Some("qcow2".into()),
            os_glance_failed_import: None,
        }
    }

    fn sums() -> Sums {
        Sums {
            sha512: "s".into(),
            md5: "m".into(),
            bytes: 5,
        }
    }

    #[test]
    fn verify_accepts_matching_record() {
        verify(&image("active", 5, "m", "s"), &sums(), "qcow2").unwrap();
    }

    #[test]
    fn verify_names_the_mismatch() {
        let cases = [
            (image("active", 6, "m", "s"), "size"),
            (image("active", 5, "x", "s"), "md5"),
            (image("active", 5, "m", "x"), "sha512"),
            (image("queued", 5, "m", "s"), "status `queued`"),
        ];
        for (img, want) in cases {
            let e = verify(&img, &sums(), "qcow2").unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }
}
