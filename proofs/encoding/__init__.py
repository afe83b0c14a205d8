"""The Z3 encoding of the model (spec/proofs.md §1-§2): constants (:mod:`.consts`), the symbolic
state (:mod:`.state`), one module per group of rules mirroring :mod:`pqms_model.model.rules`
(:mod:`.routing`, :mod:`.pairs`, :mod:`.swap`, :mod:`.use`, :mod:`.environment`), the
transition relation (:mod:`.transition`) and the abstraction of a model state (:mod:`.abstraction`).
"""
