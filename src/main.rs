//! Thin shim: everything lives in the library so tests can drive it.
fn main() {
    std::process::exit(vmbuild::run(std::env::args_os()));
}
