//! Ctrl-C / SIGTERM handling: a process-wide flag that long-running work polls.
//!
//! Children are started in their own process group (see [`crate::process`]), so
//! the terminal's SIGINT reaches only us; we then stop each child in order
//! (SIGINT, grace period, SIGTERM, SIGKILL) and clean up before exiting.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Install handlers for SIGINT, SIGTERM and SIGHUP that set the flag.
pub fn install() -> std::io::Result<()> {
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(flag()))?;
    }
    Ok(())
}

/// Whether the user asked us to stop.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Request a stop from inside the program (used by tests and by fatal paths).
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}
