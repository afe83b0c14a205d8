"""The protocol's vocabulary (spec §1, §2, §6): scenario constants, state records, actions,
swap schedules and the planted-bug variants. Data only: no rule lives here.
"""
