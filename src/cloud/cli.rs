//! `vmbuild upload`.
use std::sync::Arc;

use crate::cli::{Args, UploadArgs};
use crate::error::Error;
use crate::ui::Ui;

/// Upload an image to Glance.
pub fn upload(_u: &UploadArgs, _args: &Args, _ui: &Arc<Ui>) -> Result<(), Error> {
    Err(Error::NotLanded {
        stage: "upload",
        issue: 5,
    })
}
