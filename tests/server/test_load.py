"""64 concurrent streaming clients: every one finishes, each with exactly the text its request
gives alone (greedy decoding is batch-invariant in this engine)."""

import asyncio
import time

import openai

CLIENTS = 64
PROMPTS = [
    "Count from 1 to 5.", "Name three fruits.", "What is 2 + 2?", "Say hi in Spanish.",
    "Name a planet.", "What color is grass?", "Write a Python print statement.", "Name a month.",
]
MAX_TOKENS = 12


def test_64_concurrent_streams_finish_with_correct_output(server, client):
    reference = {
        p: client.chat.completions.create(
            model=server.model_id, messages=[{"role": "user", "content": p}], max_tokens=MAX_TOKENS, temperature=0
        ).choices[0].message.content
        for p in PROMPTS
    }

    async def one(aclient, i):
        prompt = PROMPTS[i % len(PROMPTS)]
        stream = await aclient.chat.completions.create(
            model=server.model_id, messages=[{"role": "user", "content": prompt}], max_tokens=MAX_TOKENS,
            temperature=0, stream=True, stream_options={"include_usage": True},
        )
        text, finish, usage = "", None, None
        async for chunk in stream:
            usage = chunk.usage or usage
            for c in chunk.choices:
                text += c.delta.content or ""
                finish = c.finish_reason or finish
        return prompt, text, finish, usage

    async def run_all():
        aclient = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key=server.api_key, max_retries=0, timeout=600)
        try:
            return await asyncio.gather(*(one(aclient, i) for i in range(CLIENTS)))
        finally:
            await aclient.close()

    t0 = time.time()
    results = asyncio.run(run_all())
    elapsed = time.time() - t0
    assert len(results) == CLIENTS
    for prompt, text, finish, usage in results:
        assert finish in ("stop", "length")
        assert text == reference[prompt], (prompt, text, reference[prompt])
        assert 1 <= usage.completion_tokens <= MAX_TOKENS
    print(f"{CLIENTS} streams of up to {MAX_TOKENS} tokens in {elapsed:.1f} s")
