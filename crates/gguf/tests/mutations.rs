//! Property test: thousands of random byte flips and truncations of a realistic small file's
//! header. No input may panic, allocate far beyond the file size, or take a second.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use gguf::{Array, GgmlType, GgufFile, TensorData, Value};
use proptest::prelude::*;

/// Counts this thread's live heap bytes and their peak, so a test can bound what one parse
/// allocates while other tests run on other threads.
struct Counting;
thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.get() + layout.size() as isize;
        LIVE.set(now);
        PEAK.set(PEAK.get().max(now));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.set(LIVE.get() - layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allowed growth over the file size: metadata strings become `String`s (24 bytes of struct
/// per >= 8 bytes of file), plus index maps.
const ALLOC_FACTOR: usize = 8;
const ALLOC_SLACK: usize = 64 << 10;
const TIME_LIMIT: Duration = Duration::from_secs(1);

/// The tiny file plus a tokenizer-like string array and a chat template, as real headers have.
fn seed_file() -> (Vec<u8>, usize) {
    let mut w = common::tiny_writer();
    let tokens: Vec<String> = (0..300).map(|i| format!("tok{i}")).collect();
    w.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))).unwrap();
    w.add_kv("tokenizer.ggml.scores", Value::Array(Array::F32((0..300).map(|i| i as f32).collect()))).unwrap();
    w.add_kv("tokenizer.chat_template", Value::String("{% for m in messages %}{{ m.content }}{% endfor %}".into()))
        .unwrap();
    w.add_tensor("big", GgmlType::Q4_K, &[256, 4], TensorData::Bytes(vec![7; 4 * 144].into())).unwrap();
    let bytes = w.to_bytes().unwrap();
    let header_len = GgufFile::from_bytes(bytes.clone()).unwrap().data_offset as usize;
    (bytes, header_len)
}

fn parse_checked(bytes: Vec<u8>) {
    let len = bytes.len();
    let before = LIVE.get();
    PEAK.set(before);
    let t = Instant::now();
    let result = std::panic::catch_unwind(|| GgufFile::from_bytes(bytes).map(|f| f.tensors.len()));
    let elapsed = t.elapsed();
    let peak = (PEAK.get() - before) as usize;
    assert!(result.is_ok(), "parser panicked");
    assert!(elapsed < TIME_LIMIT, "parse took {elapsed:?}");
    // The file itself (moved in) counts once; everything else is the parser's.
    assert!(peak <= len * (ALLOC_FACTOR + 1) + ALLOC_SLACK, "parse of {len} bytes peaked at {peak} heap bytes");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_flips_never_panic(flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (mut bytes, header_len) = seed_file();
        for (at, value) in flips {
            bytes[at.index(header_len)] = value;
        }
        parse_checked(bytes);
    }

    #[test]
    fn random_truncations_never_panic(cut in any::<prop::sample::Index>(), flip in any::<(prop::sample::Index, u8)>()) {
        let (mut bytes, header_len) = seed_file();
        bytes[flip.0.index(header_len)] ^= flip.1;
        bytes.truncate(cut.index(bytes.len()));
        parse_checked(bytes);
    }

    /// Flips aimed at the 8-byte length and count fields (their high bytes make the
    /// largest claims).
    #[test]
    fn forged_lengths_never_panic(at in any::<prop::sample::Index>(), high in 1u8..=255) {
        let (mut bytes, header_len) = seed_file();
        let at = at.index(header_len - 8);
        bytes[at + 7] = high;
        parse_checked(bytes);
    }
}
