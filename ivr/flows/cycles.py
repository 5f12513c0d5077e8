"""Finding cycles in a step graph: Tarjan's strongly connected components (iterative, so a 1,000-step chain
cannot hit Python's recursion limit), and one concrete loop through a component for the error message."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any


def cyclic_components(nodes: Iterable[Any], edges: dict[Any, list[Any]]) -> list[list[Any]]:
    """The strongly connected components that contain a cycle, each a list of nodes (in a stable order)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(edges[root]))]
        while work:
            current, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[current])
                if low[current] == index[current]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == current:
                            break
                    if len(component) > 1 or current in edges[current]:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[current] = min(low[current], index[child])
    return found


def loop_through(component: list[Any], edges: dict[Any, list[Any]]) -> list[Any]:
    """A shortest loop from the component's first node back to itself, following the edges: [a, b, c, a]."""
    start, members = component[0], set(component)
    came_from: dict[Any, Any] = {}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for child in edges[node]:
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1] + [start]
            if child in members and child not in came_from:
                came_from[child] = node
                todo.append(child)
    return component + [start]
