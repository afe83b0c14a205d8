"""The executable model (spec §3, §4): one transition function ``Model.step(state, action)``
(:mod:`.transition`) dispatching to the rules in :mod:`.rules`, one module per group of
actions, mirrored one for one by the Z3 encoding in :mod:`pqms_model.proofs.encoding`.
"""
