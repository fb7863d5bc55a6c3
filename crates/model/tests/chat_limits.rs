//! Hostile templates: each must fail its own call with a clear error, quickly, without
//! crashing the process (stack overflow) or allocating without bound.

use std::time::{Duration, Instant};

use model::chat::{ChatTemplate, Limits, Message};
use model::ModelError;

/// Generous for a debug build on a shared 2-core machine; release builds are ~10x faster.
const BUDGET: Duration = Duration::from_secs(1);

fn render(src: &str) -> Result<String, ModelError> {
    let msgs = [Message::user("hi")];
    ChatTemplate::from_source(src)?.render(&msgs, None, true, "<s>", "</s>")
}

/// Renders `src`, asserts it fails within the budget with a message containing `want`.
fn assert_fails(src: &str, want: &str) {
    let start = Instant::now();
    let result = render(src);
    let took = start.elapsed();
    let err = match result {
        Ok(out) => panic!("template rendered ({} bytes): {src:.120}", out.len()),
        Err(e) => e.to_string(),
    };
    assert!(err.contains(want), "error {err:?} lacks {want:?} for {src:.120}");
    assert!(took < BUDGET, "took {took:?}: {src:.120}");
}

const FUEL: &str = "work budget (fuel)";

#[test]
fn infinite_loops_run_out_of_fuel() {
    // minijinja refuses huge ranges outright; nested ones run out of fuel.
    assert_fails("{% for i in range(10**9) %}x{% endfor %}", "range has too many elements");
    assert_fails("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", FUEL);
    assert_fails(
        "{% set ns = namespace(n=0) %}{% for i in range(100000) %}{% for j in range(100000) %}\
         {% set ns.n = ns.n + 1 %}{% endfor %}{% endfor %}{{ ns.n }}",
        FUEL,
    );
    // Fan-out recursion: each level calls itself 10 times; stopped by depth or fuel.
    let err = render("{% macro f(n) %}{% for i in range(10) %}{{ f(n + 1) }}{% endfor %}{% endmacro %}{{ f(0) }}")
        .unwrap_err()
        .to_string();
    assert!(err.contains("recursion limit") || err.contains(FUEL), "{err}");
}

#[test]
fn deep_recursion_hits_the_recursion_limit() {
    assert_fails("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion limit exceeded");
    assert_fails("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion limit exceeded");
    assert_fails("{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}", "recursion limit exceeded");
}

