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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("export") if args.len() == 4 => {
            let ui = Arc::new(Ui::silent());
            let runner = SystemRunner::new(Arc::clone(&ui), false);
            let t = Instant::now();
            let req = ExportRequest {
                disk: Path::new(&args[2]),
                out_dir: Path::new(&args[3]),
                stem: "bench",
                formats: &[Format::Qcow2, Format::Vmdk, Format::Ova],
                name: "bench",
                cpus: 2,
                memory_mb: 2048,
            };
            let arts = export_disk(&runner, &ui, &req).unwrap_or_else(|e| {
                eprintln!("export failed: {e}");
                std::process::exit(1)
            });
            let sizes: Vec<String> = arts.iter().map(|a| format!("\"{}\":{}", a.format.extension(), a.size)).collect();
            println!(
                "{{\"export_wall_s\":{:.3},\"self_peak_rss_kib\":{},\"sizes\":{{{}}}}}",
                t.elapsed().as_secs_f64(),
                peak_rss_kib(),
                sizes.join(",")
            );
        }
        Some("hash") if args.len() == 3 => {
            let t = Instant::now();
            let (d, n) = hash_file(Path::new(&args[2])).unwrap_or_else(|e| {
                eprintln!("hash failed: {e}");
                std::process::exit(1)
            });
            let s = t.elapsed().as_secs_f64();
            println!(
                "{{\"hash_bytes\":{n},\"hash_s\":{s:.3},\"hash_mb_s\":{:.1},\"sha_ni\":{},\"sha256\":\"{}\",\"self_peak_rss_kib\":{}}}",
                n as f64 / 1e6 / s,
                cpu_has_sha_extensions(),
                d.hex(),
                peak_rss_kib()
            );
        }
        _ => {
            eprintln!("usage: export_bench export <disk> <out_dir> | export_bench hash <file>");
            std::process::exit(2);
        }
    }
}
