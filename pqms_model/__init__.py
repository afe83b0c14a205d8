"""pqms: executable model of the Proactive Quantum Mesh System (spec: ``spec/pqms.md``).

A repeater mesh keeps, per endpoint pair, a pool of ready entangled pairs. This package makes the
protocol precise and checks it. Its subpackages are layers, each importing only those below it
(the list lives in one place, ``[tool.importlinter]`` in ``pyproject.toml``, checked in CI):

- :mod:`~pqms_model.physics` — Werner-state physics (floats) and its integer core;
- :mod:`~pqms_model.protocol` — scenario constants, state, actions, swap schedules, mutants;
- :mod:`~pqms_model.model` — the one transition function ``Model.step(state, action)``;
- :mod:`~pqms_model.invariants` — the registry every checker uses;
- :mod:`~pqms_model.trace` — ITF traces and replay;
- :mod:`~pqms_model.proofs` — the Z3 encoding and proofs (the repository folder ``proofs/``);
- :mod:`~pqms_model.check`, :mod:`~pqms_model.sim`, :mod:`~pqms_model.feasibility` — the
  engines and analyses built on the model;
- :mod:`~pqms_model.cli` — the ``pqms`` command line.

The pool removes *set-up* latency (waiting for entanglement distribution), never *signal*
latency: a use takes effect at the receiver only when two classical bits arrive at light speed.
"""

__version__ = "0.1.0"
