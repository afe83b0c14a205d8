"""The Z3 proofs over the protocol (spec/proofs.md), installed as ``pqms_model.proofs``: the
encoding (:mod:`.encoding`), invariants and lemmas (:mod:`.safety`, :mod:`.lemmas`), inductive
proofs (:mod:`.induction`, :mod:`.suite`), bounded model checking (:mod:`.bmc`,
:mod:`.counterexample`), conformance with the model (:mod:`.conformance`) and the
no-signalling lemma (:mod:`.no_signalling`).
"""
