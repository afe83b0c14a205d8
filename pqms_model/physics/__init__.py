"""Physics (spec §0.4, §1.1): Werner states in floats (:mod:`.werner`, with the papers' formulas)
and the integer core every guard uses (:mod:`.cost`: log-Werner cost in nano-nepers, time in
microseconds, rounded so that no check is ever optimistic). Imports nothing of pqms but errors.
"""
