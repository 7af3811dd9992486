"""``fit_issues``: what a rejection's registry item, event and answer can carry."""

from __future__ import annotations

import json

from autopilot_flow.issues import fit_issues


def _issue(index: int, path: str = "Tags") -> dict[str, str]:
    return {"path": f"{path}[{index}].Key", "message": "not valid.", "code": "pattern"}


def test_everything_that_fits_is_listed_unchanged() -> None:
    issues = [_issue(i) for i in range(10)]
    assert fit_issues(issues, 64 * 1024) == issues


def test_the_first_issues_within_the_budget_are_listed() -> None:
    issues = [_issue(i) for i in range(20_000)]
    fitted = fit_issues(issues, 4096)
    assert fitted == issues[: len(fitted)]
    assert 0 < len(fitted) < len(issues)
    assert len(json.dumps(fitted)) <= 4096


def test_a_long_text_is_cut_and_one_issue_is_always_listed() -> None:
    huge = {"path": "x" * 500_000, "message": "unknown field.", "code": "unknown_field"}
    (fitted,) = fit_issues([huge, _issue(1)], budget=10, text_limit=100)
    assert fitted["path"] == "x" * 97 + "..."
    assert fitted["message"] == huge["message"]
    assert fit_issues([], 10) == []


def test_escaped_characters_count_as_they_are_sent() -> None:
    # Controls and non-ASCII grow when JSON escapes them (EventBridge's Detail does).
    issues = [_issue(i, path="\x01" * 100) for i in range(100)]
    fitted = fit_issues(issues, 8192)
    assert len(json.dumps(fitted)) <= 8192
