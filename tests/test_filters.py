"""Dates in filters: the CLI, the API, the chat and the chain check them in one place (rag.filters), alike."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from rag.errors import QuestionError
from rag.filters import Filters, date_problem, range_problem
from ui.api import AskRequest, FiltersIn
from ui.cli import cli

BAD = "2026/01/19"
SAYS = "must be a date like 2026-01-19 (YYYY-MM-DD), not '2026/01/19'"


@pytest.mark.parametrize("text", ["", "  ", None, "2026-01-19", " 2026-01-19 "])
def test_blank_or_iso_dates_are_fine(text):
    assert date_problem(text, "Date from") is None


@pytest.mark.parametrize("text", [BAD, "19/01/2026", "2026-02-30", "2026-1-9", "yesterday"])
def test_other_dates_are_refused_with_the_form_to_use(text):
    assert "must be a date like 2026-01-19 (YYYY-MM-DD)" in date_problem(text, "Date from")


def test_a_range_that_ends_before_it_starts_is_refused():
    assert range_problem("2026-01-20", "2026-01-19", ("--since", "--until")) == "--since is after --until."
    assert range_problem("2026-01-19", "2026-01-19", ("--since", "--until")) is None


def test_filters_refuse_a_bad_date_and_keep_a_good_one():
    with pytest.raises(QuestionError, match=re.escape("date_from " + SAYS)):
        Filters(date_from=BAD)
    assert Filters(date_from=" 2026-01-19 ", date_to="").date_from == "2026-01-19"
    assert Filters(date_to="").date_to is None and Filters().chroma_where() is None


def test_ask_with_a_slashed_date_says_which_option_and_the_form(tmp_path):
    result = CliRunner().invoke(cli, ["ask", "When did US forces leave Ain al-Asad?", "--since", BAD])
    assert result.exit_code == 2
    assert f"--since {SAYS}" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    reversed_range = CliRunner().invoke(cli, ["ask", "q", "--since", "2026-01-20", "--until", "2026-01-19"])
    assert reversed_range.exit_code == 2 and "--since is after --until." in reversed_range.output


def test_the_api_and_the_chat_say_the_same():
    from ui.chat import check_chat_inputs

    with pytest.raises(ValueError, match=re.escape("date_from " + SAYS)):
        AskRequest(question="q", filters=FiltersIn(date_from=BAD))
    with pytest.raises(ValueError, match="date_from is after date_to"):
        FiltersIn(date_from="2026-01-20", date_to="2026-01-19")
    assert FiltersIn(date_from="2026-01-19").as_dict() == {
        "date_from": "2026-01-19", "date_to": None, "outlet": None, "article_ids": [],
    }
    checks = check_chat_inputs("Who commands CENTCOM?", False, BAD, "")
    assert checks[2]["message"] == f"Date from {SAYS}"


def test_the_chain_refuses_a_bad_date_as_a_question_error():
    from rag.chain import read_input

    with pytest.raises(QuestionError, match=re.escape("date_from " + SAYS)):
        read_input({"question": "q", "filters": {"date_from": BAD}})
