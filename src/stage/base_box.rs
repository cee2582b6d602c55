//! `-p`: build the base box with Packer.
use crate::context::Context;
use crate::error::Error;

/// Run the base-box stage.
pub fn run(_ctx: &Context) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "-p (base box)",
        issue: 2,
    })
}
