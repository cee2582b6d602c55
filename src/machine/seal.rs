//! Sealing a copy of the exported VM's disk for OVA and qcow2.
//!
//! The `.box` keeps Vagrant's conventions (the `vagrant` account with
//! Vagrant's well-known key and passwordless sudo; Vagrant swaps the key at
//! the first `vagrant up`). An OVA or a qcow2 must not: anyone who knows that
//! key would be root. So the disk those are made from is a throwaway overlay
//! of the cleaned VM's disk, booted once with plain qemu: the cleanup recipes
//! run again (the boot made new logs and host keys), then the seal recipes
//! (`recipes/seal/`) remove every build-time way in, and the guest is powered
//! off. The VM's own disk stays as it was, so `-u` can log in again.
use super::qemu::throwaway::Throwaway;
use super::session;
use crate::appliance::files::RecipeSet;
use crate::context::Context;
use crate::error::Error;

/// Boot an overlay of `disk`, clean it up and seal it, power it off. The
/// returned guest is stopped; its [`Throwaway::disk`] is the sealed disk
/// (an overlay over `disk`), removed when it is dropped.
pub fn sealed(ctx: &Context, disk: &std::path::Path) -> Result<Throwaway, Error> {
    ctx.ui
        .info("sealing a copy of the disk for OVA and qcow2 (no build-time access ships)");
    let t = Throwaway::boot(ctx, disk, "seal")?;
    let endpoint = t.endpoint().clone();
    // the cleanup again (the boot made new logs and host keys) and the seal,
    // in one session (see `RecipeSet::Seal`)
    session::apply_set(ctx, &endpoint, RecipeSet::Seal, false)?;
    // SSH no longer lets anyone in: an ACPI shutdown over QMP (harmless if
    // the seal already started one)
    if t.is_running() {
        t.power_down(ctx)?;
    }
    Ok(t)
}
