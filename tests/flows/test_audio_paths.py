"""Flow `audio:` paths stay inside the flows folder, symlinks resolved (issue 12 item 10); the lexical cases are in
tests/flows/bad/audio_outside_flows.yaml."""

from __future__ import annotations

from pathlib import Path

from ivr.flows import validate_paths, validate_text
from ivr.flows.audio import resolve_audio

FLOW = """id: jingle
start: jingle
steps:
  jingle:
    type: say
    audio: {audio}
    next: bye
  bye:
    type: hangup
"""


def flows_folder(tmp_path: Path, audio: str) -> Path:
    folder = tmp_path / "flows"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "jingle.wav").write_bytes(b"RIFF")
    (folder / "jingle.yaml").write_text(FLOW.format(audio=audio))
    return folder


def test_a_symlink_out_of_the_flows_folder_is_refused_at_its_line(tmp_path):
    voicemail = tmp_path / "var" / "recordings" / "CA1-1.wav"
    voicemail.parent.mkdir(parents=True)
    voicemail.write_bytes(b"RIFF another caller")
    folder = flows_folder(tmp_path, "prompts/hello.wav")
    (folder / "prompts" / "hello.wav").symlink_to(voicemail)
    problems = validate_paths([folder])
    assert [(Path(p.file).name, p.line, p.column) for p in problems] == [("jingle.yaml", 6, 12)]
    assert "steps.jingle.audio: audio 'prompts/hello.wav' is outside the flows folder" in problems[0].message
    (folder / "prompts" / "linked-dir").symlink_to(voicemail.parent, target_is_directory=True)
    (folder / "jingle.yaml").write_text(FLOW.format(audio="prompts/linked-dir/CA1-1.wav"))
    assert len(validate_paths([folder])) == 1


def test_paths_inside_the_folder_are_fine_even_through_a_link_that_stays_inside(tmp_path):
    folder = flows_folder(tmp_path, "prompts/jingle.wav")
    (folder / "prompts" / "alias.wav").symlink_to(folder / "prompts" / "jingle.wav")
    assert validate_paths([folder]) == []
    for inside in ("prompts/alias.wav", "./prompts/../prompts/jingle.wav"):  # a missing file: see below
        (folder / "jingle.yaml").write_text(FLOW.format(audio=inside))
        assert validate_paths([folder]) == [], inside
    assert resolve_audio("prompts/alias.wav", folder) == (folder / "prompts" / "jingle.wav").resolve()


def test_without_a_folder_the_text_alone_is_checked():
    assert validate_text(FLOW.format(audio="prompts/jingle.wav"), "jingle.yaml") == []
    for outside in ("../x.wav", "/etc/passwd", "a/../../x.wav"):
        problems = validate_text(FLOW.format(audio=outside), "jingle.yaml")
        assert [(p.line, "outside the flows folder" in p.message) for p in problems] == [(6, True)], outside


def test_a_missing_audio_file_is_an_error_at_its_line(tmp_path):
    folder = flows_folder(tmp_path, "prompts/jingel.wav")  # a typo: prompts/jingle.wav exists
    [problem] = validate_paths([folder / "jingle.yaml"])
    assert (problem.line, problem.column) == (6, 12)
    assert "audio file 'prompts/jingel.wav' does not exist" in problem.message
    (folder / "jingle.yaml").write_text(FLOW.format(audio="prompts/jingle.wav"))
    assert validate_paths([folder / "jingle.yaml"]) == []
    (folder / "jingle.yaml").write_text(FLOW.format(audio="prompts"))  # a folder is not a sound file
    assert "does not exist" in validate_paths([folder / "jingle.yaml"])[0].message
