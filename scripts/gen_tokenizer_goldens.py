#!/usr/bin/env python3
"""Write llama.cpp's tokenizations of a fixed corpus as golden fixtures for our tokenizer.

Usage: scripts/gen_tokenizer_goldens.py [qwen|gemma ...]    (default: both)

Needs llama-cpp-python (0.3.36 was used) and the models of scripts/fetch_models.py. For each
model it writes crates/model/tests/fixtures/tokenizer/<name>.json holding, for every corpus string:
  special  ids of llama_tokenize(text, add_special=True, parse_special=True)
  plain    ids of llama_tokenize(text, add_special=True, parse_special=False)
  roundtrip  whether the token pieces (special=False) of the parse_special=False, no-BOS ids
             join back to exactly the text; when they do not, detok_hex holds what they join to
plus the vocabulary facts llama.cpp reports (BOS/EOS, add_bos, EOG ids) and an FNV-1a hash of
every token's piece, so the Rust test can check all pieces without storing them.
Pieces are read with llama_token_to_piece and a large buffer (Llama.detokenize truncates pieces
longer than 32 bytes).
"""
import ctypes
import json
import random
import subprocess
import sys
from pathlib import Path

import llama_cpp

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "model" / "tests" / "fixtures" / "tokenizer"
MODELS = {"qwen": "qwen2.5-coder-0.5b-instruct", "gemma": "gemma-3-270m"}


