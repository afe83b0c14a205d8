"""Traces (spec §7): ITF documents written and replayed (:mod:`.itf`), counterexample files
(:mod:`.files`).
"""
