//! Thin shim: everything lives in the library so tests can drive it.
fn main() {
    if std::env::args_os().nth(1).as_deref() == Some(vmbuild::process::guard::GUARD_ARG.as_ref()) {
        vmbuild::process::guard::serve();
    }
    std::process::exit(vmbuild::run(std::env::args_os()));
}
