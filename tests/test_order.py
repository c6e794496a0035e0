import pytest

from rag.order import worked_out_order

W031 = "Did US forces begin leaving Ain al-Asad before or after the US and Iraq issued their joint statement?"


def test_the_order_the_dates_imply_is_said_when_the_answer_joins_them_wrongly():
    """Dev w031: both dates right, joined by "followed by" the wrong way round."""
    answer = ("The US and Iraq issued their joint statement in November 2025, which was followed by the withdrawal "
              "of coalition forces from Ain al-Asad Airbase in August 2025. [2]")
    assert worked_out_order(W031, answer) == "By the dates given, before: August 2025 is earlier than November 2025."


def test_after_and_day_precision():
    question = "Did CENTCOM announce the transfer before or after the coalition left its bases?"
    answer = "CENTCOM announced the transfer on January 21, 2026 [1]. The coalition left its bases on January 18, 2026 [2]."
    assert worked_out_order(question, answer) == ("By the dates given, after: January 21, 2026 is later than "
                                                  "January 18, 2026.")


@pytest.mark.parametrize("question, answer", [
    (W031, "US forces began leaving Ain al-Asad in August 2025, before the joint statement in November 2025 [1]."),
    (W031, "US forces began leaving Ain al-Asad in 2025, and the US and Iraq issued their statement in November 2025."),
    (W031, "US forces began leaving Ain al-Asad in August 2025 [1]."),  # the other event is undated
    (W031, "US forces began leaving Ain al-Asad in August 2025 and in October 2025; the joint statement came in "
           "November 2025."),  # two dates for one event: which one is meant is not known
    ("When did US forces begin leaving Ain al-Asad?", "US forces began leaving in August 2025; the joint statement "
                                                      "came in November 2025."),
])
def test_no_order_is_added(question, answer):
    """Already said, dates equal at their precision, an event without exactly one date, or no before-or-after."""
    assert worked_out_order(question, answer) == ""
