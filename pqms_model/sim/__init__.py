"""The discrete-event simulator (``spec/simulator.md``): the engine (:mod:`.engine`), the
simulator and its policies (:mod:`.simulator`, :mod:`.routing`, :mod:`.pool_policy`), its
bookkeeping (:mod:`.index`), measurements (:mod:`.metrics`, :mod:`.plots`) and bounds
(:mod:`.bounds`). It drives the model's own ``step``.
"""
