//! `-e`: export the Vagrant box, OVA, qcow2; optional upload.
use crate::context::Context;
use crate::error::Error;

/// Run the export stage.
pub fn run(_ctx: &Context) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "-e (export)",
        issue: 5,
    })
}
