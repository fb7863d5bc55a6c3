//! `rocmforge devices`: the GPUs this machine offers, with what the engine needs to know about
//! each (vendor, arch, memory, driver, warp size) and whether its run-time compiler is there.
//! Informational: finding no GPU is not an error (one line saying why, exit status 0).

use std::fmt::Write;

use anyhow::Result;
use backend::gpu::search::candidates;
use backend::gpu::{discover, human_bytes, DeviceInfo, Discovery, LibKind, Rtc, SearchEnv, Vendor};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What the run-time compiler and BLAS lookups found for one vendor.
struct Tools {
    compiler: Result<String, String>,
    blas: Option<String>,
}

fn tools(vendor: Vendor) -> Tools {
    let compiler = Rtc::load(vendor)
        .map(|r| format!("{}, {}", r.compiler_id(), r.library_path().display()))
        .map_err(|e| e.to_string());
    let kind = match vendor {
        Vendor::Amd => LibKind::HipBlas,
        Vendor::Nvidia => LibKind::Cublas,
    };
    let blas = candidates(kind, &SearchEnv::from_process())
        .into_iter()
        .find(|p| p.is_absolute())
        .map(|p| p.display().to_string());
    Tools { compiler, blas }
}

pub fn run(args: Args) -> Result<()> {
    let found = discover();
    let mut vendors: Vec<Vendor> = found.devices.iter().map(|d| d.vendor).collect();
    vendors.dedup();
    let tools: Vec<(Vendor, Tools)> = vendors.into_iter().map(|v| (v, tools(v))).collect();
    let tools_of = |v: Vendor| tools.iter().find(|(tv, _)| *tv == v).map(|(_, t)| t);
    let text = if args.json {
        serde_json::to_string_pretty(&to_json(&found, &tools_of))? + "\n"
    } else {
        to_text(&found, &tools_of)
    };
    crate::output::print(&text)
}

fn to_text<'a>(found: &Discovery, tools_of: &dyn Fn(Vendor) -> Option<&'a Tools>) -> String {
    if found.devices.is_empty() {
        return format!("no GPU found: {}\n", found.why_none());
    }
    let mut s = String::new();
    for d in &found.devices {
        let _ = writeln!(s, "GPU {}: {}", d.ordinal, d.name);
        let _ = writeln!(
            s,
            "  vendor     {} ({} driver {}, {})",
            d.vendor,
            d.vendor.api(),
            d.driver_version,
            d.runtime_library.display()
        );
        let _ = writeln!(s, "  arch       {}", d.arch);
        let _ = writeln!(s, "  memory     {} total, {} free", human_bytes(d.total_memory), human_bytes(d.free_memory));
        let _ = writeln!(s, "  warp size  {}", d.warp_size);
        let _ = writeln!(
            s,
            "  compute    {} multiprocessors, {} threads/block, {} shared memory/block, {} L2",
            d.multiprocessors,
            d.max_threads_per_block,
            human_bytes(u64::from(d.max_shared_memory_per_block)),
            human_bytes(u64::from(d.l2_cache_bytes))
        );
        if let Some(t) = tools_of(d.vendor) {
            match &t.compiler {
                Ok(c) => {
                    let _ = writeln!(s, "  compiler   {c}");
                }
                Err(e) => {
                    let _ = writeln!(s, "  compiler   none: {e}");
                }
            }
            let _ = writeln!(s, "  blas       {}", t.blas.as_deref().unwrap_or("none (optional)"));
        }
    }
    s
}

fn device_json<'a>(d: &DeviceInfo, tools_of: &dyn Fn(Vendor) -> Option<&'a Tools>) -> serde_json::Value {
    let t = tools_of(d.vendor);
    json!({
        "ordinal": d.ordinal,
        "vendor": d.vendor.id(),
        "api": d.vendor.api(),
        "name": d.name,
        "arch": d.arch.name(),
        "target": d.arch.target(),
        "memory_total_bytes": d.total_memory,
        "memory_free_bytes": d.free_memory,
        "driver_version": d.driver_version,
        "warp_size": d.warp_size,
        "multiprocessors": d.multiprocessors,
        "max_threads_per_block": d.max_threads_per_block,
        "max_shared_memory_per_block": d.max_shared_memory_per_block,
        "l2_cache_bytes": d.l2_cache_bytes,
        "runtime_library": d.runtime_library.display().to_string(),
        "compiler": t.and_then(|t| t.compiler.as_ref().ok()),
        "compiler_error": t.and_then(|t| t.compiler.as_ref().err()),
        "blas_library": t.and_then(|t| t.blas.as_ref()),
    })
}

fn to_json<'a>(found: &Discovery, tools_of: &dyn Fn(Vendor) -> Option<&'a Tools>) -> serde_json::Value {
    let devices: Vec<serde_json::Value> = found.devices.iter().map(|d| device_json(d, tools_of)).collect();
    let mut v = json!({ "devices": devices, "problems": found.problems });
    if found.devices.is_empty() {
        v["error"] = json!(format!("no GPU found: {}", found.why_none()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend::gpu::{discover_with, Arch};

    #[test]
    fn no_gpu_is_one_line() {
        let none = discover_with(&SearchEnv::empty());
        let text = to_text(&none, &|_| None);
        assert!(text.starts_with("no GPU found: HIP: "), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        let j = to_json(&none, &|_| None);
        assert_eq!(j["devices"], json!([]));
        assert!(j["error"].as_str().unwrap().starts_with("no GPU found: "));
    }

    #[test]
    fn devices_show_what_the_engine_needs() {
        let d = DeviceInfo {
            ordinal: 0,
            vendor: Vendor::Amd,
            name: "AMD Instinct MI210".into(),
            arch: Arch::parse("gfx90a:sramecc+:xnack-").unwrap(),
            total_memory: 64 << 30,
            free_memory: 63 << 30,
            driver_version: "6.4.43483".into(),
            warp_size: 64,
            multiprocessors: 104,
            max_threads_per_block: 1024,
            max_shared_memory_per_block: 65536,
            l2_cache_bytes: 8 << 20,
            runtime_library: "/opt/rocm/lib/libamdhip64.so.6".into(),
        };
        let found = Discovery { devices: vec![d], problems: vec!["CUDA: not found".into()] };
        let t = Tools { compiler: Ok("hipRTC 6.4".into()), blas: None };
        let text = to_text(&found, &|_| Some(&t));
        for want in [
            "GPU 0: AMD Instinct MI210",
            "AMD (HIP driver 6.4.43483",
            "arch       gfx90a:sramecc+:xnack-",
            "64.0 GiB total, 63.0 GiB free",
            "warp size  64",
            "compiler   hipRTC 6.4",
        ] {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
        let j = to_json(&found, &|_| Some(&t));
        assert_eq!(j["devices"][0]["arch"], "gfx90a");
        assert_eq!(j["devices"][0]["warp_size"], 64);
        assert_eq!(j["problems"][0], "CUDA: not found");
        assert!(j.get("error").is_none());
    }
}
