//! Benchmark driver for `bench/export/run.sh` (not a test: speed goals live here).
//!
//! `export_bench export <disk> <out_dir>`: export qcow2 + vmdk + ova, print a
//! JSON line with wall time and this process's peak RSS (VmHWM).
//! `export_bench hash <file>`: SHA-256 of a file the way exports hash, print
//! a JSON line with throughput.
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use vmbuild::export::hash::{cpu_has_sha_extensions, hash_file};
use vmbuild::export::{ExportRequest, Format, export_disk};
use vmbuild::process::SystemRunner;
use vmbuild::ui::Ui;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) of this process, or of its waited-for children.
fn cpu_s(who: i32) -> f64 {
    // SAFETY: getrusage fills the zeroed struct we own; no other memory is touched.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// SHA-256 throughput on a buffer already in memory (no I/O), in MB per CPU second.
fn in_memory_mb_per_cpu_s() -> f64 {
    use sha2::Digest;
    let buf = vec![0x5au8; 64 << 20];
    let c0 = cpu_s(libc::RUSAGE_SELF);
    let mut h = sha2::Sha256::new();
    for _ in 0..8 {
        h.update(&buf);
    }
    std::hint::black_box(h.finalize());
    8.0 * buf.len() as f64 / 1e6 / (cpu_s(libc::RUSAGE_SELF) - c0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("export") if args.len() == 4 => {
            let ui = Arc::new(Ui::silent());
            let runner = SystemRunner::new(Arc::clone(&ui), false);
            let vagrantfile = vmbuild::stage::export::box_vagrantfile(2, 2048, 8080);
            let t = Instant::now();
            let req = ExportRequest {
                disk: Path::new(&args[2]),
                out_dir: Path::new(&args[3]),
                stem: "bench",
                formats: &[Format::Qcow2, Format::Vmdk, Format::Ova, Format::Box],
                name: "bench",
                cpus: 2,
                memory_mb: 2048,
                box_vagrantfile: Some(&vagrantfile),
            };
            let arts = export_disk(&runner, &ui, &req).unwrap_or_else(|e| {
                eprintln!("export failed: {e}");
                std::process::exit(1)
            });
            let sizes: Vec<String> = arts
                .iter()
                .map(|a| format!("\"{}\":{}", a.format.extension(), a.size))
                .collect();
            println!(
                "{{\"export_wall_s\":{:.3},\"self_cpu_s\":{:.3},\"qemu_img_cpu_s\":{:.3},\"self_peak_rss_kib\":{},\"sizes\":{{{}}}}}",
                t.elapsed().as_secs_f64(),
                cpu_s(libc::RUSAGE_SELF),
                cpu_s(libc::RUSAGE_CHILDREN),
                peak_rss_kib(),
                sizes.join(",")
            );
        }
        Some("hash") if args.len() == 3 => {
            let t = Instant::now();
            let c0 = cpu_s(libc::RUSAGE_SELF);
            let (d, n) = hash_file(Path::new(&args[2])).unwrap_or_else(|e| {
                eprintln!("hash failed: {e}");
                std::process::exit(1)
            });
            let s = t.elapsed().as_secs_f64();
            let cpu = cpu_s(libc::RUSAGE_SELF) - c0;
            println!(
                "{{\"hash_bytes\":{n},\"hash_s\":{s:.3},\"hash_mb_s\":{:.1},\"hash_mb_per_cpu_s\":{:.1},\"in_memory_mb_per_cpu_s\":{:.1},\"sha_ni\":{},\"sha256\":\"{}\"}}",
                n as f64 / 1e6 / s,
                n as f64 / 1e6 / cpu,
                in_memory_mb_per_cpu_s(),
                cpu_has_sha_extensions(),
                d.hex()
            );
        }
        _ => {
            eprintln!("usage: export_bench export <disk> <out_dir> | export_bench hash <file>");
            std::process::exit(2);
        }
    }
}
