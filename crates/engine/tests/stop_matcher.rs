//! StopMatcher over streamed pieces.

use engine::StopMatcher;
use proptest::prelude::*;

/// Feeds `pieces`, returns (emitted text including finish, index of the stop hit).
fn feed(stops: &[&str], pieces: &[&str]) -> (String, Option<usize>) {
    let mut m = StopMatcher::new(stops.iter().copied());
    let mut out = String::new();
    let mut hit = None;
    for p in pieces {
        let r = m.push(p);
        assert!(hit.is_none() || r.text.is_empty(), "text emitted after the stop");
        out.push_str(&r.text);
        if r.stop.is_some() {
            assert!(hit.is_none(), "stop reported twice");
            hit = r.stop;
        }
    }
    out.push_str(&m.finish());
    assert_eq!(m.stopped(), hit);
    (out, hit)
}

#[test]
fn stop_split_across_pieces() {
    assert_eq!(feed(&["<|end|>"], &["Hi", " <|e", "nd", "|> more"]), ("Hi ".into(), Some(0)));
    assert_eq!(feed(&["abc"], &["a", "b", "c", "d"]), ("".into(), Some(0)));
}

#[test]
fn overlapping_prefixes() {
    // "ab" in "aab": the first 'a' is released once the second shows it is not the start.
    let mut m = StopMatcher::new(["ab"]);
    assert_eq!(m.push("a").text, "");
    assert_eq!(m.push("a").text, "a");
    let r = m.push("b");
    assert_eq!((r.text.as_str(), r.stop), ("", Some(0)));
    assert_eq!(m.finish(), "");
    assert_eq!(feed(&["aab"], &["a", "a", "a", "b"]), ("a".into(), Some(0)));
    assert_eq!(feed(&["abac"], &["ab", "ab", "ac", "x"]), ("ab".into(), Some(0)));
    assert_eq!(feed(&["aab"], &["aaaa", "c"]), ("aaaac".into(), None));
}

#[test]
fn multiple_stop_strings_earliest_wins() {
    assert_eq!(feed(&["world", "lo w"], &["hello world"]), ("hel".into(), Some(1)));
    assert_eq!(feed(&["xyz", "b"], &["a", "bxyz"]), ("a".into(), Some(1)));
    // Same start: the first listed is reported; the text is the same either way.
    assert_eq!(feed(&["ab", "abc"], &["zabc"]), ("z".into(), Some(0)));
    // A held prefix of one stop string does not hide an occurrence of another.
    assert_eq!(feed(&["abcd", "bc"], &["ab", "c"]), ("a".into(), Some(1)));
}

#[test]
fn inner_stop_completed_first_wins_when_streamed() {
    // "bc" completes inside "abcd" before "abcd" can: the stream ends there.
    assert_eq!(feed(&["abcd", "bc"], &["abc", "d"]), ("a".into(), Some(1)));
    // In one piece both are complete, and "abcd" starts first.
    assert_eq!(feed(&["abcd", "bc"], &["abcd"]), ("".into(), Some(0)));
}

#[test]
fn long_repetitive_stops_stay_linear() {
    // A naive "longest tail that starts a stop" check is quadratic in the stop length here.
    let stop = "a".repeat(20_000) + "b";
    let mut m = StopMatcher::new([stop.as_str()]);
    let mut out = String::new();
    for _ in 0..40_000 {
        out.push_str(&m.push("a").text);
    }
    assert_eq!(out.len(), 40_000 - 20_000);
    let r = m.push("b");
    assert_eq!(r.stop, Some(0));
    assert_eq!(out.len() + r.text.len(), 20_000);
}

#[test]
fn multibyte_characters() {
    assert_eq!(feed(&["世界"], &["你好", "世", "界!"]), ("你好".into(), Some(0)));
    assert_eq!(feed(&["é!"], &["café", " ok"]), ("café ok".into(), None));
    let mut m = StopMatcher::new(["日本"]);
    assert_eq!(m.push("x日").text, "x");
    assert_eq!(m.push("a").text, "日a");
    // A stop that shares a leading byte with the text but not the whole char.
    assert_eq!(feed(&["é"], &["è", "e"]), ("èe".into(), None));
}

