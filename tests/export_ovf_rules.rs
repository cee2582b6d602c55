//! VirtualBox's OVF importer rules (`src/VBox/Main/xml/ovfreader.cpp`), one
//! broken descriptor per rule: each must be refused by `ovf_check::check`, and
//! the descriptor vmbuild renders must pass. Rules checked against the source:
//! Envelope in the OVF 1.0 namespace; Disk needs diskId, format and an integer
//! capacity (we state bytes); fileRef resolves to References/File; controllers
//! (IDE 5, SCSI 6, other storage 20 with subtype AHCI) need an InstanceID; a
//! disk item (17) names its controller's InstanceID in Parent and the disk in
//! HostResource `ovf:/disk/<diskId>`; memory AllocationUnits `byte * 2^20`;
//! OperatingSystemSection has an integer ovf:id (Debian 64-bit = 96); unknown
//! required resource types are refused. Stricter than VirtualBox: InstanceIDs
//! unique, a NIC's Connection listed in NetworkSection (OVF spec DSP0243).
use vmbuild::export::ovf::{CIM_OS_DEBIAN_64, OvfSpec, render};
use vmbuild::export::ovf_check::check;

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