#[test]
fn huge_output_is_cut_off() {
    assert_fails("{{ 'x' * 10**9 }}", FUEL);
    assert_fails("{{ 'x' * 10**7 }}", "output limit");
    assert_fails("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "output limit");
    assert_fails(
        "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxxxxxxxx{% endfor %}{% endfor %}",
        "output limit",
    );
    // Output captured inside a macro or a set block never reaches the writer: fuel stops it.
    assert_fails(
        "{% macro m() %}{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}{% endmacro %}{% set y = m() %}",
        FUEL,
    );
}

#[test]
fn memory_bombs_run_out_of_fuel() {
    // Doubling a string 64 times would need 2^64 bytes.
    assert_fails(
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        FUEL,
    );
    assert_fails("{{ ('x' * 100000).replace('x', 'y' * 100000) }}", FUEL);
    assert_fails("{{ (range(10000) | list) * 10**9 }}", "too large");
    assert_fails("{{ range(10000) | join('x' * 100000) }}", FUEL);
    assert_fails("{{ '{:>1000000000}'.format('x') }}", "str.format");
    assert_fails("{{ '{:.1000000000f}'.format(1.5) }}", "str.format");
    assert_fails("{{ ('{:>999999}' * 1000).format(*range(1000)) }}", "str.format");
    assert_fails("{{ '%1000000000s' | format('x') }}", FUEL);
    assert_fails("{{ range(10) | slice(10**9) | list }}", FUEL);
    assert_fails("{{ 'x' | indent(10**9) }}", "");
    assert_fails("{{ 'x' | tojson(indent=10**9) }}", "indent is too large");
}

#[test]
fn deeply_nested_values_do_not_overflow_the_stack() {
    // Ten levels per statement, as many statements as fuel allows; then print, compare and
    // serialize the result (all recursive inside minijinja), and drop it.
    let build = "{% set ns = namespace(l=[]) %}{% for i in range(100000) %}\
                 {% set ns.l = [[[[[[[[[[ns.l]]]]]]]]]] %}{% endfor %}";
    for tail in ["", "{{ ns.l ~ '' }}", "{{ ns.l == ns.l }}", "{{ ns.l }}", "{{ ns.l | tojson }}"] {
        assert_fails(&format!("{build}{tail}"), FUEL);
    }
    // Below the fuel limit the value is built, and used: printing a deep list goes through our
    // formatter (elided past 64 levels) and tojson refuses it.
    let nested =
        "{% set ns = namespace(l=[]) %}{% for i in range(2000) %}{% set ns.l = [[[[[[[[[[ns.l]]]]]]]]]] %}{% endfor %}";
    let out = render(&format!("{nested}{{{{ ns.l }}}}")).expect("renders");
    assert!(out.starts_with("[[[[") && out.contains("..."), "{out:.80}");
    assert!(render(&format!("{nested}{{{{ (ns.l ~ '') | length }}}}")).is_ok());
    assert_fails(&format!("{nested}{{{{ ns.l | tojson }}}}"), "nested too deeply");
}

#[test]
fn pathological_sources_are_refused_or_compile_quickly() {
    let start = Instant::now();
    // Nesting deeper than the parser allows.
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(1000), ")".repeat(1000));
    assert!(ChatTemplate::from_source(&parens).unwrap_err().to_string().contains("recursion"));
    let blocks = format!("{}x{}", "{% if true %}".repeat(10000), "{% endif %}".repeat(10000));
    assert!(ChatTemplate::from_source(&blocks).is_err());
    // Operator chains whose constant folding is quadratic to compile.
    let chain = format!("{{{{ 1{} }}}}", "~1".repeat(5000));
    assert!(ChatTemplate::from_source(&chain).unwrap_err().to_string().contains("too complex"));
    // A long filter chain parses into a deep tree (compiled and dropped recursively).
    let filters = format!("{{{{ 'x'{} }}}}", "|trim".repeat(40000));
    assert_eq!(ChatTemplate::from_source(&filters).unwrap().render(&[], None, false, "", "").unwrap(), "x");
    // Too large altogether.
    let big = "x".repeat(1 << 20);
    assert!(ChatTemplate::from_source(&big).unwrap_err().to_string().contains("limit"));
    // Many tags, each at the operator cap: the worst the compiler can be made to do.
    let tag = format!("{{{{ 'x'{} }}}}", "~'x'".repeat(120));
    let src = tag.repeat((200 << 10) / tag.len());
    assert!(ChatTemplate::from_source(&src).is_ok());
    assert!(start.elapsed() < 2 * BUDGET, "took {:?}", start.elapsed());
}

#[test]
fn limits_are_configurable_and_fresh_per_render() {
    let src = "{% for i in range(1000) %}{{ i }}{% endfor %}";
    let t = ChatTemplate::from_source(src).unwrap();
    // The same template renders repeatedly: fuel is per render, not per template.
    for _ in 0..3 {
        assert!(t.render(&[], None, false, "", "").is_ok());
    }
    let tight = t.with_limits(Limits { max_output: 100, ..Limits::default() });
    assert!(tight.render(&[], None, false, "", "").unwrap_err().to_string().contains("output limit of 100"));
    let starved = ChatTemplate::from_source(src).unwrap().with_limits(Limits::with_fuel(500));
    assert!(starved.render(&[], None, false, "", "").unwrap_err().to_string().contains(FUEL));
}
