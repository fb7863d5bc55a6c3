//! Kernel parameter lists, read from the kernel source, so that every launch is checked against
//! what the kernel declares: the number of arguments, scalar types, buffer element types and
//! whether the kernel may write through a pointer.

use std::fmt;

/// Element types of device buffers and scalar kernel arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    F32,
    F64,
    F16,
    Bf16,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    /// `void*`: untyped bytes (quantized blocks); accepts a buffer of any element type.
    Void,
}

impl ElemType {
    /// Size in bytes (0 for `Void`).
    pub fn size(self) -> usize {
        match self {
            ElemType::Void => 0,
            ElemType::I8 | ElemType::U8 => 1,
            ElemType::F16 | ElemType::Bf16 | ElemType::I16 | ElemType::U16 => 2,
            ElemType::F32 | ElemType::I32 | ElemType::U32 => 4,
            ElemType::F64 | ElemType::I64 | ElemType::U64 => 8,
        }
    }

    /// Maps a C type name as written in a kernel (qualifiers removed) to an element type.
    pub fn from_c(name: &str) -> Option<ElemType> {
        Some(match name {
            "float" => ElemType::F32,
            "double" => ElemType::F64,
            "rf_f16" | "half" | "__half" | "_Float16" => ElemType::F16,
            "rf_bf16" | "__nv_bfloat16" | "hip_bfloat16" | "__hip_bfloat16" => ElemType::Bf16,
            "rf_i8" | "signed char" | "char" | "int8_t" => ElemType::I8,
            "rf_u8" | "unsigned char" | "uint8_t" => ElemType::U8,
            "rf_i16" | "short" | "short int" | "int16_t" => ElemType::I16,
            "rf_u16" | "unsigned short" | "unsigned short int" | "uint16_t" => ElemType::U16,
            "rf_i32" | "int" | "signed" | "signed int" | "int32_t" => ElemType::I32,
            "rf_u32" | "unsigned" | "unsigned int" | "uint32_t" => ElemType::U32,
            "rf_i64" | "long long" | "long long int" | "int64_t" => ElemType::I64,
            "rf_u64" | "unsigned long long" | "unsigned long long int" | "uint64_t" | "size_t" => ElemType::U64,
            "void" => ElemType::Void,
            _ => return None,
        })
    }

    /// The Rust type that holds this element (for messages).
    pub fn rust_name(self) -> &'static str {
        match self {
            ElemType::F32 => "f32",
            ElemType::F64 => "f64",
            ElemType::F16 => "f16",
            ElemType::Bf16 => "bf16",
            ElemType::I8 => "i8",
            ElemType::U8 => "u8",
            ElemType::I16 => "i16",
            ElemType::U16 => "u16",
            ElemType::I32 => "i32",
            ElemType::U32 => "u32",
            ElemType::I64 => "i64",
            ElemType::U64 => "u64",
            ElemType::Void => "any",
        }
    }
}

/// One kernel parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A pointer to device memory; `mutable` unless the pointee is `const`.
    Ptr { elem: ElemType, mutable: bool },
    /// A value passed by copy.
    Scalar(ElemType),
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::Ptr { elem, mutable: true } => write!(f, "mutable {} buffer", elem.rust_name()),
            ParamType::Ptr { elem, mutable: false } => write!(f, "{} buffer", elem.rust_name()),
            ParamType::Scalar(e) => write!(f, "{}", e.rust_name()),
        }
    }
}

/// A kernel's name and parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSignature {
    pub name: String,
    pub params: Vec<(String, ParamType)>,
}

/// What a launch argument is, for checking against a [`ParamType`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Buffer { elem: ElemType, mutable: bool },
    Scalar(ElemType),
}

impl fmt::Display for ArgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgKind::Buffer { elem, mutable: true } => write!(f, "&mut DeviceBuffer<{}>", elem.rust_name()),
            ArgKind::Buffer { elem, mutable: false } => write!(f, "&DeviceBuffer<{}>", elem.rust_name()),
            ArgKind::Scalar(e) => write!(f, "{}", e.rust_name()),
        }
    }
}

impl KernelSignature {
    /// Checks launch arguments against the parameters; the error names the kernel, the
    /// position and name of the parameter, what it needs and what it got.
    pub fn check(&self, args: &[ArgKind]) -> Result<(), String> {
        if args.len() != self.params.len() {
            return Err(format!(
                "kernel {} takes {} arguments ({}), got {}",
                self.name,
                self.params.len(),
                self.params.iter().map(|(n, t)| format!("{n}: {t}")).collect::<Vec<_>>().join(", "),
                args.len()
            ));
        }
        for (i, ((pname, param), arg)) in self.params.iter().zip(args).enumerate() {
            let ok = match (param, arg) {
                (ParamType::Ptr { elem, mutable }, ArgKind::Buffer { elem: a, mutable: am }) => {
                    (*elem == ElemType::Void || elem == a) && (!mutable || *am)
                }
                (ParamType::Scalar(e), ArgKind::Scalar(a)) => e == a,
                _ => false,
            };
            if !ok {
                return Err(format!("kernel {}: argument {} ({pname}) needs a {param}, got {arg}", self.name, i + 1));
            }
        }
        Ok(())
    }
}

