"""Data envelopment analysis beside the stochastic frontier: DEA efficiencies with slacks and peers, and the
Malmquist productivity index across periods, each unit's linear programme solved by scipy's HiGHS.

DEA makes no assumption on the noise or the form of the frontier (the frontier is the data's convex hull,
under constant or variable returns to scale); the stochastic frontier separates noise from inefficiency
under a functional form. Regulators compare the two on the same units as the check that a ranking does not
rest on one method (:func:`rank_agreement`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

RETURNS = ("crs", "vrs", "drs", "irs")
ORIENTATIONS = ("input", "output")
#: A peer's weight (λ) below this is no weight: HiGHS returns exact zeros up to its feasibility tolerance.
PEER_TOLERANCE = 1e-9


def _matrix(values, name: str) -> tuple[np.ndarray, pd.Index, list[str]]:
    frame = pd.DataFrame(values)
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise ValueError(f"{name} needs at least one column and one unit")
    x = frame.to_numpy(dtype=float)
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        rows = frame.index[bad.any(axis=1)].tolist()[:10]
        raise ValueError(f"{name} must be finite and ≥ 0; not so for unit(s) {rows}")
    return x, frame.index, [str(c) for c in frame.columns]


@dataclass
class DEAResult:
    """The DEA of a set of units (``rts`` returns to scale, ``orientation``).

    Attributes
    ----------
    efficiency : Series
        Farrell efficiency in (0, 1]: θ, the share of its inputs a unit would need (input orientation), or
        1/φ, the share of the attainable outputs it produces (output orientation); NaN where the unit's
        programme has no solution (a unit outside a reference technology under variable returns).
    lambdas : DataFrame
        Units × reference units: the weights of the unit's benchmark.
    slacks_input, slacks_output : DataFrame
        What remains to save (inputs) or to add (outputs) after the radial move (the second stage maximises
        the slacks at the efficiency found).
    """

    efficiency: pd.Series
    lambdas: pd.DataFrame
    slacks_input: pd.DataFrame
    slacks_output: pd.DataFrame
    rts: str
    orientation: str

    def peers(self) -> pd.Series:
        """Each unit's peers: the reference units its benchmark is made of (λ > 0)."""
        return self.lambdas.apply(lambda row: [str(u) for u in row.index[row > PEER_TOLERANCE]], axis=1)

    def summary(self) -> pd.DataFrame:
        """Efficiency, peers and total slacks per unit."""
        return pd.DataFrame({"efficiency": self.efficiency, "peers": self.peers().map(", ".join),
                             "input_slack": self.slacks_input.sum(axis=1),
                             "output_slack": self.slacks_output.sum(axis=1)})


def dea(inputs, outputs, *, rts: str = "crs", orientation: str = "input", reference_inputs=None,
        reference_outputs=None, slacks: bool = True) -> DEAResult:
    """Efficiency of each unit against the best practice of the reference units (by default the units).

    Parameters
    ----------
    inputs, outputs : DataFrame or array
        Units × inputs and units × outputs, same rows, finite and ≥ 0.
    rts : {"crs", "vrs", "drs", "irs"}
        Constant, variable, non-increasing or non-decreasing returns to scale.
    orientation : {"input", "output"}
    reference_inputs, reference_outputs : optional
        Another technology to measure against (the other period's units, for the Malmquist index).
    slacks : bool, default True
        Run the second stage that finds the slacks (and the peers of the slack-maximal benchmark).

    Returns
    -------
    DEAResult
    """
    if rts not in RETURNS:
        raise ValueError(f"rts must be one of {RETURNS}, not {rts!r}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {ORIENTATIONS}, not {orientation!r}")
    x, units, input_names = _matrix(inputs, "inputs")
    y, output_units, output_names = _matrix(outputs, "outputs")
    if len(output_units) != len(units):
        raise ValueError(f"inputs have {len(units)} units, outputs {len(output_units)}")
    if (reference_inputs is None) != (reference_outputs is None):
        raise ValueError("give both reference_inputs and reference_outputs, or neither")
    if reference_inputs is None:
        xr, yr, references = x, y, units
    else:
        xr, references, _ = _matrix(reference_inputs, "reference_inputs")
        yr, _, _ = _matrix(reference_outputs, "reference_outputs")
    if xr.shape[1] != x.shape[1] or yr.shape[1] != y.shape[1]:
        raise ValueError("the reference units must have the same inputs and outputs")
    n_ref, m, s = len(xr), x.shape[1], y.shape[1]
    efficiency = np.full(len(x), np.nan)
    lambdas = np.zeros((len(x), n_ref))
    slack_in, slack_out = np.zeros((len(x), m)), np.zeros((len(x), s))
    # first stage: variables [score, λ_1 … λ_n]; score is θ (input, minimised) or φ (output, maximised)
    first = _solve_each([_radial(x[o], y[o], xr, yr, orientation, rts) for o in range(len(x))])
    scored = [o for o, found in enumerate(first) if found is not None and found[0] > 0]
    for o in scored:
        efficiency[o] = first[o][0] if orientation == "input" else 1.0 / first[o][0]
        lambdas[o] = first[o][1:]
    if slacks and scored:
        # second stage: at the radial score, the benchmark with the largest total slack
        second = _solve_each([_slack_stage(x[o], y[o], xr, yr, first[o][0], orientation, rts) for o in scored])
        for o, found in zip(scored, second):
            if found is not None:      # else the radial point is the benchmark (a rounding edge): no slack
                values = np.clip(found, 0.0, None) + 0.0     # HiGHS may return −0.0 or −1e-17 for a zero
                lambdas[o], slack_in[o], slack_out[o] = values[:n_ref], values[n_ref:n_ref + m], values[n_ref + m:]
    return DEAResult(efficiency=pd.Series(efficiency, index=units, name="efficiency"),
                     lambdas=pd.DataFrame(lambdas, index=units, columns=references),
                     slacks_input=pd.DataFrame(slack_in, index=units, columns=input_names),
                     slacks_output=pd.DataFrame(slack_out, index=units, columns=output_names),
                     rts=rts, orientation=orientation)


