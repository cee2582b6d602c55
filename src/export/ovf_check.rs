//! Re-reads an OVF descriptor and applies the rules VirtualBox's importer
//! (`src/VBox/Main/xml/ovfreader.cpp`) enforces, so a descriptor that would be
//! refused there is refused here before any OVA is written. Where VirtualBox
//! only warns (duplicate `InstanceID`) or the OVF spec requires more than it
//! checks (a NIC's network listed in `NetworkSection`), we are stricter.
use std::collections::{HashMap, HashSet};

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

/// Item resource types VirtualBox's reader knows; a required item of any other
/// type makes it refuse the descriptor.
const KNOWN_TYPES: &[u32] = &[3, 4, 5, 6, 10, 14, 15, 17, 20, 23, 35];

fn attr<'a>(n: Node<'a, '_>, local: &str) -> Option<&'a str> {
    n.attributes()
        .find(|a| a.name() == local)
        .map(|a| a.value())
}

fn child<'a, 'i>(n: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == local)
}

fn children<'a, 'i>(n: Node<'a, 'i>, local: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == local)
}

fn text<'a>(n: Node<'a, '_>, local: &str) -> Option<&'a str> {
    child(n, local).map(|c| c.text().unwrap_or("").trim())
}

struct Checker<'d, 'i> {
    doc: &'d Document<'i>,
    problems: Vec<String>,
}

