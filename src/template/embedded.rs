//! The templates compiled into the binary, by their path in the repository.
//! Add a line here when adding a template file.

/// (relative path, contents) of every built-in template.
pub static EMBEDDED: &[(&str, &str)] = &[
    (
        "preseed/preseed.cfg.hbs",
        include_str!("../../preseed/preseed.cfg.hbs"),
    ),
    (
        "box-configs/installer-qemu.json.hbs",
        include_str!("../../box-configs/installer-qemu.json.hbs"),
    ),
    (
        "box-configs/installer-virtualbox.json.hbs",
        include_str!("../../box-configs/installer-virtualbox.json.hbs"),
    ),
    (
        "box-configs/debootstrap-qemu.json.hbs",
        include_str!("../../box-configs/debootstrap-qemu.json.hbs"),
    ),
    (
        "box-configs/debootstrap-virtualbox.json.hbs",
        include_str!("../../box-configs/debootstrap-virtualbox.json.hbs"),
    ),
    (
        "box-configs/Vagrantfile.hbs",
        include_str!("../../box-configs/Vagrantfile.hbs"),
    ),
];