def corpus() -> list:
    english = [
        "Hello world",
        "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "It's a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife.",
        "I can't believe it's not butter! You're right, we'll see. They've gone; I'd go. I'm here.",
        "SHOUTING IN ALL CAPS DON'T YOU THINK? IT'S LOUD. WE'LL SEE, WE'RE FINE, I'VE DONE IT.",
        "mIxEd CaSe WoRdS aNd 'quoted' \"double quoted\" `backticked`",
        "Mr. Smith went to Washington D.C. on Jan. 3rd, 2024 at 5 p.m.",
        "e.g., i.e., etc. -- and ... (parentheses) [brackets] {braces}",
        "A sentence with trailing space ",
        " A sentence with leading space",
        "  two leading spaces",
        "Question? Answer! Ellipsis... Semicolon; colon: dash - em—dash – en-dash",
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "The year 1999 and 2000, plus 3.14159 and -42 and +7.",
        "Email me at john.doe@example.com or visit https://example.com/path?q=1&r=2#frag",
        "a",
        "I",
        "hello",
        " hello",
        "Hello\nworld",
        "Hello\n\nworld",
        "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt",
        "What's up? 'tis the season. rock'n'roll. o'clock. y'all'd've",
        "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D",
        "don't won't shan't isn't aren't wasn't weren't",
    ]
    code = [
        "def foo(x):\n    return x + 1\n",
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint(fib(10))\n",
        "class Foo:\n    def __init__(self):\n        self.x = 1\n\n    def bar(self) -> int:\n        return self.x\n",
        "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}\n",
        "#include <stdio.h>\n\nint main(void) {\n\tprintf(\"hello\\n\");\n\treturn 0;\n}\n",
        "for (int i = 0; i < n; ++i) {\n\t\tsum += a[i] * b[i];\n\t}",
        "const add = (a, b) => a + b;\nexport default { add };\n",
        "if x == 1:\n\tpass\nelif x != 2:\n\t\tpass\nelse:\n\t\t\tpass\n",
        "all:\n\tgcc -O2 -o main main.c\n\nclean:\n\trm -f main\n",
        "key: value\nlist:\n  - a\n  - b\nnested:\n    deep:\n        deeper: true\n",
        "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%a%' ORDER BY id DESC;",
        "x=1;y=2;z=x+y*3/4-5%6**7//8",
        "a && b || !c ^ d & e | f << 2 >> 3 <= 4 >= 5 == 6 != 7 += 8 -= 9",
        "    indented four\n        indented eight\n            indented twelve\n                sixteen\n",
        "\tone tab\n\t\ttwo tabs\n\t\t\tthree tabs\n",
        "  \t mixed \t  whitespace\t \t",
        "// comment\n/* block\n   comment */\n# hash comment\n-- sql comment\n",
        "printf(\"%d %s %f\\n\", 1, \"two\", 3.0);",
        "<div class=\"container\"><p>Hello &amp; welcome</p><br/></div>",
        "$ ls -la /usr/local/bin | grep -E '^d' > out.txt 2>&1",
        "import numpy as np\nimport torch.nn.functional as F\n\nx = np.zeros((3, 4), dtype=np.float32)\n",
        "match x {\n    Some(v) if v > 0 => v,\n    _ => 0,\n}",
        "template<typename T>\nstd::vector<T> f(const std::map<std::string, T>& m);",
        "lambda x: [i ** 2 for i in range(x) if i % 2 == 0]",
        "@decorator\nasync def handler(request: Request) -> Response:\n    await asyncio.sleep(0.1)\n",
        "    return None" + " " * 20 + "# trailing comment",
        "x" + " " * 40 + "y",
        " " * 70 + "deep",
    ]
    spaces = [
        " ", "  ", "   ", "    ", "     ", "        ", " " * 16, " " * 31, " " * 32, " " * 33, " " * 64, " " * 100,
        "\t", "\t\t", "\t\t\t\t", "\t" * 40, "\n", "\n\n", "\n\n\n", "\n" * 10, "\n" * 40,
        "\r\n", "\r\n\r\n", "\r", "\r\r\n\n", " \n", "\n ", " \n ", "\t\n\t", "a \n b", "a\t\tb", "a  b", "a   b",
        "a\n\n\nb", "a \t \n \t b", "end with newline\n", "end with spaces   ", "\n\nleading newlines",
        "\u3000ideographic\u3000space\u3000", "\u00a0no-break\u00a0space", "\u2009thin\u2002en\u2003em", "line\u2028separator\u2029para",
        "\u0085next line", "\x0bvertical\x0ctab form", "a\u200bzero\u200bwidth", "\u3000\u3000x", " \u3000 ", "x\u3000",
    ]
    scripts = [
        "你好，世界！",
        "我爱北京天安门。今天天气很好，我们去公园散步吧。",
        "日本語のテキスト、ひらがなとカタカナ、漢字。",
        "東京は日本の首都です。",
        "한국어 텍스트입니다. 안녕하세요!",
        "Привет, мир! Как дела?",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Українська мова: ґ, є, і, ї.",
        "مرحبا بالعالم",
        "اللغة العربية جميلة جداً، أليس كذلك؟",
        "שלום עולם",
        "עברית: אבגדהוזחטיכלמנסעפצקרשת",
        "Γειά σου Κόσμε! αβγδε ΑΒΓΔΕ",
        "สวัสดีชาวโลก",
        "नमस्ते दुनिया। हिन्दी पाठ",
        "বাংলা লেখা",
        "தமிழ் உரை",
        "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ",
        "Ελληνικά και English μαζί",
        "mixed 中文 and English 和 日本語 and 한국어",
        "Zürich, Köln, Düsseldorf, Straße, Ærøskøbing, Smørrebrød, façade, naïve, coöperate",
        "ĀāĒēĪīŌōŪū Łódź Ćma Żółw",
        "ᚠᚢᚦᚨᚱᚲ runes ᛗᛁᛞᚷᚢᚱᛞ",
        "𐌰𐌱𐌲 gothic 𐍈",
        "ꦗꦮ javanese ꦱꦸꦒꦼꦁ",
        "Ⓐⓑⓒ ①②③ ⅠⅡⅢⅫ",
        "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３",
    ]
    marks = [
        "e\u0301",
        "cafe\u0301 naı\u0308ve",
        "a\u0300\u0301\u0302\u0303\u0304",
        "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333!",
        "\u0301 leading combining",
        "x\u20d7 vector",
        "ẞ ß ﬁ ﬂ ﬀ",
        "\u0915\u094d\u0937 conjunct",
        "in\u0308\u0308ter",
        "ó\u0328 é\u0328",
    ]
    emoji = [
        "😀",
        "Hello 👋 world 🌍!",
        "👨‍👩‍👧‍👦 family",
        "👩🏽‍💻 coder",
        "🏳️‍🌈 🏴‍☠️",
        "🇺🇸🇬🇧🇯🇵🇩🇪",
        "🇺🇸 flag and 🇫🇷",
        "1️⃣ 2️⃣ #️⃣ *️⃣",
        "❤️ ❤ ♥️",
        "👍🏻👍🏼👍🏽👍🏾👍🏿",
        "🤦‍♂️🤷‍♀️",
        "😀😃😄😁😆😅😂🤣",
        "emoji at end 🎉",
        "🧑‍🤝‍🧑",
        "🫠🫡🫢",
        "text🙂text",
    ]
    numbers = [
        "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678901234567890",
        "3.14159", "-42", "+7", "1,000,000", "1.000.000,50", "1e10", "6.02e23", "0x1F 0b1010 0o777",
        "2024-01-15T12:34:56Z", "192.168.0.1:8080", "v1.2.3-rc.4", "$1,234.56", "50%", "1/2 3/4",
        "٠١٢٣٤٥٦٧٨٩", "१२३४", "１２３４", "¹²³ ₁₂₃", "½ ¾ ⅓", "Ⅻ ⅻ", "0001", "007",
        "abc123def456", "x1y22z333w4444", "12abc", "3rd 21st 100th",
    ]
    web = [
        "https://www.example.com/a/b/c?x=1&y=%20z#anchor",
        "http://localhost:3000/api/v2/users/42",
        "ftp://files.example.org/pub/file.tar.gz",
        "mailto:someone@example.com",
        "user.name+tag@sub.domain.co.uk",
        "/usr/local/lib/python3.11/site-packages/",
        "C:\\Program Files\\App\\app.exe",
        "~/.config/app/config.toml",
        "git@github.com:owner/repo.git",
        "data:text/plain;base64,SGVsbG8=",
    ]
    structured = [
        '{"name": "Alice", "age": 30, "tags": ["a", "b"], "nested": {"ok": true, "n": null}}',
        '{"a":1,"b":[1,2,3],"c":{"d":"e"}}',
        '[\n  {\n    "id": 1,\n    "value": "x"\n  },\n  {\n    "id": 2\n  }\n]',
        '{"emoji": "😀", "cjk": "中文", "escaped": "line\\nbreak \\"quote\\" \\u00e9"}',
        "<?xml version=\"1.0\"?>\n<root><item id=\"1\">text</item></root>",
        "# Title\n\n## Subtitle\n\n- item 1\n- item 2\n\n```python\nprint('hi')\n```\n",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "**bold** _italic_ `code` [link](http://x.y) ![img](a.png)",
        "name,age,city\nAlice,30,NYC\nBob,25,\"San Francisco, CA\"",
        "key=value\n[section]\nother = \"quoted value\"",
        "<html><head><title>T</title></head><body><h1>H</h1><table><tr><td>1</td></tr></table></body></html>",
        "<script>alert('x')</script><style>.a{color:red}</style>",
        "\\begin{equation} E = mc^2 \\end{equation}",
        "∀x∈ℝ: x² ≥ 0 ∧ ∃y: y ≠ x ⇒ ∑ᵢ aᵢ ≤ ∫f(x)dx",
    ]
    specials = [
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
        "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
        "<start_of_turn>",
        "<end_of_turn>",
        "<bos>",
        "<eos>",
        "<pad>",
        "<unk>",
        "<mask>",
        "<bos>Hello",
        "text<eos>more",
        "[multimodal]",
        "<start_of_image>",
        "<end_of_image>",
        "<unused0>",
        "<unused123> and <unused6241>",
        "<tool_call>{\"name\": \"f\"}</tool_call>",
        "<|fim_prefix|>def f():<|fim_suffix|>\n    return 1<|fim_middle|>",
        "<|fim_pad|><|repo_name|>repo<|file_sep|>a.py",
        "[PAD151665]",
        "<|vision_start|><|image_pad|><|vision_end|>",
        "<|im_start",
        "im_start|>",
        "<<|im_end|>>",
        "<|im_end|><|im_end|><|im_end|>",
        "<|endoftext|><|im_start|>",
        " <|im_start|> spaced <|im_end|> ",
        "<|im_start|>\n\n\n<|im_end|>",
        "<start_of_turn><start_of_turn>",
        "<s></s>",
        "</s>",
        "<|end|>",
        "<|eot_id|>",
        "<end_of_turn><eos>",
        "<table><tr><td>",
        "<h1>Header</h1>",
        "<bos><bos>",
        "   <bos>",
        "<eos>\n\n",
        "<0x41><0xFF>",
    ]
    edge = [
        "",
        "\x00",
        "a\x00b",
        "\x01\x02\x03\x1f\x7f",
        "\x1c\x1d\x1e\x1f",
        "\ufeffBOM at start",
        "middle\ufeffBOM",
        "\ue000\uf8ff private use",
        "\U000f0000 plane 15",
        "\u0378 unassigned",
        "\u1c89 new in unicode 16",
        "\u2ffc new in 15.1",
        "\uffff\ufffe nonchars",
        "\ufffd replacement",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝",
        "𝟘𝟙𝟚𝟛",
        "\U0001f9ff\U0001faf8",
        "'",
        "''",
        "'''",
        "\"",
        "a'b",
        "'hello'",
        "x 'll",
        "!!!???...",
        "---===+++",
        "!",
        ".",
        "\\",
        "\\n literal backslash n",
        "~`^|<>=+$",
        "ab" * 50,
        "the " * 40,
        "🙂" * 10,
        "\u2581 lower one eighth block \u2581\u2581",
        "▁▁already▁escaped",
        "Ġ Ċ byte-level lookalikes ĠĠ",
        "ſ long s, Kelvin K, Ångström Å",
        "İstanbul ıi",
    ]
    # Deterministic random strings over a pool mixing every class the pre-tokenizers care about.
    pool = list("aZ 09\t\n\r'.,!?-_()[]{}<>|/\\\"") + [
        "é", "ß", "中", "ア", "한", "ж", "ع", "ש", "🙂", "👍🏽", "\u0301", "\u3000", "\u00a0", "١", "²",
        "€", "™", "\u200d", "\ufe0f", "<|im_end|>", "<eos>", "<start_of_turn>", "  ", "\n\n",
    ]
    rng = random.Random(1234)
    rand = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 40))) for _ in range(40)]
    return english + code + spaces + scripts + marks + emoji + numbers + web + structured + specials + edge + rand


