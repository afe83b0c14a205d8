"""Figures of a simulation: latencies, pool size, fidelity (``spec/simulator.md`` §6.4).

matplotlib is an optional extra (``pip install 'pqms[plot]'``): it is imported here only, when
a figure is drawn. Each function takes the per-mode ``series`` of
:class:`pqms_model.sim.simulator.ModeRun` and writes one PNG.

- ``setup_latency_cdf.png`` — what the pool removes: the CDF of set-up latency (request to use)
  per mode, on a symmetric-log axis so that zero (served from the pool) shows;
- ``signal_latency.png`` — what the pool does not remove: signal latency (use to correction)
  per pool and mode against the light time, with the line ``latency = distance / c``;
- ``pool_occupancy.png`` — healthy pooled pairs over time per pool (proactive), with targets;
- ``fidelity_at_use.png`` — fidelity at the receiver's correction per pool and mode, with the
  pool thresholds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pqms_model.physics.cost import US_PER_S, cost_to_fidelity
from pqms_model.protocol.scenario import Scenario

__all__ = ["render_all"]

_COLOURS = {"proactive": "tab:blue", "reactive": "tab:orange"}
_MAX_POINTS = 4000  # per scatter series: every k-th point (deterministic thinning)


def _thin(values: list[Any]) -> list[Any]:
    step = max(1, len(values) // _MAX_POINTS)
    return values[::step]


def render_all(scenario: Scenario, series: dict[str, dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write the four figures into ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out = []
    for name, draw in (
        ("setup_latency_cdf.png", _setup_cdf),
        ("signal_latency.png", _signal),
        ("pool_occupancy.png", _occupancy),
        ("fidelity_at_use.png", _fidelity),
    ):
        fig = draw(plt, scenario, series)
        path = out_dir / name
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
        out.append(path)
    return out


def _setup_cdf(plt: Any, sc: Scenario, series: dict[str, dict[str, Any]]) -> Any:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    styles = ["-", "--", ":", "-."]
    for mode, pools in series.items():
        for k, (pool, data) in enumerate(pools.items()):
            xs = sorted(us / US_PER_S for us in data["setup_us"])
            if not xs:
                continue
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.step(
                xs,
                ys,
                where="post",
                color=_COLOURS.get(mode),
                ls=styles[k % 4],
                label=f"{mode}: {pool}",
            )
    ax.set_xscale("symlog", linthresh=0.1)
    ax.set_xlim(left=-0.01)
    ax.set_xlabel("set-up latency, request to use (s; symmetric log, 0 = served from the pool)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(f"{sc.name}: set-up latency, proactive pool vs reactive distribution")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _signal(plt: Any, sc: Scenario, series: dict[str, dict[str, Any]]) -> Any:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    lights = {f"{p.a}->{p.b}": sc.light_us(p.a, p.b) / US_PER_S for p in sc.pools}
    lo, hi = min(lights.values()) / 2, max(lights.values()) * 2
    ax.plot([lo, hi], [lo, hi], color="black", lw=1, label="light time (distance / c)")
    shift = {"proactive": 0.97, "reactive": 1.03}  # side by side at the same light time
    for mode, pools in series.items():
        first = True
        for pool, data in pools.items():
            ys = _thin([us / US_PER_S for us in data["signal_us"]])
            if not ys:
                continue
            x = lights[pool] * shift.get(mode, 1.0)
            ax.scatter(
                [x] * len(ys),
                ys,
                s=14,
                alpha=0.35,
                color=_COLOURS.get(mode),
                label=f"{mode}: each use" if first else None,
            )
            first = False
    by_light: dict[float, list[str]] = {}
    for pool, x in lights.items():
        by_light.setdefault(x, []).append(pool)
    for x, names in by_light.items():
        ax.annotate(
            ", ".join(names), (x, x), textcoords="offset points", xytext=(10, -14), fontsize=8
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("light time between sender and receiver (s)")
    ax.set_ylabel("signal latency, use to correction (s)")
    ax.set_title("Signal latency is never below distance / c (no instant effect)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def _occupancy(plt: Any, sc: Scenario, series: dict[str, dict[str, Any]]) -> Any:
    pools = list(next(iter(series.values())))
    fig, axes = plt.subplots(
        len(pools), 1, figsize=(9, 2.2 * len(pools) + 0.6), sharex=True, squeeze=False
    )
    for ax, pool in zip(axes[:, 0], pools, strict=True):
        for mode, data_by_pool in series.items():
            data = data_by_pool[pool]
            pts = [(0, 0), *data["occupancy"]]
            ax.step(
                [t / US_PER_S / 3600 for t, _ in pts],
                [n for _, n in pts],
                where="post",
                color=_COLOURS.get(mode),
                lw=0.8,
                label=f"{mode}: pooled",
            )
            if mode == "proactive" and data["targets"]:
                tg = data["targets"]
                ax.step(
                    [t / US_PER_S / 3600 for t, _ in tg],
                    [n for _, n in tg],
                    where="post",
                    color="grey",
                    ls="--",
                    lw=0.8,
                    label="target",
                )
        ax.set_ylabel(pool, fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="upper right", ncol=3)
    axes[0, 0].set_title("Healthy pooled pairs at each sender")
    axes[-1, 0].set_xlabel("simulated time (h)")
    fig.tight_layout()
    return fig


def _fidelity(plt: Any, sc: Scenario, series: dict[str, dict[str, Any]]) -> Any:
    n = len(sc.pools)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n + 1, 4.4), squeeze=False)
    modes = list(series)
    for ax, pl in zip(axes[0], sc.pools, strict=True):
        name = f"{pl.a}->{pl.b}"
        data = [[cost_to_fidelity(c) for c in series[m][name]["cost_nnp"]] for m in modes]
        shown = [(m, d) for m, d in zip(modes, data, strict=True) if d]
        if shown:
            parts = ax.boxplot(
                [d for _, d in shown],
                widths=0.6,
                patch_artist=True,
                showfliers=False,
                whis=(0, 100),
            )
            for box, (m, _) in zip(parts["boxes"], shown, strict=True):
                box.set_facecolor(_COLOURS.get(m, "grey"))
                box.set_alpha(0.6)
            ax.set_xticks(range(1, len(shown) + 1), [m for m, _ in shown])
        ax.axhline(pl.threshold_fidelity, color="red", lw=1.5, label="pool threshold")
        top = max((max(d) for d in data if d), default=1.0)
        span = top - pl.threshold_fidelity
        ax.set_ylim(pl.threshold_fidelity - 0.1 * span, top + 0.1 * span)
        ax.set_title(name, fontsize=10)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("fidelity at the receiver's correction (whiskers: min, max)")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Fidelity at use never falls below the pool threshold")
    fig.tight_layout()
    return fig
