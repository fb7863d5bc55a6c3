"""The OpenAI API through the official `openai` client: answers, streaming, usage, n, stop,
seeds, logprobs, structured output, metrics and cancellation on disconnect."""

import json
import time

import httpx
import jsonschema

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer with one word."}]


def test_models_lists_the_served_model(server, client):
    models = client.models.list()
    assert [m.id for m in models.data] == [server.model_id]
    assert client.models.retrieve(server.model_id).id == server.model_id


def test_chat_answers(server, client):
    r = client.chat.completions.create(model=server.model_id, messages=QUESTION, max_tokens=16, temperature=0)
    c = r.choices[0]
    assert "Paris" in c.message.content
    assert c.message.role == "assistant"
    assert c.finish_reason == "stop"
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.usage.prompt_tokens > 10
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_chat_usage_is_exact(server, client, tokenize):
    messages = [{"role": "system", "content": "You are a poet."}, {"role": "user", "content": "Write a poem about the sea."}]
    r = client.chat.completions.create(model=server.model_id, messages=messages, max_tokens=5, temperature=0, n=2)
    # The prompt is the rendered chat template, counted once however many choices.
    rendered = ("<|im_start|>system\nYou are a poet.<|im_end|>\n<|im_start|>user\nWrite a poem about the sea.<|im_end|>\n"
                "<|im_start|>assistant\n")
    assert r.usage.prompt_tokens == len(tokenize(rendered))
    assert [c.finish_reason for c in r.choices] == ["length", "length"]
    assert r.usage.completion_tokens == 10


def test_completion_usage_matches_the_tokenizer(server, client, tokenize):
    prompt = "def fibonacci(n):"
    r = client.completions.create(model=server.model_id, prompt=prompt, max_tokens=7, temperature=0)
    assert r.usage.prompt_tokens == len(tokenize(prompt))
    assert r.usage.completion_tokens == 7
    assert r.choices[0].finish_reason == "length"
    assert r.object == "text_completion"


def test_completion_with_token_ids_and_several_prompts(server, client, tokenize):
    ids = tokenize("The sky is")
    a = client.completions.create(model=server.model_id, prompt=ids, max_tokens=4, temperature=0)
    b = client.completions.create(model=server.model_id, prompt="The sky is", max_tokens=4, temperature=0)
    assert a.choices[0].text == b.choices[0].text
    assert a.usage.prompt_tokens == len(ids)
    r = client.completions.create(model=server.model_id, prompt=["One, two,", "Red, green,"], max_tokens=3, temperature=0, n=2)
    assert [c.index for c in r.choices] == [0, 1, 2, 3]
    # Greedy: both choices of a prompt agree.
    assert r.choices[0].text == r.choices[1].text and r.choices[2].text == r.choices[3].text
    assert r.usage.completion_tokens == 12
    assert r.usage.prompt_tokens == len(tokenize("One, two,")) + len(tokenize("Red, green,"))


def test_streaming_equals_whole_answer_and_reports_usage(server, client):
    whole = client.chat.completions.create(model=server.model_id, messages=QUESTION, max_tokens=16, temperature=0)
    stream = client.chat.completions.create(
        model=server.model_id, messages=QUESTION, max_tokens=16, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage, roles = "", None, None, []
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
            assert chunk.choices == []
        for c in chunk.choices:
            if c.delta.role:
                roles.append(c.delta.role)
            text += c.delta.content or ""
            finish = c.finish_reason or finish
    assert roles == ["assistant"]
    assert text == whole.choices[0].message.content
    assert finish == whole.choices[0].finish_reason
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (whole.usage.prompt_tokens, whole.usage.completion_tokens)


def test_completion_streaming(server, client):
    whole = client.completions.create(model=server.model_id, prompt="for i in range(", max_tokens=6, temperature=0)
    chunks = list(client.completions.create(
        model=server.model_id, prompt="for i in range(", max_tokens=6, temperature=0, stream=True,
        stream_options={"include_usage": True},
    ))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole.choices[0].text
    assert chunks[-1].usage.completion_tokens == 6


def test_n_gives_distinct_indexed_choices(server, client):
    r = client.chat.completions.create(
        model=server.model_id, messages=[{"role": "user", "content": "Write a random word."}],
        max_tokens=8, temperature=1.0, n=2, seed=7,
    )
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.message.content for c in r.choices)
    stream = client.chat.completions.create(
        model=server.model_id, messages=[{"role": "user", "content": "Write a random word."}],
        max_tokens=8, temperature=1.0, n=2, seed=7, stream=True,
    )
    texts = {0: "", 1: ""}
    for chunk in stream:
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
    # Same seed, same choices, streamed or not.
    assert [texts[0], texts[1]] == [c.message.content for c in r.choices]


def test_stop_strings(server, client):
    r = client.completions.create(model=server.model_id, prompt="1, 2, 3, 4, 5,", max_tokens=20, temperature=0, stop=[" 8", "nine"])
    c = r.choices[0]
    assert c.finish_reason == "stop"
    assert c.text == " 6, 7,", c.text
    r = client.chat.completions.create(
        model=server.model_id, messages=[{"role": "user", "content": "Count from 1 to 10, separated by commas."}],
        max_tokens=40, temperature=0, stop="5",
    )
    assert r.choices[0].finish_reason == "stop"
    assert "5" not in r.choices[0].message.content and "4" in r.choices[0].message.content


def test_seed_reproducibility(server, client):
    def once(seed):
        return client.chat.completions.create(
            model=server.model_id, messages=[{"role": "user", "content": "Tell me a story about a dragon."}],
            max_tokens=16, temperature=1.2, top_p=0.95, seed=seed,
        ).choices[0].message.content

    a, b = once(1234), once(1234)
    assert a == b
    others = {once(s) for s in (1, 2, 3)}
    assert len(others | {a}) > 1, "different seeds never changed the output"


