"""Curation: which records of a build have a wrong mask, to review and exclude.

Beside :mod:`hqseg.data`, reading builds through :mod:`hqseg.data.records`, the worker
pools of :mod:`hqseg.data.parallel` and, for the model signal, the evaluation predictor.
Modules: :mod:`.signals` (image-only signals of one record), :mod:`.model_signal`,
:mod:`.scoring` (one score and reasons), :mod:`.reader` (a build's shards as a stream),
:mod:`.audit` (the run and its files), :mod:`.review` and :mod:`.review_page` (the
self-contained review page). Torch is imported only for the model signal.
"""
