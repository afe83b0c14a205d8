"""pqms: executable model of the Proactive Quantum Mesh System (spec: ``spec/pqms.md``).

A repeater mesh keeps, per endpoint pair, a pool of ready entangled pairs. This package makes the
protocol precise and checks it. Layers, each importing only those above it in this list:

- :mod:`pqms_model.cost`, :mod:`pqms_model.physics` — the physics (floats) and its integer core
  (log-Werner cost in nano-nepers, time in microseconds);
- :mod:`pqms_model.scenario` — the constants of one mesh, loaded strictly from TOML;
- :mod:`pqms_model.state`, :mod:`pqms_model.actions` — immutable state and action records;
- :mod:`pqms_model.model` — the one transition function ``Model.step(state, action)``;
- :mod:`pqms_model.invariants`, :mod:`pqms_model.mutants` — the registries every checker uses;
- :mod:`pqms_model.trace` — ITF traces and replay; then the drivers (property campaign,
  simulator, command line) and the Z3 proofs in the sibling package ``proofs``.

The pool removes *set-up* latency (waiting for entanglement distribution), never *signal*
latency: a use takes effect at the receiver only when two classical bits arrive at light speed.
"""

__version__ = "0.1.0"