/// Finds every kernel declared `RF_KERNEL void name(...)` or `extern "C" __global__ void
/// name(...)` in `source` and reads its parameters.
pub fn parse_kernels(source: &str) -> Result<Vec<KernelSignature>, String> {
    let code = strip_comments(source);
    let mut out = Vec::new();
    let mut rest = code.as_str();
    loop {
        let a = rest.find("RF_KERNEL").map(|i| (i, "RF_KERNEL".len()));
        let b = find_extern_c_global(rest);
        let (at, len) = match (a, b) {
            (Some(x), Some(y)) => {
                if x.0 <= y.0 {
                    x
                } else {
                    y
                }
            }
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => break,
        };
        // Skip the macro's own definition: `#define RF_KERNEL extern "C" __global__`.
        let line_start = rest[..at].rfind('\n').map_or(0, |i| i + 1);
        if rest[line_start..at].trim_start().starts_with('#') {
            let line_end = rest[at..].find('\n').map_or(rest.len(), |i| at + i);
            rest = &rest[line_end..];
            continue;
        }
        let decl = &rest[at + len..];
        let open = decl.find('(').ok_or("kernel declaration without a parameter list")?;
        let mut head = decl[..open].trim();
        // A `__launch_bounds__(...)` may come before the name: its own parentheses come first.
        let (head_str, params_from) = if head.contains("__launch_bounds__") {
            let lb_close = find_matching(decl, open).ok_or("unbalanced __launch_bounds__")?;
            let open2 = decl[lb_close..].find('(').map(|i| lb_close + i).ok_or("no parameter list")?;
            (decl[lb_close + 1..open2].trim().to_owned(), open2)
        } else {
            (head.to_owned(), open)
        };
        head = head_str.as_str();
        let name = head
            .split_whitespace()
            .last()
            .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .ok_or_else(|| format!("cannot read the kernel name in {head:?}"))?
            .to_owned();
        let close =
            find_matching(decl, params_from).ok_or_else(|| format!("kernel {name}: unbalanced parameter list"))?;
        let list = decl[params_from + 1..close].trim();
        let mut params = Vec::new();
        if !list.is_empty() && list != "void" {
            for (i, p) in list.split(',').enumerate() {
                params.push(parse_param(p).map_err(|e| format!("kernel {name}, parameter {}: {e}", i + 1))?);
            }
        }
        out.push(KernelSignature { name, params });
        rest = &decl[close..];
    }
    Ok(out)
}

fn find_extern_c_global(s: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = s[from..].find("extern") {
        let at = from + i;
        let after = s[at + "extern".len()..].trim_start();
        if let Some(after) = after.strip_prefix("\"C\"") {
            let after2 = after.trim_start();
            if let Some(after3) = after2.strip_prefix("__global__") {
                return Some((at, s.len() - at - after3.len()));
            }
        }
        from = at + 1;
    }
    None
}

