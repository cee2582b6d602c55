//! `-c`: halt and destroy the VM, remove work directories.
use crate::context::Context;
use crate::error::Error;

/// Run the clean stage.
pub fn run(_ctx: &Context) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "-c (clean)",
        issue: 6,
    })
}
