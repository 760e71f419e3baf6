"""The optimizer study: Adam against SGD with and without momentum, tuned and rerun the way
optimizer benchmarks do it (docs/study.md), as the stages of study/dvc.yaml,
a DVC project of its own.

`protocol` (study/params.yaml, validated, and the cells it expands into), `cells` (one training
run), `analysis` (the choice of lr, and the numbers of the answer), `stats` (intervals, the
equivalence test, the expected best of k trials), `figures` (its PNGs), `engine` (what `python
-m mnist_pipeline.study` does: the stale cells, many per process, one process per core or on the
workers of a Dask cluster), `worker` (a cell trained where a worker runs, checked against the
driver's code and data).
"""
