"""The query processes: the shared engine, the killable executors and the client side of both.

pyoxigraph cannot be interrupted while it evaluates a query, so the server never evaluates one in
a web worker: each query runs in a process that is replaced or killed at its time limit.

- `process`: the shared engine process (`python -m ikmkg.engine.process`): one in-memory store,
  a thread a query, replaced when a query overruns; its memory cap.
- `executor`: evaluating a request and serialising its result natively; the frame protocol; the
  executor process (`python -m ikmkg.engine.executor`).

Nothing is imported here: the engine and executor processes import this package first, and stay
small (the standard library, pyoxigraph and the frame protocol).
"""
