use super::*;

const BUILD: &str = include_str!("../../../tests/fixtures/tools/packer/build-qemu-debootstrap.txt");

fn parse_all(text: &str) -> Vec<PackerLine> {
    text.lines().filter_map(parse_line).collect()
}

#[test]
fn every_line_of_a_real_build_parses() {
    let lines = parse_all(BUILD);
    assert_eq!(lines.len(), BUILD.lines().count());
    assert!(lines.iter().all(|l| l.timestamp > 1_700_000_000));
}

#[test]
fn commas_and_newlines_are_unescaped() {
    let l =
        parse_line("1795323701,,ui,say,==> qemu: Starting VM%!(PACKER_COMMA) booting disk image")
            .unwrap();
    assert_eq!(
        l.event,
        PackerEvent::Say("==> qemu: Starting VM, booting disk image".into())
    );
    let l = parse_line(r"1,,ui,say,Warning: a\nb%!(PACKER_COMMA) c").unwrap();
    assert_eq!(l.event, PackerEvent::Say("Warning: a\nb, c".into()));
    assert_eq!(l.target, "");
}

#[test]
fn phases_come_from_say_lines() {
    let phases: Vec<String> = parse_all(BUILD)
        .into_iter()
        .filter_map(|l| match l.event {
            PackerEvent::Say(s) if s.starts_with("==> qemu") => Some(phase_text(&s)),
            _ => None,
        })
        .collect();
    for want in [
        "Starting VM, booting disk image",
        "Waiting for SSH to become available...",
        "Connected to SSH!",
        "Gracefully halting virtual machine...",
        "Running post-processor: vagrant",
        "Creating Vagrant box for 'libvirt' provider",
    ] {
        assert!(
            phases.iter().any(|p| p == want),
            "missing phase {want:?} in {phases:#?}"
        );
    }
}

#[test]
fn artifacts_and_counts_are_typed() {
    let lines = parse_all(BUILD);
    assert!(
        lines
            .iter()
            .any(|l| l.target == "qemu" && l.event == PackerEvent::ArtifactCount(2))
    );
    assert_eq!(
        artifact_files(&lines),
        [
            "/tmp/vmb-ref/output-debian12-b/debian12.qcow2",
            "/tmp/vmb-ref/out/debian12-libvirt-libvirt.box"
        ]
    );
    let ids: Vec<_> = lines
        .iter()
        .filter_map(|l| match &l.event {
            PackerEvent::Artifact { index, key, values } if key == "builder-id" => {
                Some((*index, values[0].clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        [
            (0, "transcend.qemu".to_owned()),
            (1, "mitchellh.post-processor.vagrant".to_owned())
        ]
    );
}

#[test]
fn provisioner_trace_arrives_as_errors_and_output_as_messages() {
    let lines = parse_all(BUILD);
    assert!(
        lines
            .iter()
            .any(|l| matches!(&l.event, PackerEvent::Error(e) if e.contains("+ apt-get update")))
    );
    assert!(
        lines
            .iter()
            .any(|l| matches!(&l.event, PackerEvent::Message(m) if m.contains("Fetched")))
    );
}

#[test]
fn non_machine_lines_are_not_parsed() {
    assert_eq!(parse_line("panic: plugin crashed"), None);
    assert_eq!(parse_line(""), None);
    let l = parse_line("1,,error-count,1").unwrap();
    assert_eq!(l.event, PackerEvent::ErrorCount(1));
    let l = parse_line("1,qemu,build-name,x").unwrap();
    assert!(matches!(l.event, PackerEvent::Other { ref kind, .. } if kind == "build-name"));
}

#[test]
fn phase_text_strips_builder_prefix() {
    assert_eq!(
        phase_text("==> qemu: Connected to SSH!"),
        "Connected to SSH!"
    );
    assert_eq!(
        phase_text("==> qemu (vagrant): Creating box"),
        "Creating box"
    );
    assert_eq!(
        phase_text("==> Wait completed after 1 minute"),
        "Wait completed after 1 minute"
    );
    assert_eq!(
        phase_text("Build 'qemu' finished after 1 minute"),
        "Build 'qemu' finished after 1 minute"
    );
}

#[test]
fn version_and_argv() {
    assert_eq!(parse_version("Packer v1.6.6\n").as_deref(), Some("1.6.6"));
    assert_eq!(
        parse_version("Packer v1.11.2\n\nYour version is out of date").as_deref(),
        Some("1.11.2")
    );
    assert_eq!(parse_version("nonsense"), None);
    let c = build(Path::new("t.json"), Path::new("/w"));
    assert_eq!(
        c.argv(),
        [
            "packer",
            "build",
            "-machine-readable",
            "-color=false",
            "-on-error=cleanup",
            "t.json"
        ]
    );
    assert_eq!(c.get_interrupt_grace(), INTERRUPT_GRACE_SECS);
    assert_eq!(
        validate(Path::new("t.json"), Path::new("/w")).argv(),
        ["packer", "validate", "t.json"]
    );
}

#[test]
fn an_interrupted_build_reports_its_cancellation() {
    let text = include_str!("../../../tests/fixtures/tools/packer/build-interrupted.txt");
    let lines = parse_all(text);
    assert_eq!(lines.len(), text.lines().count());
    assert!(lines.iter().any(
        |l| l.event == PackerEvent::Error("Cancelling build after receiving interrupt".into())
    ));
    assert!(lines.iter().any(|l| matches!(&l.event, PackerEvent::Say(s) if phase_text(s) == "Deleting output directory...")));
    assert!(artifact_files(&lines).is_empty());
    assert_eq!(
        lines.last().map(|l| &l.event),
        Some(&PackerEvent::Say(
            "Cleanly cancelled builds after being interrupted.".into()
        ))
    );
}
