"""Train and compare two MLPs on MNIST (or Fashion-MNIST), one stage of a DVC pipeline at a time.

One module per concept; the stages in `stages/` are thin scripts over them.

Data:      `datasets` (what each dataset is called, its classes, where it is served), `idx`
           (the file format), `download` (where the bytes come from, verified), `dataset` (the
           seeded split, and loading it back).
Model:     `model` (the network, saving and loading), `runtime` (CPU kernels, threads, seed and
           device: where the arithmetic runs), `fingerprint` (which bits a CPU computes, here or
           emulated), `training` (the loop), `evaluation` (loss, accuracy and the test report),
           `scores` (classification scores, numpy only).
Results:   `figures` (the PNGs), `offline_plots` (the page `dvc plots show` renders offline),
           `draw_page` (the page where both models read a digit you draw), `predict` (a
           trained model on your own images), `report` (what a change did to the results,
           for review).
Study:     `study/` (Adam against SGD with and without momentum, tuned and rerun the way
           optimizer benchmarks do it: study/dvc.yaml, run by `python -m mnist_pipeline.study`).
Plumbing:  `params` (params.yaml, validated), `resources` (what the machine's cores and memory
           can take, checked before work), `files` (atomic, byte-stable writes), `errors` (the
           one error a user can fix), `cli` (how a stage reports and exits), `dvc_command` (this
           environment's `dvc`, for the study's engine and the report).
"""
