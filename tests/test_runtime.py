"""The runtime: one typed object per app holding its clients and caches, built lazily, once per process."""

import os
import threading

from llmops.runtime import Runtime, runtime


def test_a_member_is_built_once_and_shared_by_threads(app):
    seen = []
    app.runtime.reset("chat_clients")
    threads = [threading.Thread(target=lambda: seen.append(app.runtime.chat_clients)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len({id(clients) for clients in seen}) == 1
    with app.app_context():
        assert runtime().chat_clients is seen[0]


def test_reset_forgets_a_member_and_the_next_read_builds_it_again(app):
    first = app.runtime.fulltext_cache
    assert app.runtime.peek("fulltext_cache") is first
    app.runtime.reset("fulltext_cache")
    assert app.runtime.peek("fulltext_cache") is None
    assert app.runtime.fulltext_cache is not first


def test_a_forked_child_builds_its_own_per_process_members(app):
    """Sockets, pools, threads and locks do not survive a fork (Celery's prefork pool): the child
    starts without the parent's per-process members but keeps the ones built once."""
    parent_clients, parent_engine = app.runtime.chat_clients, app.runtime.ledger_engine
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        ok = (app.runtime.peek("chat_clients") is None and app.runtime.chat_clients is not parent_clients
              and app.runtime.ledger_engine is parent_engine)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert app.runtime.chat_clients is parent_clients  # the parent keeps its own


def test_every_lazy_member_is_typed():
    from llmops.runtime import _Lazy

    lazy = {name: value for name, value in vars(Runtime).items() if isinstance(value, _Lazy)}
    assert {"embedding_model", "vector_store", "storage", "api_key_cache", "model_registry"} <= set(lazy)
    for name, member in lazy.items():
        assert member.build.__annotations__.get("return"), name
        assert member.__doc__, name