def piece(vocab, token: int, special: bool) -> bytes:
    buf = ctypes.create_string_buffer(4096)
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, len(buf), 0, special)
    if n < 0:
        raise SystemExit(f"piece of token {token} longer than {len(buf)} bytes")
    return buf.raw[:n]


def fnv1a64(chunks) -> str:
    """FNV-1a over every chunk as (u32 little-endian length, bytes); the Rust test mirrors it."""
    h = 0xCBF29CE484222325
    for c in chunks:
        for b in len(c).to_bytes(4, "little") + c:
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def generate(name: str) -> dict:
    path = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fetch_models.py"), name],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    n = llama_cpp.llama_vocab_n_tokens(vocab)
    cases = []
    for text in corpus():
        raw = text.encode()
        plain_nobos = llm.tokenize(raw, add_bos=False, special=False)
        detok = b"".join(piece(vocab, t, False) for t in plain_nobos)
        case = {
            "text": text,
            "special": llm.tokenize(raw, add_bos=True, special=True),
            "plain": llm.tokenize(raw, add_bos=True, special=False),
            "roundtrip": detok == raw,
        }
        if detok != raw:
            case["detok_hex"] = detok.hex()
        cases.append(case)
    return {
        "model": name,
        "file": Path(path).name,
        "llama_cpp_python": llama_cpp.__version__,
        "vocab_size": n,
        "bos": llama_cpp.llama_vocab_bos(vocab),
        "eos": llama_cpp.llama_vocab_eos(vocab),
        "add_bos": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "add_eos": bool(llama_cpp.llama_vocab_get_add_eos(vocab)),
        "eog": [t for t in range(n) if llama_cpp.llama_vocab_is_eog(vocab, t)],
        "pieces_fnv1a64": fnv1a64(piece(vocab, t, False) for t in range(n)),
        "pieces_special_fnv1a64": fnv1a64(piece(vocab, t, True) for t in range(n)),
        "cases": cases,
    }


def main(argv: list) -> int:
    names = argv or list(MODELS)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names:
        golden = generate(name)
        out = OUT / f"{MODELS[name]}.json"
        # One case per line keeps diffs of regenerated fixtures readable.
        head = {k: v for k, v in golden.items() if k != "cases"}
        lines = [json.dumps(c, ensure_ascii=False) for c in golden["cases"]]
        text = json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"
        out.write_text(text)
        print(f"{out.relative_to(ROOT)}: {len(lines)} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
