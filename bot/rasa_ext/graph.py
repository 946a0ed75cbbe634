"""Rasa's model graph run node after node, in an order worked out once, instead of through dask's scheduler.

Rasa: `DaskGraphRunner.run` runs the model's graph (the NLU pipeline for each message, the policies for each
prediction) with `dask.get`: a task graph built, ordered and scheduled on every call, for a graph that never
changes while the server runs (the cost is in bench/results/load.md).

The patch: `run` calls the same nodes with the same inputs as `DaskGraphRunner.run`: each after the nodes it needs,
each input the named node's output (or the value passed in for a placeholder, or the name itself when it names
nothing, as with dask), in an order worked out once per set of targets and kept on the runner. Inputs named like
a node are refused with Rasa's error, and a node's error reaches the caller as it does from dask. tests/rasa runs a
conversation through the trained model both ways and compares every parse and prediction.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

ORDERS = "_tierzero_orders"


def _order(runner: DaskGraphRunner, targets: tuple[str, ...]) -> list[tuple[str, Any, list[str]]]:
    """The nodes the targets need, each after its own needs: (name, node, the names of its inputs)."""
    orders = runner.__dict__.setdefault(ORDERS, {})
    if targets not in orders:
        schema = runner._graph_schema.minimal_graph_schema(list(targets))
        ordered: list[tuple[str, Any, list[str]]] = []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done or name not in schema.nodes:
                return
            done.add(name)
            needs = list(schema.nodes[name].needs.values())
            for need in needs:
                visit(need)
            ordered.append((name, runner._instantiated_nodes[name], needs))

        for name in schema.nodes:
            visit(name)
        orders[targets] = ordered
    return orders[targets]


def run(self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict:
    """`DaskGraphRunner.run`, without dask."""
    run_targets = targets if targets else self._graph_schema.target_names
    order = _order(self, tuple(run_targets))
    names = {name for name, _, _ in order}
    results: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in names:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names passed to the "
                "`run` method are the same as node names in the graph schema."
            )
        names.add(name)
        results[name] = (name, value)
    try:
        for name, node, needs in order:  # as dask: a need that names nothing is passed as the name itself
            results[name] = node(*(results.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(results[target] for target in run_targets)


PATCHES = ((DaskGraphRunner, "run", run),)
