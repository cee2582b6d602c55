//! Re-reads an OVF descriptor and applies the rules VirtualBox's importer
//! (`src/VBox/Main/xml/ovfreader.cpp`) enforces, so a descriptor that would be
//! refused there is refused here before any OVA is written. Where VirtualBox
//! only warns (duplicate `InstanceID`) or the OVF spec requires more than it
//! checks (a NIC's network listed in `NetworkSection`), we are stricter.
use std::collections::{HashMap, HashSet};

mod hardware;
use hardware::check_system;

use roxmltree::{Document, Node};

use super::ovf::OVF_NS;

/// What a valid descriptor says, for callers and tests to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvfSummary {
    /// `VirtualSystem/@ovf:id`.
    pub name: String,
    /// CPU count.
    pub cpus: u64,
    /// Memory in MiB.
    pub memory_mb: u64,
    /// CIM OS id.
    pub os_id: u64,
    /// Disks attached to controllers, in item order.
    pub disks: Vec<AttachedDisk>,
    /// Networks the NICs connect to.
    pub nics: Vec<String>,
}

/// A disk item resolved through its controller, `DiskSection` and `References`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDisk {
    /// `Disk/@ovf:diskId`.
    pub disk_id: String,
    /// The file in the package (`File/@ovf:href`).
    pub href: String,
    /// Capacity in bytes.
    pub capacity_bytes: u64,
    /// Controller kind and subtype, e.g. `SATA AHCI`.
    pub controller: String,
}

pub(super) fn attr<'a>(n: Node<'a, '_>, local: &str) -> Option<&'a str> {
    n.attributes()
        .find(|a| a.name() == local)
        .map(|a| a.value())
}

pub(super) fn child<'a, 'i>(n: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == local)
}

pub(super) fn children<'a, 'i>(
    n: Node<'a, 'i>,
    local: &'static str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == local)
}

pub(super) fn text<'a>(n: Node<'a, '_>, local: &str) -> Option<&'a str> {
    child(n, local).map(|c| c.text().unwrap_or("").trim())
}

pub(super) struct Checker<'d, 'i> {
    doc: &'d Document<'i>,
    problems: Vec<String>,
}

impl<'d, 'i> Checker<'d, 'i> {
    pub(super) fn bad(&mut self, n: Node<'_, '_>, msg: impl std::fmt::Display) {
        let pos = self.doc.text_pos_at(n.range().start);
        self.problems.push(format!("line {}: {msg}", pos.row));
    }

    /// `References/File` by id → href.
    fn files(&mut self, env: Node<'d, 'i>) -> HashMap<String, String> {
        let mut files = HashMap::new();
        for f in child(env, "References")
            .into_iter()
            .flat_map(|r| children(r, "File"))
        {
            match (attr(f, "id"), attr(f, "href")) {
                (Some(id), Some(href)) => {
                    if files.insert(id.to_owned(), href.to_owned()).is_some() {
                        self.bad(f, format_args!("duplicate File id `{id}`"));
                    }
                }
                _ => self.bad(f, "File needs ovf:id and ovf:href"),
            }
        }
        files
    }

    /// `DiskSection/Disk` by diskId → (href, capacity in bytes).
    fn disks(
        &mut self,
        env: Node<'d, 'i>,
        files: &HashMap<String, String>,
    ) -> HashMap<String, (String, u64)> {
        let mut disks = HashMap::new();
        let Some(sec) = child(env, "DiskSection") else {
            self.bad(env, "no DiskSection");
            return disks;
        };
        for d in children(sec, "Disk") {
            let (Some(id), Some(_fmt), Some(cap)) =
                (attr(d, "diskId"), attr(d, "format"), attr(d, "capacity"))
            else {
                self.bad(d, "Disk needs ovf:diskId, ovf:format and ovf:capacity");
                continue;
            };
            let Ok(cap) = cap.parse::<u64>() else {
                self.bad(d, format_args!("capacity `{cap}` is not an integer"));
                continue;
            };
            // We state bytes; any other unit would need scaling VirtualBox may not do.
            match attr(d, "capacityAllocationUnits") {
                None | Some("byte") => {}
                Some(u) => self.bad(
                    d,
                    format_args!("capacityAllocationUnits `{u}` is not `byte`"),
                ),
            }
            let href = match attr(d, "fileRef") {
                Some(r) => match files.get(r) {
                    Some(h) => h.clone(),
                    None => {
                        self.bad(d, format_args!("fileRef `{r}` names no References/File"));
                        continue;
                    }
                },
                None => String::new(),
            };
            disks.insert(id.to_owned(), (href, cap));
        }
        disks
    }

    fn networks(&self, env: Node<'d, 'i>) -> HashSet<String> {
        child(env, "NetworkSection")
            .into_iter()
            .flat_map(|s| children(s, "Network"))
            .filter_map(|n| attr(n, "name").map(str::to_owned))
            .collect()
    }
}

/// Check `xml`; on success, what it describes. Every problem found is listed.
pub fn check(xml: &str) -> Result<OvfSummary, Vec<String>> {
    let doc = Document::parse(xml).map_err(|e| vec![format!("not well-formed XML: {e}")])?;
    let env = doc.root_element();
    let mut c = Checker {
        doc: &doc,
        problems: Vec::new(),
    };
    if env.tag_name().name() != "Envelope" || env.tag_name().namespace() != Some(OVF_NS) {
        return Err(vec![format!(
            "root element must be Envelope in namespace {OVF_NS}"
        )]);
    }
    let files = c.files(env);
    let disks = c.disks(env, &files);
    let networks = c.networks(env);
    let systems: Vec<_> = children(env, "VirtualSystem").collect();
    let mut sum = OvfSummary {
        name: String::new(),
        cpus: 0,
        memory_mb: 0,
        os_id: 0,
        disks: vec![],
        nics: vec![],
    };
    match systems.as_slice() {
        [vs] => check_system(&mut c, *vs, &disks, &networks, &mut sum),
        _ => c.bad(
            env,
            format_args!(
                "expected exactly one VirtualSystem, found {}",
                systems.len()
            ),
        ),
    }
    if c.problems.is_empty() {
        Ok(sum)
    } else {
        Err(c.problems)
    }
}