def _radial(xo, yo, xr, yr, orientation, rts):
    """One unit's first-stage programme (cost, A_ub, b_ub, A_eq, b_eq) in [score, λ]."""
    n, m, s = len(xr), len(xo), len(yo)
    if orientation == "input":
        a_ub = np.vstack([np.column_stack([-xo, xr.T]), np.column_stack([np.zeros(s), -yr.T])])
        b_ub, cost = np.concatenate([np.zeros(m), -yo]), np.r_[1.0, np.zeros(n)]
    else:
        a_ub = np.vstack([np.column_stack([np.zeros(m), xr.T]), np.column_stack([yo, -yr.T])])
        b_ub, cost = np.concatenate([xo, np.zeros(s)]), np.r_[-1.0, np.zeros(n)]
    scale = np.r_[0.0, np.ones(n)]
    return (cost, *_with_returns(a_ub, b_ub, np.zeros((0, n + 1)), np.zeros(0), scale, rts))


def _slack_stage(xo, yo, xr, yr, score, orientation, rts):
    """One unit's second-stage programme in [λ, s⁻, s⁺]: Σλx + s⁻ = target x, Σλy − s⁺ = target y,
    maximise Σs."""
    n, m, s = len(xr), len(xo), len(yo)
    target_x = score * xo if orientation == "input" else xo
    target_y = yo if orientation == "input" else score * yo
    a_eq = np.vstack([np.column_stack([xr.T, np.eye(m), np.zeros((m, s))]),
                      np.column_stack([yr.T, np.zeros((s, m)), -np.eye(s)])])
    scale = np.r_[np.ones(n), np.zeros(m + s)]
    return (np.r_[np.zeros(n), -np.ones(m + s)],
            *_with_returns(np.zeros((0, n + m + s)), np.zeros(0), a_eq, np.concatenate([target_x, target_y]),
                           scale, rts))


def _with_returns(a_ub, b_ub, a_eq, b_eq, scale, rts):
    """The programme with its returns-to-scale row on λ (``scale`` marks λ's columns): Σλ = 1 (vrs), ≤ 1
    (drs), ≥ 1 (irs) or none (crs)."""
    if rts == "vrs":
        return a_ub, b_ub, np.vstack([a_eq, scale]), np.r_[b_eq, 1.0]
    if rts in ("drs", "irs"):
        sign = 1.0 if rts == "drs" else -1.0
        return np.vstack([a_ub, sign * scale]), np.r_[b_ub, sign], a_eq, b_eq
    return a_ub, b_ub, a_eq, b_eq


