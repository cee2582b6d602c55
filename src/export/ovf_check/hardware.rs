//! The `VirtualSystem` part of the check: OS section and hardware items.
use std::collections::{HashMap, HashSet};

use roxmltree::Node;

use super::{AttachedDisk, Checker, OvfSummary, attr, child, children, text};

/// Item resource types VirtualBox's reader knows; a required item of any other
/// type makes it refuse the descriptor.
const KNOWN_TYPES: &[u32] = &[3, 4, 5, 6, 10, 14, 15, 17, 20, 23, 35];

/// The controller an item of type 5, 6 or 20 describes, as VirtualBox maps it.
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

/// Check the `VirtualSystem`: name, OS section, hardware items, disk attachments.
pub(super) fn check_system(
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
