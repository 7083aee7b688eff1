"""The query processes: the shared engine, the killable executors and the client side of both.

pyoxigraph cannot be interrupted while it evaluates a query, so the server never evaluates one in
a web worker: each query runs in a process that is replaced or killed at its time limit.

- `executor`: evaluating a request and serialising its result natively; the frame protocol; the
  executor process (`python -m ikmkg.engine.executor`).
- `process`: the shared engine process (`python -m ikmkg.engine.process`): one in-memory store,
  a thread a query, replaced when a query overruns; its memory cap.
- `client`: starting and reaching those processes (the engine's client, one executor or engine
  connection and the framed pipe to it).
- `pool`: the executors of a process, so many at once, and the frames of one running query.

The Store built on them is `ikmkg.pooled_store.PooledStore`. Nothing is imported here: the engine
and executor processes import this package first, and stay small (the standard library,
pyoxigraph and the frame protocol).
"""
