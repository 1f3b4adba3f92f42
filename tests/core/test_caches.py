"""The compiled-model cache: one compilation per structure, even from several threads."""

from __future__ import annotations

import threading
import time

from toolkit.core.caches import CompiledCache


def test_each_structure_compiles_once_and_clear_forgets() -> None:
    cache = CompiledCache()
    calls: list[str] = []

    def compile_for(name: str):
        def build():
            calls.append(name)
            time.sleep(0.01)
            return f"model {name}"
        return build

    model, seconds = cache.get(("a", 1), compile_for("a"))
    assert (model, calls) == ("model a", ["a"]) and seconds >= 0.01
    assert cache.get(("a", 1), compile_for("a")) == ("model a", 0.0)
    assert cache.get(("b", 2), compile_for("b"))[0] == "model b"
    assert calls == ["a", "b"]
    cache.clear()
    cache.get(("a", 1), compile_for("a"))
    assert calls == ["a", "b", "a"]


def test_threads_asking_at_once_share_one_compilation() -> None:
    cache = CompiledCache()
    calls: list[int] = []

    def build():
        calls.append(1)
        time.sleep(0.05)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", build)[0]))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1


def test_a_limited_cache_forgets_the_oldest_first() -> None:
    cache = CompiledCache(limit=2)
    calls: list[str] = []

    def build(name: str):
        return lambda: calls.append(name) or name

    for name in ("a", "b", "c"):
        cache.get(name, build(name))
    assert cache.get("c", build("c")) == ("c", 0.0) and cache.get("b", build("b"))[1] == 0.0
    cache.get("a", build("a"))  # forgotten when c arrived: computed again
    assert calls == ["a", "b", "c", "a"]