#[test]
fn nothing_after_the_stop_and_finish_flush() {
    let mut m = StopMatcher::new(["###"]);
    assert_eq!(m.push("a ##").text, "a ");
    assert_eq!(m.finish(), "##");
    let mut m = StopMatcher::new(["###"]);
    let r = m.push("a ### b");
    assert_eq!((r.text.as_str(), r.stop), ("a ", Some(0)));
    assert_eq!(m.push("more").text, "");
    assert_eq!(m.finish(), "");
}

#[test]
fn no_stop_strings_emits_immediately() {
    let mut m = StopMatcher::new(Vec::<String>::new());
    assert_eq!(m.push("abc").text, "abc");
    let mut m = StopMatcher::new([""]);
    assert_eq!(m.push("abc").text, "abc", "an empty stop string never matches");
}

fn text() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::collection::vec(prop::sample::select(vec!["a", "b", "c", "é", "日", " "]), 0..40)
}

/// Splits `chars` into pieces at random char boundaries.
fn split(chars: &[&str], cuts: &[usize]) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (chars.len() + 1)).collect();
    cuts.sort_unstable();
    for c in cuts.into_iter().chain([chars.len()]) {
        pieces.push(chars[start..c.max(start)].concat());
        start = c.max(start);
    }
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn without_stops_output_is_input(chars in text(), cuts in proptest::collection::vec(any::<usize>(), 0..10)) {
        let pieces = split(&chars, &cuts);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (out, hit) = feed(&[], &refs);
        prop_assert_eq!(out, chars.concat());
        prop_assert_eq!(hit, None);
    }

    /// One stop string: the output is the whole input cut at its first occurrence, however the
    /// input was split.
    #[test]
    fn one_stop_cuts_at_first_occurrence(
        chars in text(),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        stop in text().prop_filter("1..=4 chars", |s| !s.is_empty() && s.len() <= 4),
    ) {
        let input = chars.concat();
        let stop = stop.concat();
        let pieces = split(&chars, &cuts);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (out, hit) = feed(&[stop.as_str()], &refs);
        match input.find(stop.as_str()) {
            Some(pos) => {
                prop_assert_eq!(&out, &input[..pos]);
                prop_assert_eq!(hit, Some(0));
            }
            None => {
                prop_assert_eq!(&out, &input);
                prop_assert_eq!(hit, None);
            }
        }
    }

    /// Several stop strings: after the first piece with which the text contains any of them,
    /// the output is that text cut at the earliest occurrence (first listed on ties).
    #[test]
    fn several_stops_cut_at_first_hit(
        chars in text(),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        stops in proptest::collection::vec(
            text().prop_filter("1..=4 chars", |s| !s.is_empty() && s.len() <= 4),
            1..4,
        ),
    ) {
        let stops: Vec<String> = stops.iter().map(|s| s.concat()).collect();
        let stop_refs: Vec<&str> = stops.iter().map(String::as_str).collect();
        let pieces = split(&chars, &cuts);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (out, hit) = feed(&stop_refs, &refs);

        let mut seen = String::new();
        let mut want = None;
        for p in &pieces {
            seen.push_str(p);
            let first = stops
                .iter()
                .enumerate()
                .filter_map(|(i, s)| seen.find(s.as_str()).map(|pos| (pos, i)))
                .min();
            if let Some((pos, i)) = first {
                want = Some((seen[..pos].to_string(), i));
                break;
            }
        }
        match want {
            Some((text, i)) => {
                prop_assert_eq!(out, text);
                prop_assert_eq!(hit, Some(i));
            }
            None => {
                prop_assert_eq!(out, chars.concat());
                prop_assert_eq!(hit, None);
            }
        }
    }
}
