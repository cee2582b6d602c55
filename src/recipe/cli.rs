//! `vmbuild provision`.
use std::sync::Arc;

use crate::cli::{Args, ProvisionArgs};
use crate::error::Error;
use crate::ui::Ui;

/// Run recipes against a host.
pub fn provision(_p: &ProvisionArgs, _args: &Args, _ui: &Arc<Ui>) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "provision",
        issue: 3,
    })
}
