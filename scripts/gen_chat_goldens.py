#!/usr/bin/env python3
"""Render chat templates with jinja2 the way transformers' apply_chat_template does, and write
the expected prompts to crates/model/tests/fixtures/chat/goldens.json for chat_golden.rs.

Usage: scripts/gen_chat_goldens.py            (needs: jinja2, gguf; the Qwen model, cached by
                                               scripts/fetch_models.py)

Templates rendered:
  qwen2.5   tokenizer.chat_template of the real Qwen2.5-Coder GGUF (tools, tool calls, results)
  features  a small template that exercises what chat templates lean on (Python methods,
            tojson options, loop controls, namespace, printing of booleans and containers)
  builtin:* our own built-in templates (crates/model/src/chat/templates/*.jinja), so the Rust
            engine is checked against jinja2 on them too

Each case stores its inputs and either the expected string or the message of the exception the
template raised. The Rust test renders every case and compares byte for byte.
"""
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import gguf
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "crates/model/tests/fixtures/chat/goldens.json"
BUILTIN_DIR = ROOT / "crates/model/src/chat/templates"


def make_env():
    """jinja2 configured as transformers configures it for chat templates."""

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        # transformers' own filter: plain json.dumps, no HTML escaping.
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def qwen_template():
    path = subprocess.run([sys.executable, str(ROOT / "scripts/fetch_models.py"), "qwen"],
                          check=True, capture_output=True, text=True).stdout.strip()
    field = gguf.GGUFReader(path).fields["tokenizer.chat_template"]
    return field.contents(), Path(path).name


# Tool schemas in OpenAI's function format; key order matters (tojson keeps it).
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city — «quoted» & <escaped>?",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. \"Zürich\""},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.\nReturns the top results.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                "score": {"type": "number", "default": 0.5, "exclusiveMinimum": 1e-05},
                "safe": {"type": "boolean", "default": True},
                "lang": {"type": ["string", "null"], "default": None},
            },
            "required": ["query"],
        },
    },
}

SYS = {"role": "system", "content": "You are a terse assistant."}


def call(name, args, id=None):
    tc = {"type": "function", "function": {"name": name, "arguments": args}}
    if id is not None:
        tc = {"id": id, **tc}
    return tc


def qwen_cases():
    u = lambda c: {"role": "user", "content": c}
    a = lambda c: {"role": "assistant", "content": c}
    tool = lambda c, id=None: {"role": "tool", "content": c, **({"tool_call_id": id} if id else {})}
    return [
        ("system_user", [SYS, u("Hi!")], None, True),
        ("no_system", [u("Hi!")], None, True),
        ("no_generation_prompt", [SYS, u("Hi!"), a("Hello.")], None, False),
        ("multi_turn", [SYS, u("One?"), a("1."), u("Two?"), a("2."), u("Three?")], None, True),
        ("unicode_and_escapes", [u("Grüße 👋 \"quotes\" \\ back\\slash <tag> & \ttab\nnewline")],
         None, True),
        ("empty_content", [u(""), a("")], None, True),
        ("tools_no_system", [u("Weather in Paris?")], [WEATHER, SEARCH], True),
        ("tools_with_system", [SYS, u("Weather in Paris?")], [WEATHER], True),
        ("tool_call_and_result", [
            SYS, u("Weather in Zürich?"),
            {"role": "assistant", "tool_calls": [call("get_weather", {"city": "Zürich", "unit": "celsius"}, "c1")]},
            tool('{"temp": 21.5, "sky": "clear"}', "c1"),
        ], [WEATHER], True),
        ("parallel_calls_and_results", [
            u("Weather in Oslo and news?"),
            {"role": "assistant", "content": "Let me check both.",
             "tool_calls": [call("get_weather", {"city": "Oslo"}),
                            call("search", {"query": "news \"today\"", "limit": 3, "score": 1.0,
                                            "big": 12345678901234567890, "neg": -7, "tiny": 1e-07,
                                            "huge": 1e16, "flags": [True, False, None],
                                            "nested": {"a": {"b": []}, "c": {}}})]},
            tool("-3 °C, snow"),
            tool("[]"),
            a("Oslo: -3 °C with snow. No news found."),
            u("Thanks"),
        ], [WEATHER, SEARCH], True),
        ("tool_call_no_generation_prompt", [
            u("Search cats"),
            {"role": "assistant", "content": "", "tool_calls": [call("search", {"query": "cats"})]},
        ], [SEARCH], False),
        ("system_later_in_history", [u("a"), {"role": "system", "content": "Be brief."}, u("b")],
         None, True),
    ]


