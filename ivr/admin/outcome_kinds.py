"""What each outcome means (success, neutral or failure), as the flows that produce it say in their `outcomes`.

Read from the flows calls run now: the published revision of each flow in the store, else its file in flows_dir
(the same FlowRepository the channels use). A flow that does not load adds nothing; where two flows give one
outcome different kinds, the flow first by id wins. The caller passes a long-lived repository (the admin keeps one
per app), so a page reads a flow's published revision id, not its YAML built again, on each request.
"""

from __future__ import annotations

from pathlib import Path

from ivr.flows import FlowInvalid
from ivr.flows.repository import FlowRepository
from ivr.settings import Settings
from ivr.store.flows import FlowStore


def outcome_kinds(conn, settings: Settings, repository: FlowRepository | None = None) -> dict[str, str]:
    store = FlowStore(conn)
    flow_ids = set(store.flow_ids()) | {p.stem for p in Path(settings.flows_dir).glob("*.yaml")}
    repository = repository or FlowRepository(settings.flows_dir, source=store)
    kinds: dict[str, str] = {}
    for flow_id in sorted(flow_ids):
        try:
            flow = repository.get(flow_id)
        except (FlowInvalid, KeyError, OSError):
            continue  # a broken or vanished flow runs no calls; the Flows page reports it
        for each in [flow, *flow.library.values()]:
            for outcome, kind in each.outcomes.items():
                kinds.setdefault(outcome, kind)
    return kinds
