//! A PyPI project page (PEP 691 JSON) turned into a PEP 503 HTML page whose
//! links lead back to the cache, each with the `#sha256=` PyPI gave, so pip
//! and uv check every file they get from the cache against PyPI's hash.
use serde::Deserialize;

use super::route::PYPI_FILES;

#[derive(Deserialize)]
struct Project {
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    #[serde(rename = "requires-python", default)]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: serde_json::Value,
    #[serde(rename = "core-metadata", default)]
    core_metadata: serde_json::Value,
}

/// The HTML page for the JSON `body` of a project page. Files without a
/// sha256, or hosted elsewhere than PyPI's file host, are left out.
pub fn html_page(project: &str, body: &[u8]) -> Result<String, String> {
    let p: Project = serde_json::from_slice(body)
        .map_err(|e| format!("PyPI's page for `{project}` is not PEP 691 JSON: {e}"))?;
    let mut out = format!(
        "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\">\
         <title>Links for {0}</title></head><body><h1>Links for {0}</h1>\n",
        escape(project)
    );
    for f in &p.files {
        let (Some(sha), Some(path)) = (f.hashes.get("sha256"), f.url.strip_prefix(PYPI_FILES))
        else {
            continue;
        };
        out.push_str(&format!(
            "<a href=\"/pypi/files/{sha}/{}#sha256={sha}\"",
            escape(path)
        ));
        if let Some(rp) = &f.requires_python {
            out.push_str(&format!(" data-requires-python=\"{}\"", escape(rp)));
        }
        // PEP 658: the installer reads a wheel's metadata alone while it
        // resolves (`<file>.metadata`), instead of fetching the wheel twice
        if let Some(m) = f.core_metadata.get("sha256").and_then(|v| v.as_str()) {
            let m = escape(m);
            out.push_str(&format!(
                " data-core-metadata=\"sha256={m}\" data-dist-info-metadata=\"sha256={m}\""
            ));
        }
        match &f.yanked {
            serde_json::Value::Bool(true) => out.push_str(" data-yanked=\"\""),
            serde_json::Value::String(why) => {
                out.push_str(&format!(" data-yanked=\"{}\"", escape(why)));
            }
            _ => {}
        }
        out.push_str(&format!(">{}</a><br/>\n", escape(&f.filename)));
    }
    out.push_str("</body></html>\n");
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page() {
        let json = br#"{"meta":{"api-version":"1.1"},"name":"six","files":[
          {"filename":"six-1.17.0-py2.py3-none-any.whl","url":"https://files.pythonhosted.org/packages/b7/ce/six-1.17.0-py2.py3-none-any.whl","hashes":{"sha256":"4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"},"requires-python":">=2.7, !=3.0.*","yanked":false,"core-metadata":{"sha256":"ab"}},
          {"filename":"six-1.0.tar.gz","url":"https://files.pythonhosted.org/packages/x/six-1.0.tar.gz","hashes":{"md5":"00"}},
          {"filename":"six-0.9.tar.gz","url":"https://elsewhere.example/six-0.9.tar.gz","hashes":{"sha256":"11"}},
          {"filename":"six-1.16.0.tar.gz","url":"https://files.pythonhosted.org/packages/y/six-1.16.0.tar.gz","hashes":{"sha256":"22"},"yanked":"broken <build>"}]}"#;
        let html = html_page("six", json).unwrap();
        assert!(html.contains(
            "<a href=\"/pypi/files/4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274/packages/b7/ce/six-1.17.0-py2.py3-none-any.whl#sha256=4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\" data-requires-python=\"&gt;=2.7, !=3.0.*\" data-core-metadata=\"sha256=ab\" data-dist-info-metadata=\"sha256=ab\">six-1.17.0-py2.py3-none-any.whl</a>"
        ), "{html}");
        assert!(
            !html.contains("six-1.0.tar.gz") && !html.contains("elsewhere"),
            "{html}"
        );
        assert!(
            html.contains("data-yanked=\"broken &lt;build&gt;\""),
            "{html}"
        );
        assert!(html_page("six", b"<html>").is_err());
    }
}