FEATURES = r"""
{%- set ns = namespace(count=0, roles=[]) -%}
{%- for m in messages -%}
    {%- if m.role == 'skip' %}{% continue %}{% endif -%}
    {%- if m.role == 'stop' %}{% break %}{% endif -%}
    {%- set ns.count = ns.count + 1 -%}
    {%- set ns.roles = ns.roles + [m.role] -%}
    <{{ m.role | upper }}>{{ m.content.strip() }}|{{ m.content.startswith('  He') }}|{{ m.content.split(',') | length }}
    {% if m.tool_calls is defined %}{{ m.tool_calls[0].function.arguments | tojson }}
    {% endif %}
{%- endfor -%}
count={{ ns.count }} roles={{ ns.roles }} first={{ messages[0] }}
{% for k, v in extra.items() -%}
  {{ k }}={{ v }};
{% endfor -%}
json={{ extra | tojson }}
json_indent={{ extra | tojson(indent=2) }}
json_sep={{ extra | tojson(separators=(',', ':'), sort_keys=true) }}
json_ascii={{ 'Grüße 👋' | tojson(ensure_ascii=true) }}
bools={{ true }} {{ false }} {{ none }} {{ 1.5 }} {{ 10 / 4 }} {{ 7 // 2 }} {{ [1, 'a', none, 2.0] }}
methods={{ 'a-b-c'.replace('-', '+') }} {{ 'Hello'.lower() }} {{ '  x  '.rstrip() }}| {{ 'abc'.endswith('c') }} {{ ' '.join(['p', 'q']) }}
{% if add_generation_prompt %}GEN{% endif %}
tokens={{ bos_token }}/{{ eos_token }} tools={{ tools }} documents={{ documents }} flag={{ enable_thinking }}
{%- if messages | length > 99 %}{{ raise_exception('too many') }}{% endif %}
"""


def feature_cases():
    msgs = [
        {"role": "system", "content": "  Hello, sys  "},
        {"role": "skip", "content": "ignored"},
        {"role": "user", "content": "  Hey, there, you"},
        {"role": "assistant", "content": "ok",
         "tool_calls": [call("f", {"x": [1, 2.5, "s"], "y": {"z": None}})]},
        {"role": "stop", "content": "end"},
        {"role": "user", "content": "never"},
    ]
    kwargs = {"extra": {"b": 1, "a": "x\"y", "c": [True, None, 0.1]}, "enable_thinking": False}
    return [
        ("features_all", msgs, [WEATHER], True, kwargs),
        ("features_no_tools", msgs[:3], None, False, kwargs),
    ]


RAISER = "{{ raise_exception('Roles must alternate: ' ~ messages[0].role) }}"


def builtin_cases():
    u = lambda c: {"role": "user", "content": c}
    a = lambda c: {"role": "assistant", "content": c}
    s = lambda c: {"role": "system", "content": c}
    parts = {"role": "user", "content": [{"type": "text", "text": "part one, "},
                                         {"type": "text", "text": "part two"}]}
    convs = [
        ("single", [u("Hello")], True),
        ("system", [s("Be brief."), u("Hello")], True),
        ("multi", [s("Be brief."), u("Hi"), a("Hello!"), u("How are you?")], True),
        ("history_only", [u(" Hi "), a(" Hello! ")], False),
        ("parts", [parts], True),
        ("system_only", [s("Be brief.")], True),
    ]
    out = []
    for name in ["chatml", "llama3", "gemma", "mistral"]:
        for cname, msgs, agp in convs:
            out.append((f"builtin:{name}", f"{name}_{cname}", msgs, None, agp))
        out.append((f"builtin:{name}", f"{name}_tools_refused", [u("x")], [WEATHER], True))
    out.append(("builtin:gemma", "gemma_bad_order", [a("x"), u("y")], None, True))
    out.append(("builtin:mistral", "mistral_bad_role", [u("x"), {"role": "tool", "content": "y"}], None, True))
    return out


TOKENS = {
    "qwen2.5": ("", "<|im_end|>"),
    "features": ("<s>", "</s>"),
    "raiser": ("", ""),
    "builtin:chatml": ("", "<|im_end|>"),
    "builtin:llama3": ("<|begin_of_text|>", "<|eot_id|>"),
    "builtin:gemma": ("<bos>", "<eos>"),
    "builtin:mistral": ("<s>", "</s>"),
}


def render_case(env, templates, tname, cname, messages, tools, agp, kwargs=None):
    bos, eos = TOKENS[tname]
    case = {"name": cname, "template": tname, "messages": messages, "tools": tools,
            "add_generation_prompt": agp, "bos_token": bos, "eos_token": eos,
            "kwargs": kwargs or {}}
    tmpl = env.from_string(templates[tname]["source"])
    try:
        # As apply_chat_template: tools and documents are always passed (None when absent).
        case["expected"] = tmpl.render(messages=messages, tools=tools, documents=None,
                                       add_generation_prompt=agp,
                                       **{"bos_token": bos, "eos_token": eos, **(kwargs or {})})
    except jinja2.exceptions.TemplateError as e:
        case["error"] = str(e)
    return case


def main():
    env = make_env()
    qwen_src, qwen_file = qwen_template()
    templates = {
        "qwen2.5": {"origin": f"tokenizer.chat_template of {qwen_file}", "source": qwen_src},
        "features": {"origin": "scripts/gen_chat_goldens.py", "source": FEATURES},
        "raiser": {"origin": "scripts/gen_chat_goldens.py", "source": RAISER},
    }
    for p in sorted(BUILTIN_DIR.glob("*.jinja")):
        templates[f"builtin:{p.stem}"] = {"origin": str(p.relative_to(ROOT)), "source": p.read_text()}

    cases = [render_case(env, templates, "qwen2.5", n, m, t, g) for n, m, t, g in qwen_cases()]
    cases += [render_case(env, templates, "features", n, m, t, g, k) for n, m, t, g, k in feature_cases()]
    cases.append(render_case(env, templates, "raiser", "raise_exception", [{"role": "tool", "content": ""}], None, True))
    cases += [render_case(env, templates, t, n, m, tl, g) for t, n, m, tl, g in builtin_cases()]

    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"generator": "scripts/gen_chat_goldens.py", "jinja2": jinja2.__version__,
           "templates": templates, "cases": cases}
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