impl<'d, 'i> Checker<'d, 'i> {
    fn bad(&mut self, n: Node<'_, '_>, msg: impl std::fmt::Display) {
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

fn controller_kind(ty: u32, sub: &str) -> Option<String> {
    let sub_l = sub.to_ascii_lowercase();
    match ty {
        5 => Some(format!("IDE {sub}").trim_end().to_owned()),
        6 => Some(format!("SCSI {sub}").trim_end().to_owned()),
        20 if ["ahci", "vmware.sata.ahci"].contains(&sub_l.as_str()) => Some("SATA AHCI".into()),
        20 if ["virtioscsi", "virtio-scsi"].contains(&sub_l.as_str()) => Some("VirtioSCSI".into()),
        20 if ["nvme", "vmware.nvme.controller"].contains(&sub_l.as_str()) => Some("NVMe".into()),
        _ => None,
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

fn check_system(
    c: &mut Checker<'_, '_>,
    vs: Node<'_, '_>,
    disks: &HashMap<String, (String, u64)>,
    networks: &HashSet<String>,
    sum: &mut OvfSummary,
) {
    sum.name = attr(vs, "id").unwrap_or_default().to_owned();
    if sum.name.is_empty() {
        c.bad(vs, "VirtualSystem has no ovf:id");
    }
    match child(vs, "OperatingSystemSection")
        .map(|o| (o, attr(o, "id").and_then(|v| v.parse().ok())))
    {
        Some((_, Some(id))) => sum.os_id = id,
        Some((o, None)) => c.bad(o, "OperatingSystemSection needs an integer ovf:id"),
        None => c.bad(vs, "no OperatingSystemSection"),
    }
    let Some(hw) = child(vs, "VirtualHardwareSection") else {
        c.bad(vs, "no VirtualHardwareSection");
        return;
    };
    let items: Vec<_> = children(hw, "Item").collect();
    let mut ids = HashSet::new();
    let mut controllers = HashMap::new();
    for &it in &items {
        let ty = text(it, "ResourceType")
            .and_then(|t| t.parse::<u32>().ok())
            .unwrap_or(0);
        let iid = text(it, "InstanceID").unwrap_or("");
        if ty == 0 {
            c.bad(it, "Item without a ResourceType");
            continue;
        }
        if iid.is_empty() {
            c.bad(it, format_args!("Item of type {ty} has no InstanceID"));
        } else if !ids.insert(iid.to_owned()) {
            c.bad(it, format_args!("duplicate InstanceID `{iid}`"));
        }
        let required = attr(it, "required") != Some("false");
        if required && !KNOWN_TYPES.contains(&ty) {
            c.bad(it, format_args!("unknown required resource type {ty}"));
        }
        let qty = text(it, "VirtualQuantity")
            .and_then(|q| q.parse::<u64>().ok())
            .unwrap_or(0);
        match ty {
            3 if (1..u64::from(u16::MAX)).contains(&qty) => sum.cpus = qty,
            3 => c.bad(it, format_args!("CPU count {qty} out of range")),
            4 => match text(it, "AllocationUnits").unwrap_or("") {
                "MegaBytes" | "MB" | "byte * 2^20" => sum.memory_mb = qty,
                "GigaBytes" | "GB" | "byte * 2^30" => sum.memory_mb = qty * 1024,
                u => c.bad(
                    it,
                    format_args!("memory AllocationUnits `{u}` not understood"),
                ),
            },
            5 | 6 | 20 => match controller_kind(ty, text(it, "ResourceSubType").unwrap_or("")) {
                Some(kind) => {
                    controllers.insert(iid.to_owned(), kind);
                }
                None => c.bad(it, "type 20 storage needs subtype AHCI, VirtioSCSI or NVMe"),
            },
            10 => {
                let net = text(it, "Connection").unwrap_or("");
                if !networks.contains(net) {
                    c.bad(
                        it,
                        format_args!("NIC connection `{net}` is not in NetworkSection"),
                    );
                }
                sum.nics.push(net.to_owned());
            }
            _ => {}
        }
    }
    // Disks last, as VirtualBox does: a disk may precede its controller.
    for &it in items
        .iter()
        .filter(|i| text(**i, "ResourceType") == Some("17"))
    {
        let parent = text(it, "Parent").unwrap_or("");
        let Some(kind) = controllers.get(parent) else {
            c.bad(
                it,
                format_args!("disk Parent `{parent}` is no controller's InstanceID"),
            );
            continue;
        };
        let hr = text(it, "HostResource").unwrap_or("");
        let id = ["ovf://disk/", "ovf:/disk/", "/disk/"]
            .iter()
            .find_map(|p| hr.strip_prefix(p));
        match id.and_then(|id| disks.get(id).map(|d| (id, d))) {
            Some((id, (href, cap))) => sum.disks.push(AttachedDisk {
                disk_id: id.to_owned(),
                href: href.clone(),
                capacity_bytes: *cap,
                controller: kind.clone(),
            }),
            None => c.bad(
                it,
                format_args!("disk HostResource `{hr}` names no DiskSection disk"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::ovf::{CIM_OS_DEBIAN_64, OvfSpec, render};

    fn good() -> String {
        render(&OvfSpec {
            name: "a".into(),
            cpus: 1,
            memory_mb: 512,
            disk_capacity_bytes: 1 << 30,
            vmdk_name: "a-disk001.vmdk".into(),
            vmdk_size: 10,
            os_id: CIM_OS_DEBIAN_64,
            os_description: "Debian".into(),
        })
    }

    /// Break the good descriptor with one textual edit and expect `needle` in the problems.
    fn refused(from: &str, to: &str, needle: &str) {
        let xml = good();
        assert!(xml.contains(from), "fixture lacks {from}");
        let errs = check(&xml.replace(from, to)).unwrap_err();
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{needle:?} not in {errs:#?}"
        );
    }

    #[test]
    fn good_descriptor_passes() {
        let s = check(&good()).unwrap();
        assert_eq!(
            (s.cpus, s.memory_mb, s.nics.as_slice()),
            (1, 512, &["NAT".to_owned()][..])
        );
    }

    #[test]
    fn each_importer_rule_is_enforced() {
        refused(
            "<rasd:Parent>3</rasd:Parent>",
            "<rasd:Parent>9</rasd:Parent>",
            "Parent `9`",
        );
        refused("ovf:/disk/vmdisk1", "ovf:/disk/other", "HostResource");
        refused(
            "<rasd:InstanceID>5</rasd:InstanceID>",
            "<rasd:InstanceID>4</rasd:InstanceID>",
            "duplicate InstanceID",
        );
        refused(
            "<rasd:InstanceID>3</rasd:InstanceID>",
            "",
            "has no InstanceID",
        );
        refused("byte * 2^20", "bytes", "AllocationUnits `bytes`");
        refused(
            "<rasd:ResourceSubType>AHCI",
            "<rasd:ResourceSubType>PIIX4",
            "type 20",
        );
        refused(
            r#"ovf:fileRef="file1""#,
            r#"ovf:fileRef="file9""#,
            "fileRef `file9`",
        );
        refused(
            r#"ovf:capacity="1073741824""#,
            r#"ovf:capacity="1 GB""#,
            "not an integer",
        );
        refused(
            r#"ovf:capacityAllocationUnits="byte""#,
            r#"ovf:capacityAllocationUnits="byte * 2^30""#,
            "capacityAllocationUnits",
        );
        refused(
            r#"<OperatingSystemSection ovf:id="96">"#,
            r#"<OperatingSystemSection ovf:id="debian">"#,
            "integer ovf:id",
        );
        refused(
            "<rasd:Connection>NAT",
            "<rasd:Connection>Bridged",
            "not in NetworkSection",
        );
        refused(
            "<rasd:ResourceType>10<",
            "<rasd:ResourceType>99<",
            "unknown required resource type 99",
        );
        refused(
            "envelope/1\" xmlns:ovf",
            "envelope/9\" xmlns:ovf",
            "root element",
        );
        refused("DiskSection>", "Disks>", "no DiskSection");
    }

    #[test]
    fn problems_carry_line_numbers() {
        let xml = good().replace(
            "<rasd:Parent>3</rasd:Parent>",
            "<rasd:Parent>x</rasd:Parent>",
        );
        let errs = check(&xml).unwrap_err();
        assert!(errs[0].starts_with("line "), "{errs:?}");
    }
}
