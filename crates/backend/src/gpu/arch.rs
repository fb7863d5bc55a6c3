//! Device architectures: what the driver reports, the warp (wavefront) size it implies, and the
//! options that make the run-time compiler target exactly that device.

use std::fmt;

use super::error::{GpuError, Result};
use super::vendor::Vendor;

/// The exact architecture kernels are compiled for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// An NVIDIA compute capability, such as 9.0 (`sm_90`).
    Nvidia { major: u32, minor: u32 },
    /// An AMD target id as `gcnArchName` reports it, such as `gfx90a:sramecc+:xnack-` or
    /// `gfx1100`: the processor name, then optional target features.
    Amd { target_id: String },
}

impl Arch {
    pub fn nvidia(major: u32, minor: u32) -> Arch {
        Arch::Nvidia { major, minor }
    }

    /// Parses `sm_90`, `sm_80`, `gfx90a`, `gfx1030`, `gfx90a:sramecc+:xnack-`, `gfx11-generic`.
    pub fn parse(s: &str) -> Result<Arch> {
        let s = s.trim();
        let bad = || GpuError::Invalid(format!("not a GPU architecture: {s:?} (expected sm_XY or gfxNNN)"));
        if let Some(cc) = s.strip_prefix("sm_") {
            if cc.len() < 2 || !cc.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let (major, minor) = cc.split_at(cc.len() - 1);
            return Ok(Arch::nvidia(major.parse().map_err(|_| bad())?, minor.parse().map_err(|_| bad())?));
        }
        if s.starts_with("gfx") {
            let arch = Arch::Amd { target_id: s.to_owned() };
            arch.amd_generation().ok_or_else(bad)?;
            return Ok(arch);
        }
        Err(bad())
    }

    pub fn vendor(&self) -> Vendor {
        match self {
            Arch::Nvidia { .. } => Vendor::Nvidia,
            Arch::Amd { .. } => Vendor::Amd,
        }
    }

    /// The processor name without target features: `sm_90`, `gfx90a`.
    pub fn name(&self) -> String {
        match self {
            Arch::Nvidia { major, minor } => format!("sm_{major}{minor}"),
            Arch::Amd { target_id } => target_id.split(':').next().unwrap_or(target_id).to_owned(),
        }
    }

    /// The full target: `sm_90`, or the AMD target id with its features.
    pub fn target(&self) -> String {
        match self {
            Arch::Nvidia { .. } => self.name(),
            Arch::Amd { target_id } => target_id.clone(),
        }
    }

    /// For AMD: the GCN/RDNA generation (9 for gfx9xx including gfx90a/gfx942/gfx950, 10, 11,
    /// 12 for RDNA), from the processor name. `None` for NVIDIA or an unparsable name.
    pub fn amd_generation(&self) -> Option<u32> {
        let Arch::Amd { .. } = self else { return None };
        let name = self.name();
        let digits = name.strip_prefix("gfx")?;
        // Generic targets: gfx9-generic, gfx9-4-generic, gfx10-3-generic, gfx11-generic.
        if let Some((major, _)) = digits.split_once('-') {
            return major.parse().ok();
        }
        // Otherwise the last two characters are minor version and stepping (hex): gfx90a, gfx1030.
        if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        digits[..digits.len() - 2].parse().ok()
    }

    /// Threads per warp/wavefront that kernels are compiled for: 64 on GCN/CDNA (gfx9xx and
    /// older), 32 on RDNA (gfx10+, where wave32 is the compiler's default) and on NVIDIA.
    pub fn warp_size(&self) -> u32 {
        match self.amd_generation() {
            Some(g) if g <= 9 => 64,
            _ => 32,
        }
    }

    /// The run-time compiler options for this target, `RF_WARP` included.
    pub fn compile_options(&self) -> Vec<String> {
        let warp = format!("-DRF_WARP={}", self.warp_size());
        match self {
            Arch::Nvidia { .. } => vec![format!("--gpu-architecture={}", self.name()), warp, "--std=c++17".into()],
            Arch::Amd { target_id } => {
                vec![format!("--offload-arch={target_id}"), warp, "-O3".into(), "-std=c++17".into()]
            }
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.target())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warp_sizes() {
        for (arch, warp) in [
            ("gfx803", 64),
            ("gfx906", 64),
            ("gfx908", 64),
            ("gfx90a:sramecc+:xnack-", 64),
            ("gfx942", 64),
            ("gfx950", 64),
            ("gfx9-4-generic", 64),
            ("gfx1010", 32),
            ("gfx1030", 32),
            ("gfx1100", 32),
            ("gfx1151", 32),
            ("gfx1201", 32),
            ("gfx11-generic", 32),
            ("sm_80", 32),
            ("sm_90", 32),
        ] {
            assert_eq!(Arch::parse(arch).unwrap().warp_size(), warp, "{arch}");
        }
    }

    #[test]
    fn names_and_targets() {
        let a = Arch::parse("gfx90a:sramecc+:xnack-").unwrap();
        assert_eq!(a.name(), "gfx90a");
        assert_eq!(a.target(), "gfx90a:sramecc+:xnack-");
        assert_eq!(a.vendor(), Vendor::Amd);
        assert_eq!(a.amd_generation(), Some(9));
        assert_eq!(Arch::parse("gfx1030").unwrap().amd_generation(), Some(10));
        let n = Arch::parse("sm_90").unwrap();
        assert_eq!(n, Arch::nvidia(9, 0));
        assert_eq!(n.to_string(), "sm_90");
        assert_eq!(Arch::parse("sm_120").unwrap(), Arch::nvidia(12, 0));
        for bad in ["", "sm_", "sm_9", "sm_9x", "gfx", "gfxzz1", "vulkan"] {
            assert!(Arch::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn compile_options_per_vendor() {
        assert_eq!(Arch::nvidia(9, 0).compile_options(), ["--gpu-architecture=sm_90", "-DRF_WARP=32", "--std=c++17"]);
        assert_eq!(
            Arch::parse("gfx90a:xnack-").unwrap().compile_options(),
            ["--offload-arch=gfx90a:xnack-", "-DRF_WARP=64", "-O3", "-std=c++17"]
        );
        assert!(Arch::parse("gfx1100").unwrap().compile_options().contains(&"-DRF_WARP=32".to_string()));
    }
}
