//! `-r`: reset Vagrant state.
use crate::context::Context;
use crate::error::Error;

/// Run the reset stage.
pub fn run(_ctx: &Context) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "-r (reset Vagrant state)",
        issue: 6,
    })
}
