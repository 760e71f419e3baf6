"""Train and compare two MLPs on MNIST, one stage of a DVC pipeline at a time.

One module per concept: `idx` (the file format), `download` (where the bytes come from),
`dataset` (split and load), `params` (validated settings), `files` (atomic writes), `cli` (how a
stage reports errors).
"""
