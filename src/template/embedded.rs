//! The templates compiled into the binary, by their path in the repository.
//! Add a line here when adding a template file.

/// (relative path, contents) of every built-in template.
pub static EMBEDDED: &[(&str, &str)] = &[
    (
        "preseed/preseed.cfg.hbs",
        include_str!("../../preseed/preseed.cfg.hbs"),
    ),
    (
        "box-configs/installer.json.hbs",
        include_str!("../../box-configs/installer.json.hbs"),
    ),
    (
        "box-configs/debootstrap.json.hbs",
        include_str!("../../box-configs/debootstrap.json.hbs"),
    ),
];