def _solve_each(programmes):
    """The solution of each programme (None where it has none): all as the blocks of one sparse programme,
    whose objective is their sum, so its optimum is each one's, at the cost of one HiGHS call instead of one
    per unit (the set-up of a call costs more than solving a small block); unit by unit when the joint
    programme has no solution (a unit outside a reference technology under variable returns)."""
    from scipy import sparse

    def solve(chosen):
        a_eq = [p[3] for p in chosen]
        found = linprog(np.concatenate([p[0] for p in chosen]),
                        A_ub=sparse.block_diag([p[1] for p in chosen], format="csr"),
                        b_ub=np.concatenate([p[2] for p in chosen]),
                        A_eq=sparse.block_diag(a_eq, format="csr") if sum(len(a) for a in a_eq) else None,
                        b_eq=np.concatenate([p[4] for p in chosen]) if sum(len(a) for a in a_eq) else None,
                        bounds=(0, None), method="highs")
        return None if found.status != 0 else np.split(found.x, np.cumsum([len(p[0]) for p in chosen])[:-1])

    together = solve(programmes)
    if together is not None:
        return together
    alone = [solve([programme]) for programme in programmes]
    return [None if found is None else found[0] for found in alone]


def malmquist(inputs, outputs, unit, period, *, rts: str = "crs", orientation: str = "input") -> pd.DataFrame:
    """The Malmquist productivity index of each unit between consecutive periods (Färe et al. 1994).

    With e_ab the efficiency of period b's data against period a's technology (``e00``, ``e01``, ``e10``,
    ``e11``), ``ec`` = e11/e00 (efficiency change, catching up), ``tc`` = √(e10/e11 · e00/e01) (technical
    change, the frontier's shift) and ``m`` = ec · tc; above 1: productivity improved.

    Parameters
    ----------
    inputs, outputs : DataFrame
        One row per unit and period.
    unit, period : array-like
        The unit and the period of each row; a unit enters a pair of periods when it has a row in both.

    Returns
    -------
    DataFrame
        One row per unit and later period: ``unit``, ``period``, ``m``, ``ec``, ``tc``, ``e00``, ``e01``,
        ``e10``, ``e11`` (NaN where a cross-period programme has no solution, e.g. under variable returns).
    """
    x = pd.DataFrame(inputs).reset_index(drop=True)
    y = pd.DataFrame(outputs).reset_index(drop=True)
    unit, period = pd.Series(np.asarray(unit)), pd.Series(np.asarray(period))
    periods = sorted(period.unique())
    rows = []
    for before, after in zip(periods, periods[1:]):
        in0, in1 = period == before, period == after
        common = sorted(set(unit[in0]) & set(unit[in1]), key=str)
        if not common:
            continue
        at0 = pd.Series(np.flatnonzero(in0), index=unit[in0].to_numpy()).loc[common].to_numpy()
        at1 = pd.Series(np.flatnonzero(in1), index=unit[in1].to_numpy()).loc[common].to_numpy()
        x0, y0, x1, y1 = x.iloc[at0], y.iloc[at0], x.iloc[at1], y.iloc[at1]
        ref0, ref1 = (x[in0.to_numpy()], y[in0.to_numpy()]), (x[in1.to_numpy()], y[in1.to_numpy()])

        def score(xs, ys, ref):
            return dea(xs, ys, rts=rts, orientation=orientation, reference_inputs=ref[0],
                       reference_outputs=ref[1], slacks=False).efficiency.to_numpy()

        e00, e11 = score(x0, y0, ref0), score(x1, y1, ref1)
        e01, e10 = score(x0, y0, ref1), score(x1, y1, ref0)
        tc = np.sqrt(e10 / e11 * e00 / e01)
        ec = e11 / e00
        rows.append(pd.DataFrame({"unit": common, "period": after, "m": ec * tc, "ec": ec, "tc": tc,
                                  "e00": e00, "e01": e01, "e10": e10, "e11": e11}))
    columns = ["unit", "period", "m", "ec", "tc", "e00", "e01", "e10", "e11"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def rank_agreement(first, second) -> dict:
    """Spearman's rank correlation of two efficiency scores of the same units (e.g. DEA and SFA), with its
    p-value and the number of units compared (pairs with a missing score left out)."""
    from scipy.stats import spearmanr

    paired = pd.DataFrame({"a": np.asarray(first, dtype=float), "b": np.asarray(second, dtype=float)}).dropna()
    if len(paired) < 3:
        return {"rho": float("nan"), "p_value": float("nan"), "n": len(paired)}
    found = spearmanr(paired["a"], paired["b"])
    return {"rho": float(found.statistic), "p_value": float(found.pvalue), "n": len(paired)}


__all__ = ["DEAResult", "ORIENTATIONS", "RETURNS", "dea", "malmquist", "rank_agreement"]
