//! The OVF 1.0 descriptor of the OVA, written the way VirtualBox's importer
//! (`ovfreader.cpp`) reads it: disk capacity in bytes, controllers with an
//! `InstanceID`, the disk item pointing at its controller through `Parent` and
//! at the disk through `HostResource` `ovf:/disk/<diskId>`, memory in MiB
//! (`byte * 2^20`), CPU count, one NAT NIC and the CIM OS id. Pure: spec in,
//! XML text out. [`super::ovf_check`] re-reads the result.
use std::fmt::Write as _;

/// CIM operating-system id for Debian 64-bit (`CIMOSType_CIMOS_Debian_64`).
pub const CIM_OS_DEBIAN_64: u32 = 96;

/// The OVF 1.0 envelope namespace.
pub const OVF_NS: &str = "http://schemas.dmtf.org/ovf/envelope/1";

/// Format URI of a streamOptimized VMDK disk.
pub const VMDK_STREAM_FORMAT: &str =
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

/// The id of the one disk in `DiskSection` (referenced by the disk item).
pub const DISK_ID: &str = "vmdisk1";

/// The id of the one file in `References`.
pub const FILE_ID: &str = "file1";

/// The logical network the NIC is attached to (listed in `NetworkSection`).
pub const NETWORK: &str = "NAT";

/// `InstanceID`s of the hardware items, unique within the section.
mod iid {
    pub(super) const CPU: u32 = 1;
    pub(super) const MEMORY: u32 = 2;
    pub(super) const SATA: u32 = 3;
    pub(super) const DISK: u32 = 4;
    pub(super) const NIC: u32 = 5;
}

/// Everything the descriptor states about the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvfSpec {
    /// Virtual system name (`VirtualSystem/@ovf:id` and `Name`).
    pub name: String,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory in MiB.
    pub memory_mb: u32,
    /// Disk size the guest sees, in bytes.
    pub disk_capacity_bytes: u64,
    /// File name of the VMDK inside the OVA.
    pub vmdk_name: String,
    /// Size of that VMDK file in bytes.
    pub vmdk_size: u64,
    /// CIM OS id (e.g. [`CIM_OS_DEBIAN_64`]).
    pub os_id: u32,
    /// Human description of the OS.
    pub os_description: String,
}

/// Escape text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// One `<Item>`: `(element, value)` pairs in the rasd namespace, which the
/// CIM schema wants in alphabetical order.
fn item(out: &mut String, fields: &[(&str, String)]) {
    out.push_str("      <Item>\n");
    for (k, v) in fields {
        let _ = writeln!(out, "        <rasd:{k}>{}</rasd:{k}>", escape(v));
    }
    out.push_str("      </Item>\n");
}

fn hardware_items(out: &mut String, s: &OvfSpec) {
    item(
        out,
        &[
            ("Caption", format!("{} virtual CPU", s.cpus)),
            ("Description", "Number of virtual CPUs".into()),
            ("ElementName", format!("{} virtual CPU", s.cpus)),
            ("InstanceID", iid::CPU.to_string()),
            ("ResourceType", "3".into()),
            ("VirtualQuantity", s.cpus.to_string()),
        ],
    );
    item(
        out,
        &[
            ("AllocationUnits", "byte * 2^20".into()),
            ("Caption", format!("{} MB of memory", s.memory_mb)),
            ("Description", "Memory Size".into()),
            ("ElementName", format!("{} MB of memory", s.memory_mb)),
            ("InstanceID", iid::MEMORY.to_string()),
            ("ResourceType", "4".into()),
            ("VirtualQuantity", s.memory_mb.to_string()),
        ],
    );
    // SATA is "Other Storage Device" (20) with subtype AHCI in VirtualBox's reader.
    item(
        out,
        &[
            ("Address", "0".into()),
            ("Caption", "sataController0".into()),
            ("Description", "SATA Controller".into()),
            ("ElementName", "sataController0".into()),
            ("InstanceID", iid::SATA.to_string()),
            ("ResourceSubType", "AHCI".into()),
            ("ResourceType", "20".into()),
        ],
    );
    item(
        out,
        &[
            ("AddressOnParent", "0".into()),
            ("Caption", "disk1".into()),
            ("Description", "Disk Image".into()),
            ("ElementName", "disk1".into()),
            ("HostResource", format!("ovf:/disk/{DISK_ID}")),
            ("InstanceID", iid::DISK.to_string()),
            ("Parent", iid::SATA.to_string()),
            ("ResourceType", "17".into()),
        ],
    );
    item(
        out,
        &[
            ("AutomaticAllocation", "true".into()),
            ("Caption", format!("Ethernet adapter on '{NETWORK}'")),
            ("Connection", NETWORK.into()),
            ("ElementName", "ethernet0".into()),
            ("InstanceID", iid::NIC.to_string()),
            ("ResourceSubType", "E1000".into()),
            ("ResourceType", "10".into()),
        ],
    );
}

