//! `-u`: vagrant up and provisioning.
use crate::context::Context;
use crate::error::Error;

/// Run the up stage.
pub fn run(_ctx: &Context) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "-u (vagrant up + provision)",
        issue: 6,
    })
}
