"""``pqms check``'s engines on the model (spec §8): steered walks (:mod:`.walk`, :mod:`.steering`),
the campaign (:mod:`.campaign`), shrinking (:mod:`.shrink`), the Hypothesis machine
(:mod:`.machine`) and the invariant suite for users' scenarios (:mod:`.suite`).
"""
