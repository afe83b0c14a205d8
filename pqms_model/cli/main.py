"""The ``pqms`` command line (DESIGN.md "Command line"): one module per subcommand.

Exit codes: 0 all checks hold; 1 a violation was found (counterexample printed and written);
2 bad input (one clear line naming file, field or step; nothing written); 3 inconclusive.
Each subcommand lives in ``pqms_model/cli/<name>.py`` and provides
``add_arguments(parser)`` and ``run(args) -> int``; bad input is raised as a
:class:`~pqms_model.errors.PqmsError` or ``ScenarioError`` and reported here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pqms_model import __version__
from pqms_model.errors import EngineDrift, PqmsError
from pqms_model.protocol.scenario import ScenarioError

__all__ = ["EXIT_BAD_INPUT", "EXIT_HOLD", "EXIT_INCONCLUSIVE", "EXIT_VIOLATED", "main"]

EXIT_HOLD, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3

# name -> one-line help; the module pqms_model.cli.<name> implements it
SUBCOMMANDS: dict[str, str] = {
    "check": "the bounded property campaign over every invariant on a scenario (the main job)",
    "prove": "the Z3 proofs: inductive invariants per action, non-vacuity, no-signalling, BMC",
    "replay": "re-execute an ITF trace on the model and report the first violated invariant",
    "mutants": "list the planted-bug variants and the invariants each breaks",
    "feasibility": "memory coherence each pool needs, and the distance a memory allows",
    "simulate": "the pool against reactive distribution: set-up and signal latency, hit rate, "
    "fidelity, rate bound",
    "spec": "print the invariant and mutant registries the checkers use",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """Bad flags: one line, exit 2 (argparse's own usage dump is noise here)."""
        print(f"pqms: error: {message} (see pqms {self.prog.split()[-1]} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pqms",
        description="Check the Proactive Quantum Mesh System: model, proofs, traces, simulation.",
    )
    parser.add_argument("--version", action="version", version=f"pqms {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in SUBCOMMANDS.items():
        mod = importlib.import_module(f"pqms_model.cli.{name.replace('-', '_')}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        code: int = args._run(args)
    except EngineDrift as e:
        print(f"pqms {args.command}: no verdict: {e}", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    except (PqmsError, ScenarioError) as e:
        print(f"pqms {args.command}: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("pqms: interrupted", file=sys.stderr)
        return EXIT_INCONCLUSIVE
    return code


if __name__ == "__main__":
    raise SystemExit(main())
