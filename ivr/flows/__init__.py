"""Reading and validating flow files (beside the pure engine): YAML with positions, JSON Schema, graph checks."""

from .loader import FlowInvalid, build_flow, load_flow, validate_paths, validate_text
from .repository import FlowRepository, RevisionSource
from .schema import flow_schema
from .source import Problem

__all__ = [
    "FlowInvalid",
    "FlowRepository",
    "Problem",
    "RevisionSource",
    "build_flow",
    "flow_schema",
    "load_flow",
    "validate_paths",
    "validate_text",
]
