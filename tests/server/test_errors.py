"""Every refusal in OpenAI's error shape: 400 (malformed JSON, invalid fields, context
overflow, size caps), 401, 404, 413, 429 with Retry-After, 503 while shutting down."""

import signal
import threading
import time

import httpx
import openai
import pytest

from conftest import Server

QUESTION = [{"role": "user", "content": "Hi"}]


def post(server, path, body=None, content=None, headers=None):
    h = server.headers() if headers is None else headers
    return httpx.post(server.url + path, json=body, content=content, headers=h, timeout=60)


def assert_error_shape(r, status, param=None, code=None):
    assert r.status_code == status, r.text
    e = r.json()["error"]
    assert set(e) == {"message", "type", "param", "code"}
    assert e["message"]
    if param is not None:
        assert e["param"] == param, e
    if code is not None:
        assert e["code"] == code, e
    return e


def test_malformed_json(server):
    r = post(server, "/v1/chat/completions", content=b'{"messages": [', headers={**server.headers(), "Content-Type": "application/json"})
    e = assert_error_shape(r, 400, code="invalid_json")
    assert "line 1" in e["message"]


@pytest.mark.parametrize(
    "field,value",
    [("temperature", 3.0), ("top_p", 1.5), ("n", 0), ("max_tokens", 0), ("presence_penalty", 5),
     ("frequency_penalty", -3), ("top_k", -5), ("min_p", 1.5), ("repetition_penalty", -1), ("seed", "x"),
     ("stop", 7), ("logit_bias", {"not-a-token": 1}), ("top_logprobs", 3)],
)
def test_invalid_fields_are_named(server, client, field, value):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=server.model_id, messages=QUESTION, max_tokens=2, extra_body={field: value})
    body = e.value.body
    assert body["param"] == field or body["param"].startswith(field + "."), body
    assert body["type"] == "invalid_request_error"


def test_invalid_messages_are_named(server, client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=server.model_id, messages=[{"role": "wizard", "content": "x"}])
    assert e.value.body["param"] == "messages[0].role"
    r = post(server, "/v1/chat/completions", {"model": server.model_id})
    assert_error_shape(r, 400, param="messages")
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=server.model_id, messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]
        )
    assert e.value.body["param"] == "messages[0].content[0].type"


def test_context_overflow_names_both_numbers(server, client, tokenize):
    prompt = "hello " * 200
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=server.model_id, prompt=prompt, max_tokens=4000)
    body = e.value.body
    assert body["code"] == "context_length_exceeded" and body["param"] == "prompt"
    n = len(tokenize(prompt))
    assert f"context length is 4096" in body["message"], body
    assert f"({n} in the prompt, 4000 in the completion)" in body["message"], body
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=server.model_id, messages=QUESTION, max_completion_tokens=5000)
    assert e.value.body["param"] == "messages" and "5000" in e.value.body["message"]


def test_caps(server, client):
    for extra, param in [
        ({"n": 17}, "n"),
        ({"stop": [f"s{i}" for i in range(17)]}, "stop"),
        ({"logit_bias": {str(i): 1 for i in range(1025)}}, "logit_bias"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ]:
        with pytest.raises(openai.BadRequestError) as e:
            client.chat.completions.create(model=server.model_id, messages=QUESTION, max_tokens=2, extra_body=extra)
        assert e.value.body["param"] == param, (extra, e.value.body)
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=server.model_id, prompt="x", max_tokens=2, logprobs=21)
    assert e.value.body["param"] == "logprobs"


def test_auth(server):
    bad = openai.OpenAI(base_url=server.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        bad.models.list()
    assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"
    r = httpx.post(server.url + "/v1/chat/completions", json={"messages": QUESTION})
    assert_error_shape(r, 401)
    r = httpx.get(server.url + "/metrics")
    assert r.status_code == 401
    # A key one character longer or shorter is wrong too.
    for key in (server.api_key + "x", server.api_key[:-1]):
        assert httpx.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert httpx.get(server.url + "/health").status_code == 200


def test_unknown_model(server, client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=QUESTION, max_tokens=2)
    assert e.value.body["code"] == "model_not_found" and e.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="nope", prompt="x", max_tokens=2)


def test_oversized_body(server):
    big = {"model": server.model_id, "messages": [{"role": "user", "content": "a" * (5 << 20)}]}
    r = post(server, "/v1/chat/completions", big)
    assert_error_shape(r, 413, code="request_too_large")


def test_queue_full_gets_429_with_retry_after():
    s = Server("small-queue", "--max-concurrency", "1", "--max-queue", "1")
    try:
        results = []
        lock = threading.Lock()

        def one(i):
            r = httpx.post(
                s.url + "/v1/completions", headers=s.headers(), timeout=120,
                json={"model": s.model_id, "prompt": f"Story number {i}:", "max_tokens": 24, "temperature": 0},
            )
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes.count(429) >= 1, codes
        assert set(codes) <= {200, 429}, codes
        assert codes.count(200) >= 2, codes
        for r in results:
            if r.status_code == 429:
                assert_error_shape(r, 429, code="queue_full")
                assert int(r.headers["retry-after"]) >= 1
            else:
                assert r.json()["usage"]["completion_tokens"] == 24
        # The openai client sees a RateLimitError.
        m = s.metrics()
        assert m['rocmforge_requests_total{endpoint="/v1/completions",status="429"}'] == codes.count(429)
    finally:
        assert s.stop() == 0


def test_sigterm_drains_running_requests_refuses_new_ones_and_exits_0():
    s = Server("sigterm", "--shutdown-timeout", "60")
    client = s.client()
    outcomes = {}
    started = threading.Barrier(5)

    def stream(i):
        text, finish, usage = "", None, None
        st = client.chat.completions.create(
            model=s.model_id, messages=[{"role": "user", "content": f"Write a long poem number {i}."}],
            max_tokens=40, temperature=0, stream=True, stream_options={"include_usage": True},
        )
        first = True
        for chunk in st:
            if first:
                first = False
                started.wait(timeout=60)
            if chunk.usage:
                usage = chunk.usage
            for c in chunk.choices:
                text += c.delta.content or ""
                finish = c.finish_reason or finish
        outcomes[i] = (text, finish, usage)

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    started.wait(timeout=60)  # every stream has begun
    s.proc.send_signal(signal.SIGTERM)
    # New requests are refused while the running ones finish.
    deadline = time.time() + 5
    refused = None
    while time.time() < deadline and refused is None:
        try:
            r = httpx.post(s.url + "/v1/chat/completions", headers=s.headers(), timeout=5,
                           json={"model": s.model_id, "messages": QUESTION, "max_tokens": 2})
            if r.status_code == 503:
                refused = r
        except httpx.HTTPError:
            break
        time.sleep(0.05)
    assert refused is not None, "no 503 after SIGTERM"
    assert_error_shape(refused, 503, code="shutting_down")
    assert httpx.get(s.url + "/health", timeout=5).status_code == 503
    for t in threads:
        t.join(timeout=120)
    assert s.proc.wait(timeout=60) == 0, s.log_path.read_text()
    assert sorted(outcomes) == [0, 1, 2, 3]
    for text, finish, usage in outcomes.values():
        assert finish in ("length", "stop") and text
        assert usage is not None and usage.completion_tokens >= 1
    assert s.stop() == 0