fn find_matching(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else if c == '/' && chars.peek() == Some(&'*') {
            chars.next();
            let mut prev = ' ';
            for c in chars.by_ref() {
                if prev == '*' && c == '/' {
                    break;
                }
                prev = c;
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_param(p: &str) -> Result<(String, ParamType), String> {
    let stars = p.matches('*').count();
    if stars > 1 {
        return Err(format!("{p:?}: pointers to pointers are not supported"));
    }
    let (before, after) = match p.find('*') {
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (p, ""),
    };
    const QUALIFIERS: [&str; 5] = ["__restrict__", "__restrict", "restrict", "volatile", "RF_RESTRICT"];
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || c == '&')
            .filter(|w| !w.is_empty() && !QUALIFIERS.contains(w))
            .map(str::to_owned)
            .collect()
    };
    let mut type_words = words(before);
    let pointee_const = type_words.iter().any(|w| w == "const");
    type_words.retain(|w| w != "const");
    let name;
    if stars == 1 {
        let mut after_words = words(after);
        after_words.retain(|w| w != "const");
        name = after_words.pop().unwrap_or_default();
        if !after_words.is_empty() {
            return Err(format!("{p:?}: cannot read this parameter"));
        }
    } else {
        // The last word is the name when there is more than the type (`int n`, `unsigned int n`).
        let is_type = ElemType::from_c(&type_words.join(" ")).is_some();
        name = if type_words.len() > 1 && !is_type { type_words.pop().unwrap_or_default() } else { String::new() };
    }
    let tname = type_words.join(" ");
    let elem = ElemType::from_c(&tname).ok_or_else(|| format!("{p:?}: unsupported type {tname:?}"))?;
    let ty = if stars == 1 {
        ParamType::Ptr { elem, mutable: !pointee_const }
    } else {
        match elem {
            ElemType::I32 | ElemType::U32 | ElemType::I64 | ElemType::U64 | ElemType::F32 | ElemType::F64 => {
                ParamType::Scalar(elem)
            }
            _ => {
                return Err(format!(
                    "{p:?}: scalars of type {tname} are not supported (use int, unsigned, long long, float or double)"
                ))
            }
        }
    };
    Ok((name, ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
        #define RF_KERNEL extern "C" __global__
        // RF_KERNEL void commented_out(int x)
        /* extern "C" __global__ void also_commented(float y) */
        RF_KERNEL void rf_rms_norm_f32(const float* __restrict__ x, const float *__restrict__ w,
                                       float* __restrict__ y, int n, float eps) { }
        extern "C" __global__ void __launch_bounds__(256, 1) k2(const void* q, rf_f16 *out,
            unsigned int count, long long stride) {}
        extern "C" __global__ void k3() {}
        RF_KERNEL void k4(float const* a, rf_u32 m, double d) {}
    "#;

    #[test]
    fn parses_kernel_declarations() {
        let k = parse_kernels(SRC).unwrap();
        let names: Vec<&str> = k.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["rf_rms_norm_f32", "k2", "k3", "k4"]);
        assert_eq!(
            k[0].params,
            vec![
                ("x".into(), ParamType::Ptr { elem: ElemType::F32, mutable: false }),
                ("w".into(), ParamType::Ptr { elem: ElemType::F32, mutable: false }),
                ("y".into(), ParamType::Ptr { elem: ElemType::F32, mutable: true }),
                ("n".into(), ParamType::Scalar(ElemType::I32)),
                ("eps".into(), ParamType::Scalar(ElemType::F32)),
            ]
        );
        assert_eq!(
            k[1].params,
            vec![
                ("q".into(), ParamType::Ptr { elem: ElemType::Void, mutable: false }),
                ("out".into(), ParamType::Ptr { elem: ElemType::F16, mutable: true }),
                ("count".into(), ParamType::Scalar(ElemType::U32)),
                ("stride".into(), ParamType::Scalar(ElemType::I64)),
            ]
        );
        assert!(k[2].params.is_empty());
        assert_eq!(k[3].params[0].1, ParamType::Ptr { elem: ElemType::F32, mutable: false });
        assert_eq!(k[3].params[1].1, ParamType::Scalar(ElemType::U32));
        assert_eq!(k[3].params[2].1, ParamType::Scalar(ElemType::F64));
    }

    #[test]
    fn rejects_unsupported_parameters() {
        assert!(parse_kernels("RF_KERNEL void k(float** p) {}").is_err());
        assert!(parse_kernels("RF_KERNEL void k(MyStruct s) {}").is_err());
        assert!(parse_kernels("RF_KERNEL void k(rf_u8 small) {}").is_err());
    }

    #[test]
    fn checks_arguments() {
        let k = &parse_kernels(SRC).unwrap()[0];
        let f = |mutable| ArgKind::Buffer { elem: ElemType::F32, mutable };
        let good = [f(false), f(false), f(true), ArgKind::Scalar(ElemType::I32), ArgKind::Scalar(ElemType::F32)];
        k.check(&good).unwrap();
        // A mutable buffer may be passed where a const pointer is declared.
        k.check(&[f(true), f(false), f(true), good[3], good[4]]).unwrap();
        let e = k.check(&[f(false), f(false), f(false), good[3], good[4]]).unwrap_err();
        assert!(e.contains("argument 3 (y) needs a mutable f32 buffer, got &DeviceBuffer<f32>"), "{e}");
        let e = k.check(&[f(false), f(false), f(true), ArgKind::Scalar(ElemType::U32), good[4]]).unwrap_err();
        assert!(e.contains("argument 4 (n) needs a i32, got u32"), "{e}");
        let e = k.check(&good[..4]).unwrap_err();
        assert!(e.contains("takes 5 arguments"), "{e}");
        let half = ArgKind::Buffer { elem: ElemType::F16, mutable: false };
        assert!(k.check(&[half, f(false), f(true), good[3], good[4]]).is_err());
        // void* accepts any element type.
        let k2 = &parse_kernels(SRC).unwrap()[1];
        let out = ArgKind::Buffer { elem: ElemType::F16, mutable: true };
        k2.check(&[
            ArgKind::Buffer { elem: ElemType::U8, mutable: false },
            out,
            ArgKind::Scalar(ElemType::U32),
            ArgKind::Scalar(ElemType::I64),
        ])
        .unwrap();
    }
}