/// Render the descriptor.
pub fn render(s: &OvfSpec) -> String {
    let name = escape(&s.name);
    let mut out = String::with_capacity(6 * 1024);
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="{OVF_NS}" xmlns:ovf="{OVF_NS}" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:id="{FILE_ID}" ovf:href="{href}" ovf:size="{size}"/>
  </References>
  <DiskSection>
    <Info>List of the virtual disks used in the package</Info>
    <Disk ovf:capacity="{cap}" ovf:capacityAllocationUnits="byte" ovf:diskId="{DISK_ID}" ovf:fileRef="{FILE_ID}" ovf:format="{VMDK_STREAM_FORMAT}"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks used in the package</Info>
    <Network ovf:name="{NETWORK}">
      <Description>Logical network used by this appliance.</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <Name>{name}</Name>
    <OperatingSystemSection ovf:id="{os_id}">
      <Info>The kind of installed guest operating system</Info>
      <Description>{os_desc}</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements for a virtual machine</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
"#,
        href = escape(&s.vmdk_name),
        size = s.vmdk_size,
        cap = s.disk_capacity_bytes,
        os_id = s.os_id,
        os_desc = escape(&s.os_description),
    );
    hardware_items(&mut out, s);
    out.push_str("    </VirtualHardwareSection>\n  </VirtualSystem>\n</Envelope>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec() -> OvfSpec {
        OvfSpec {
            name: "hub <&> \"one\"".into(),
            cpus: 2,
            memory_mb: 2048,
            disk_capacity_bytes: 20 << 30,
            vmdk_name: "hub-disk001.vmdk".into(),
            vmdk_size: 123_456_789,
            os_id: CIM_OS_DEBIAN_64,
            os_description: "Debian 12 (64-bit)".into(),
        }
    }

    #[test]
    fn escapes_markup_in_names() {
        assert_eq!(escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
        let xml = render(&spec());
        assert!(
            xml.contains("<Name>hub &lt;&amp;&gt; &quot;one&quot;</Name>"),
            "{xml}"
        );
        assert!(!xml.contains("<&>"));
    }

    #[test]
    fn states_capacity_in_bytes_and_memory_in_mib() {
        let xml = render(&spec());
        assert!(xml.contains(r#"ovf:capacity="21474836480" ovf:capacityAllocationUnits="byte""#));
        assert!(xml.contains("<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>"));
        assert!(xml.contains("<rasd:VirtualQuantity>2048</rasd:VirtualQuantity>"));
        assert!(xml.contains(r#"ovf:size="123456789""#));
        assert!(xml.contains(r#"<OperatingSystemSection ovf:id="96">"#));
    }

    #[test]
    fn passes_the_importer_rules() {
        let summary = crate::export::ovf_check::check(&render(&spec())).unwrap();
        assert_eq!(summary.name, "hub <&> \"one\"");
        assert_eq!(
            (summary.cpus, summary.memory_mb, summary.os_id),
            (2, 2048, 96)
        );
        assert_eq!(summary.disks.len(), 1);
        let d = &summary.disks[0];
        assert_eq!(
            (d.href.as_str(), d.capacity_bytes, d.controller.as_str()),
            ("hub-disk001.vmdk", 20 << 30, "SATA AHCI")
        );
    }
}
