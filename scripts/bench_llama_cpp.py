#!/usr/bin/env python3
"""llama.cpp's speed on the same machine, measured the way `rocmforge bench` measures ours, for
side-by-side numbers in docs/PERFORMANCE.md.

pp: N random tokens in one batch on an empty context; tg: N tokens evaluated one at a time from
an empty context; one warm-up run, then -r timed runs; mean and standard deviation of tokens/s.
Prints a JSON array in llama-bench's shape (n_prompt, n_gen, avg_ts, stddev_ts, samples_ts,
backends, n_threads).

Needs llama-cpp-python (pip install llama-cpp-python; a CPU build from source).
    python3 scripts/bench_llama_cpp.py -m MODEL.gguf -p 512 -n 128 -r 5 -t 2
"""
import argparse
import json
import random
import statistics
import sys
import time

import llama_cpp


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("-r", "--repetitions", type=int, default=5)
    ap.add_argument("-t", "--threads", type=int, default=2)
    a = ap.parse_args()
    n_ctx = max(a.n_prompt, a.n_gen, 1)
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=n_ctx, n_batch=max(a.n_prompt, 1), n_ubatch=max(a.n_prompt, 1),
                          n_threads=a.threads, n_threads_batch=a.threads, verbose=False)
    vocab = llm.n_vocab()

    def run(n_prompt, n_gen):
        rng = random.Random(0x62656E63)
        llm.reset()
        t0 = time.perf_counter()
        if n_prompt:
            llm.eval([rng.randrange(vocab) for _ in range(n_prompt)])
        for _ in range(n_gen):
            llm.eval([rng.randrange(vocab)])
        return (n_prompt + n_gen) / (time.perf_counter() - t0)

    results = []
    for n_prompt, n_gen in [(a.n_prompt, 0), (0, a.n_gen)]:
        if n_prompt + n_gen == 0:
            continue
        run(n_prompt, n_gen)
        samples = [run(n_prompt, n_gen) for _ in range(a.repetitions)]
        results.append({
            "model_filename": a.model, "backends": "CPU (llama.cpp " + llama_cpp.__version__ + ")",
            "n_threads": a.threads, "n_prompt": n_prompt, "n_gen": n_gen,
            "avg_ts": statistics.mean(samples),
            "stddev_ts": statistics.stdev(samples) if len(samples) > 1 else 0.0,
            "samples_ts": samples,
        })
    json.dump(results, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
