"""Coherence-time feasibility of the pools (``pqms feasibility``): one route's physics
(:mod:`.route`), the search over routes (:mod:`.search`), the per-pool report
(:mod:`.coherence`).
"""
