//! Pure argv builders and output parsers for the external tools we drive.
pub mod packer;
pub mod qemu_img;
pub mod vagrant;
