"""Bad input to the core gives a ProblemError naming the job or line and the field."""

from __future__ import annotations

import pytest

from coordination.scheduling import Job, Line, Objective, Problem, ProblemError, Window, solve

L1 = Line("L1")


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (Problem([Job("J1", {})], [L1]), "job J1: processing has no eligible line"),
        (Problem([Job("J1", {"L1": -5})], [L1]), "job J1: processing on line L1 must be >= 1"),
        (Problem([Job("J1", {"L1": 2.5})], [L1]), "job J1: processing on line L1 must be an int"),
        (Problem([Job("J1", {"L1": 5}, release=-1)], [L1]), "job J1: release must be >= 0"),
        (Problem([Job("J1", {"L1": 5}, due=3.0)], [L1]), "job J1: due must be an integer"),
        (Problem([Job("J1", {"L9": 5})], [L1]), "job J1: processing names unknown line 'L9'"),
        (Problem([Job("J1", {"L1": 5}, locked=True)], [L1]), "job J1: locked job without a start"),
        (
            Problem([Job("J1", {"L1": 5}, weight=-1)], [L1]),
            "job J1: weight must be >= 0",
        ),
        (
            Problem([Job("J1", {"L1": 5})], [Line("L1", windows=[Window(5, 5)])]),
            "line L1: window 0 ends at or before its start",
        ),
        (
            Problem(
                [Job("J1", {"L1": 5}, family="A"), Job("J2", {"L1": 5}, family="C")],
                [Line("L1", family_changeover={"A": {"B": 3}, "B": {"A": 3}})],
            ),
            "line L1: family_changeover.* is missing family 'C'",
        ),
        (
            Problem([Job("J1", {"L1": 5})], [L1], Objective("speed")),
            "objective criterion 'speed' unknown",
        ),
        (
            Problem(
                [
                    Job("A", {"L1": 5}, locked=True, start=0),
                    Job("B", {"L1": 5}, locked=True, start=3),
                ],
                [L1],
            ),
            "job B: locked start 3 on line L1 overlaps",
        ),
    ],
)
def test_bad_input_is_named(problem: Problem, message: str) -> None:
    with pytest.raises(ProblemError, match=message.replace("(", r"\(")):
        solve(problem, time_limit=1)


def test_problem_error_is_value_error() -> None:
    assert issubclass(ProblemError, ValueError)
