"""Every ```yaml example in docs/flows.md is a complete flow that validates; the one marked broken reports exactly
the problems printed in the ```text block after it. Examples are written to a folder as `<id>.yaml`, so `goto`
examples find their subflows."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ivr.flows import load_flow, validate_paths

DOC = Path(__file__).parents[2] / "docs" / "flows.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
STEP_TYPES = (
    "say",
    "menu",
    "collect_digits",
    "branch",
    "business_hours",
    "set",
    "follow_up",
    "callback",
    "transfer",
    "queue",
    "voicemail",
    "hangup",
    "goto",
    "return",
)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def write_examples(folder: Path) -> dict[str, Path]:
    written = {}
    for language, text in blocks():
        if language != "yaml":
            continue
        flow_id = yaml.safe_load(text)["id"]
        assert flow_id not in written, f"two examples share the id {flow_id}"
        written[flow_id] = folder / f"{flow_id}.yaml"
        written[flow_id].write_text(text, encoding="utf-8")
        for audio in re.findall(r"^\s*audio: (\S+)$", text, re.M):  # the examples' prompt files exist
            (folder / audio).parent.mkdir(parents=True, exist_ok=True)
            (folder / audio).write_bytes(b"RIFF")
    return written


def test_every_example_validates(tmp_path):
    examples = write_examples(tmp_path)
    assert len(examples) >= 15
    for flow_id, path in examples.items():
        if flow_id == "example-broken":
            continue
        assert validate_paths([path]) == [], flow_id
        load_flow(path)


def test_every_step_type_has_an_example(tmp_path):
    used = set()
    for path in write_examples(tmp_path).values():
        used |= {step["type"] for step in yaml.safe_load(path.read_text())["steps"].values()}
    assert used >= set(STEP_TYPES)
    text = DOC.read_text(encoding="utf-8")
    for step_type in STEP_TYPES:
        assert re.search(rf"^### .*\b{step_type}\b", text, re.M), f"no section for {step_type}"


def test_the_broken_example_prints_what_the_doc_shows(tmp_path):
    examples = write_examples(tmp_path)
    all_blocks = blocks()
    index = next(i for i, (lang, text) in enumerate(all_blocks) if lang == "yaml" and "id: example-broken" in text)
    language, shown = all_blocks[index + 1]
    assert language == "text"
    problems = validate_paths([examples["example-broken"]])
    printed = [str(p).replace(str(tmp_path) + "/", "") for p in problems]
    assert printed == shown.strip().splitlines()
