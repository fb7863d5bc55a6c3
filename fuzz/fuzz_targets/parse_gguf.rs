//! Any byte string: parsing it as GGUF, reading its hyperparameters and touching every tensor's
//! bytes must end in Ok or an error, never a panic, hang or huge allocation.
//! Run: `cargo fuzz run parse_gguf` (from the repository root; needs cargo-fuzz and nightly).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = gguf::GgufFile::from_bytes(data.to_vec()) {
        let _ = model::HParams::from_metadata(&file.metadata);
        for t in &file.tensors {
            let bytes = file.tensor_data(t).expect("tensors of a parsed file are in bounds");
            assert_eq!(bytes.len() as u64, t.n_bytes);
        }
    }
});
