//! Subcommands that reach a machine over SSH without the stage pipeline:
//! `vmbuild provision` (any host) and `vmbuild hub` (the project's VM or any
//! appliance). Both go through [`crate::machine::session`].
pub mod hub;
pub mod provision;