def test_chat_logprobs(server, client):
    r = client.chat.completions.create(
        model=server.model_id, messages=QUESTION, max_tokens=5, temperature=0, logprobs=True, top_logprobs=3,
    )
    c = r.choices[0]
    entries = c.logprobs.content
    # Every generated token has an entry; a final end-of-turn token is counted in usage only.
    assert len(entries) == r.usage.completion_tokens - (1 if c.finish_reason == "stop" else 0)
    assert "".join(e.token for e in entries) == c.message.content
    for e in entries:
        assert len(e.top_logprobs) == 3
        assert e.logprob <= 0
        # Greedy: the chosen token is the most likely one.
        assert e.token == e.top_logprobs[0].token and abs(e.logprob - e.top_logprobs[0].logprob) < 1e-6
        assert [t.logprob for t in e.top_logprobs] == sorted((t.logprob for t in e.top_logprobs), reverse=True)
        assert bytes(e.bytes).decode("utf-8", "replace") == e.token


def test_completion_logprobs(server, client):
    r = client.completions.create(model=server.model_id, prompt="import numpy as", max_tokens=4, temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == 4
    assert "".join(lp.tokens) == r.choices[0].text
    assert lp.text_offset[0] == 0
    assert all(len(t) <= 2 for t in lp.top_logprobs)


def test_json_schema_output_parses_and_validates(server, client):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "languages": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
        },
        "required": ["name", "age", "languages"],
        "additionalProperties": False,
    }
    r = client.chat.completions.create(
        model=server.model_id,
        messages=[{"role": "user", "content": "Describe a programmer as JSON with name, age and languages."}],
        max_tokens=80, temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
    )
    c = r.choices[0]
    assert c.finish_reason == "stop", c.message.content
    value = json.loads(c.message.content)
    jsonschema.validate(value, schema)


def test_json_object_output_parses(server, client):
    r = client.chat.completions.create(
        model=server.model_id, messages=[{"role": "user", "content": "Give me a JSON object with a key 'ok'."}],
        max_tokens=40, temperature=0, response_format={"type": "json_object"},
    )
    assert r.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(r.choices[0].message.content), dict)


def test_invalid_schema_is_a_400(server, client):
    import openai
    import pytest

    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=server.model_id, messages=QUESTION, max_tokens=4,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}},
        )
    assert e.value.body["param"] == "response_format.json_schema.schema"


def test_sse_frames_are_valid_json_when_tokens_split_characters(server):
    # Emoji and CJK text: byte-level tokens end inside characters.
    body = {
        "model": server.model_id, "max_tokens": 40, "temperature": 0, "stream": True,
        "messages": [{"role": "user", "content": "Reply only with five different animal emoji and the word 猫."}],
    }
    text = ""
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, headers=server.headers(), timeout=120) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = b"".join(r.iter_bytes())
    frames = [f for f in raw.split(b"\n\n") if f]
    assert frames[-1] == b"data: [DONE]"
    for f in frames[:-1]:
        assert f.startswith(b"data: ")
        chunk = json.loads(f[6:].decode("utf-8"))  # strict UTF-8 and strict JSON
        for c in chunk["choices"]:
            text += c["delta"].get("content") or ""
    assert "\ufffd" not in text
    assert any(ord(ch) > 0xFFFF for ch in text), text  # at least one emoji made it through whole


def test_health_and_page_need_no_key(server):
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<title>ROCmForge chat</title>" in page.text
    # Self-contained: nothing loaded from elsewhere.
    assert "src=" not in page.text and "<link" not in page.text


def test_metrics(server, client):
    before = server.metrics()
    client.chat.completions.create(model=server.model_id, messages=QUESTION, max_tokens=3, temperature=0)
    m = server.metrics()
    key = 'rocmforge_requests_total{endpoint="/v1/chat/completions",status="200"}'
    assert m[key] == before.get(key, 0) + 1
    assert m["rocmforge_prompt_tokens_total"] > before.get("rocmforge_prompt_tokens_total", 0)
    assert m["rocmforge_generation_tokens_total"] > before.get("rocmforge_generation_tokens_total", 0)
    for name in ("rocmforge_queue_depth", "rocmforge_running_sequences", "rocmforge_kv_blocks_used",
                 'rocmforge_time_to_first_token_seconds_bucket{le="+Inf"}',
                 'rocmforge_inter_token_latency_seconds_bucket{le="+Inf"}'):
        assert name in m, name
    assert m['rocmforge_time_to_first_token_seconds_count'] >= 1


def wait_idle(server, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = server.metrics()
        if m["rocmforge_running_sequences"] == 0 and m["rocmforge_kv_blocks_used"] == 0:
            return m
        time.sleep(0.1)
    raise AssertionError(f"engine not idle: {m}")


def test_disconnect_cancels_generation(server, client):
    wait_idle(server)
    before = server.metrics().get('rocmforge_sequences_finished_total{reason="abort"}', 0)
    stream = client.chat.completions.create(
        model=server.model_id, messages=[{"role": "user", "content": "Write a very long essay about the sea."}],
        max_tokens=1000, temperature=0, stream=True,
    )
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    m = wait_idle(server)
    assert m['rocmforge_sequences_finished_total{reason="abort"}'] == before + 1
    # Not streamed: the client gives up while waiting for the whole answer.
    try:
        httpx.post(server.url + "/v1/completions", headers=server.headers(), timeout=1.0,
                   json={"model": server.model_id, "prompt": "Once upon a time", "max_tokens": 1000})
    except httpx.TimeoutException:
        pass
    m = wait_idle(server)
    assert m['rocmforge_sequences_finished_total{reason="abort"}'] == before + 2
