"""The rules (spec §3, §4), guard first then effect, one module per group of actions:
:mod:`.routing` (A1, A2), :mod:`.pairs` (A3, A4), :mod:`.swap` (A5, A6), :mod:`.use` (A7-A10),
:mod:`.environment` (E1-E6). The encoding mirrors each under the same module and function name.
"""
