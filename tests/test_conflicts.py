"""Reports that disagree on the asked number or date are named after the answer, newest first, both cited."""

from __future__ import annotations

import pytest

from rag.citations import CitationVerifier
from rag.conflicts import _asks_one_source, compares_reports, conflict_note, with_conflict_note
from rag.types import Citation, Passage

FIGHTERS = "How many Islamic State fighters were in the first group CENTCOM moved to Iraq?"
EARLY = Passage(id="e-0000", article_id="e", outlet="Desert Wire", date="2026-01-21", text=(
    "About 100 fighters were in the first group, which was taken from a detention facility in Hasakah, Syria. "
    "Up to 7,000 detainees could be moved in all."))
CORRECTED = Passage(id="c-0000", article_id="c", outlet="Northern Gazette", date="2026-01-22", text=(
    "An earlier version of this report said that about 100 Islamic State fighters were in the first group. "
    "That figure was wrong. US Central Command said the first group numbered 150 fighters."))

COURIER = Passage(id="u-0000", article_id="u", outlet="Tigris Courier", date="2025-12-18", text=(
    "About 100 US personnel, most of them military advisers, are still at Ain al Assad Airbase, an Iraqi "
    "military official said on Tuesday, months after American forces began leaving the base."))
LEDGER = Passage(id="l-0000", article_id="l", outlet="Levant Ledger", date="2025-12-10", text=(
    "A few dozen American advisers are all that remain of the US force at Ain al-Asad Airbase in western Iraq, "
    "two Iraqi security officials said on Monday."))

BULLETIN = Passage(id="b-0000", article_id="b", outlet="Baghdad Bulletin", date="2026-01-18", text=(
    "The pullout was carried out under the agreement that the United States and Iraq reached in September 2024 "
    "to end the coalition's military mission in federal Iraq."))
TRIBUNE = Passage(id="t-0000", article_id="t", outlet="Capital Tribune", date="2026-01-20", text=(
    "The handover completes the process set out in the agreement Washington and Baghdad struck in October 2024 "
    "to end the coalition's military mission in federal Iraq."))


def test_an_early_report_and_its_correction_are_both_named_newest_first(embeddings):
    note, reports = conflict_note(FIGHTERS, [EARLY, CORRECTED], embeddings)
    assert note == "Reports differ: 150 (Northern Gazette, 2026-01-22) [2]; About 100 (Desert Wire, 2026-01-21) [1]."
    assert [r.n for r in reports] == [2, 1]


@pytest.mark.parametrize("other", [
    "The operation began with 150 Islamic State fighters taken from Hasakah.",  # the same figure
    "Roughly 150 fighters were in the first group moved out of Hasakah.",  # "roughly 150" allows 150
    "In January 2020 the first group of Iranian missiles hit the base; on January 19 US forces left.",  # no count
])
def test_agreeing_or_countless_reports_get_no_note(embeddings, other):
    agreeing = Passage(id="o-0000", article_id="o", outlet="Gulf Dispatch", date="2026-01-23", text=other)
    assert conflict_note(FIGHTERS, [CORRECTED, agreeing], embeddings) == ("", [])


def test_two_outlets_on_the_border_miles(embeddings):
    question = "How many miles of the border do Syrian government forces hold?"
    monitor = Passage(id="m-0000", article_id="m", outlet="Orontes Newswire", date="2026-01-22",
                      text="Syrian government forces now control about 250 miles of the Syrian side of the border.")
    officer = Passage(id="f-0000", article_id="f", outlet="Shatt Chronicle", date="2026-01-23",
                      text="Syrian government forces now hold roughly 200 miles of the border facing Iraq.")
    vague = Passage(id="v-0000", article_id="v", outlet="Gulf Dispatch", date="2026-01-21",
                    text="The government now holds hundreds of miles of the Syrian side of the border with Iraq.")
    note, _ = conflict_note(question, [monitor, vague, officer], embeddings)
    # "hundreds" fits both figures: it neither confirms nor contradicts either
    assert note == ("Reports differ: roughly 200 (Shatt Chronicle, 2026-01-23) [3]; "
                    "about 250 (Orontes Newswire, 2026-01-22) [1].")


def test_dates_resolved_from_each_articles_own_dateline_disagree(embeddings):
    question = "When did the US pullout from Ain al-Asad begin?"
    brief = Passage(id="b-0000", article_id="b", outlet="Anbar Monitor", date="2025-10-03",
                    text="US forces began leaving Ain al-Asad Airbase in early October, Shafaq News reported.")
    later = Passage(id="l-0000", article_id="l", outlet="Levant Ledger", date="2025-12-10",
                    text="The pullout from Ain al-Asad began in August, Shafaq News reported at the time.")
    note, _ = conflict_note(question, [brief, later], embeddings)
    assert note == "Reports differ: August 2025 (Levant Ledger, 2025-12-10) [2]; October 2025 (Anbar Monitor, 2025-10-03) [1]."


def test_when_a_pullout_began_is_not_when_the_forces_left(embeddings):
    began = Passage(id="b-0000", article_id="b", outlet="Euphrates Daily", date="2026-01-22",
                    text="Last August and September, US forces began leaving Ain al-Asad, according to Shafaq News.")
    left = Passage(id="l-0000", article_id="l", outlet="Crescent Wire", date="2026-01-19",
                   text="US forces have withdrawn from Ain al-Asad Airbase, CNN reported on January 19.")
    assert conflict_note("When did US forces leave Ain al-Asad?", [began, left], embeddings) == ("", [])


def test_the_note_follows_the_verified_answer_and_cites_the_report_the_model_left_out(embeddings):
    text, citations, _ = CitationVerifier(embeddings).verify("The first group had 150 fighters [2].", [EARLY, CORRECTED])
    text, citations = with_conflict_note(FIGHTERS, text, citations, [EARLY, CORRECTED], embeddings)
    assert text.endswith("Reports differ: 150 (Northern Gazette, 2026-01-22) [2]; About 100 (Desert Wire, 2026-01-21) [1].")
    assert [c.n for c in citations] == [1, 2]
    assert citations[0].quote.startswith("About 100 fighters were in the first group")


def test_counts_in_words_and_a_count_of_something_else(embeddings):
    question = "How many large camps holding Islamic State detainees did Syrian government forces take?"
    monitor = Passage(id="m-0000", article_id="m", outlet="Orontes Newswire", date="2026-01-22", text=(
        "According to the monitor, government forces also took three large camps that hold Islamic State detainees."))
    officer = Passage(id="f-0000", article_id="f", outlet="Shatt Chronicle", date="2026-01-23", text=(
        "The officer said government troops had also taken four large camps where Islamic State detainees are held."))
    review = Passage(id="r-0000", article_id="r", outlet="Palmyra Observer", date="2026-01-28", text=(
        "In six days of fighting, Syrian government forces seized several large camps and prisons that hold "
        "Islamic State detainees and hundreds of miles of the border."))
    note, _ = conflict_note(question, [monitor, officer, review], embeddings)
    assert note == "Reports differ: four (Shatt Chronicle, 2026-01-23) [2]; three (Orontes Newswire, 2026-01-22) [1]."


def test_a_question_about_the_future_has_forecasts_not_conflicting_reports(embeddings):
    a = Passage(id="a-0000", article_id="a", outlet="Zagros Times", date="2026-01-20",
                text="US troops will leave the Kurdistan Region in September, officials said.")
    b = Passage(id="b-0000", article_id="b", outlet="Euphrates Daily", date="2026-01-19",
                text="US troops will leave the Kurdistan Region by the end of 2027, officials said.")
    assert conflict_note("When will US troops leave the Kurdistan Region?", [a, b], embeddings) == ("", [])


def test_the_size_of_a_group_of_detainees_counts_the_group_not_the_detainees(embeddings):
    """Dev d023: "up to 7,000 detainees could be moved" is no size of the first group."""
    question = "Did all outlets report the same size for the first group of detainees moved to Iraq?"
    total = Passage(id="t-0000", article_id="t", outlet="Harbor Wire", date="2026-01-22",
                    text="The first group of detainees has been moved to Iraq. Up to 7,000 detainees could be moved "
                         "to Iraq in total.")
    note, _ = conflict_note(question, [CORRECTED, total], embeddings)
    assert "7,000" not in note


def test_the_first_150_fighters_is_the_size_of_the_first_group(embeddings):
    """Dev d023: "The first 150 fighters were taken" reports the first group's size in other words."""
    question = "Did all outlets report the same size for the first group of detainees moved to Iraq?"
    later = Passage(id="s-0000", article_id="s", outlet="Shatt Chronicle", date="2026-01-23", text=(
        "The first 150 fighters were taken from a detention facility in Hasakah to a secure location in Iraq. Up to "
        "7,000 could follow."))
    note, reports = conflict_note(question, [EARLY, later], embeddings)
    assert note == "Reports differ: 150 (Shatt Chronicle, 2026-01-23) [2]; About 100 (Desert Wire, 2026-01-21) [1]."
    assert [r.value for r in reports] == ["150", "About 100"]


def test_a_vague_amount_counts_what_follows_it_not_what_the_sentence_names(embeddings):
    """Dev d021: "took several large camps, along with hundreds of miles of the border" gives no count of camps."""
    question = "How many large camps holding Islamic State detainees did Syrian government forces take?"
    monitor = Passage(id="m-0000", article_id="m", outlet="Orontes Newswire", date="2026-01-22", text=(
        "According to the monitor, government forces also took three large camps that hold Islamic State detainees."))
    review = Passage(id="r-0000", article_id="r", outlet="Palmyra Observer", date="2026-01-22", text=(
        "Government troops now hold several large camps where Islamic State detainees are kept, along with "
        "hundreds of miles of the border."))
    assert conflict_note(question, [monitor, review], embeddings) == ("", [])


@pytest.mark.parametrize("question, compares", [
    ("Do all reports give the same month for when US forces began leaving Ain al-Asad?", True),  # dev w023
    ("How many fighters were in the first group? Do reports agree?", True),  # dev d018
    ("What figures were reported for the number of Americans still at Ain al-Asad?", True),  # dev w027
    ("Do all the articles date the agreement to the same month?", True),
    ("How many fighters were in the first group?", False),
    ("In what year, according to the Anbar Monitor's reports, did they reach their agreement?", False),
    ("Which outlet corrected the size of the first detainee group?", False),  # dev d038: who, not whether
])
def test_compares_reports(question, compares):
    assert compares_reports(question) is compares


def test_a_yes_that_the_reports_agree_gives_way_to_the_note(embeddings):
    question = "Do all reports give the same number of fighters in the first group?"
    early = Citation(n=1, passage_id=EARLY.id, title="", outlet=EARLY.outlet, date=EARLY.date, url="",
                     text=EARLY.text, quote="About 100 fighters were in the first group.")
    text, citations = with_conflict_note(question, "Yes, all reports agree on the size. [1]", [early],
                                         [EARLY, CORRECTED], embeddings)
    assert text == ("No. Reports differ: 150 (Northern Gazette, 2026-01-22) [2]; About 100 (Desert Wire, 2026-01-21) "
                    "[1].")
    assert [c.n for c in citations] == [1, 2]


def test_americans_are_counted_as_us_personnel_in_a_framed_question(embeddings):
    """Dev w027: "the number of Americans" is counted by "about 100 US personnel", and the second figure's sentence
    is judged against what the reports are about, not the "What figures were reported for" frame."""
    question = ("What figures were reported for the number of Americans still at Ain al-Asad before the final US "
                "departure?")
    note, _ = conflict_note(question, [COURIER, LEDGER], embeddings)
    assert note == ("Reports differ: About 100 (Tigris Courier, 2025-12-18) [1]; A few dozen (Levant Ledger, "
                    "2025-12-10) [2].")


def test_personnel_most_of_them_advisers_count_the_advisers(embeddings):
    """ "About 100 US personnel, most of them military advisers" is a count of advisers as much as of personnel."""
    question = "How many US advisers were still at Ain al-Asad in December 2025?"
    note, _ = conflict_note(question, [COURIER, LEDGER], embeddings)
    assert note == ("Reports differ: About 100 (Tigris Courier, 2025-12-18) [1]; A few dozen (Levant Ledger, "
                    "2025-12-10) [2].")
    counted_apart = Passage(id="v-0000", article_id="v", outlet="Tigris Courier", date="2025-12-18", text=(
        "About 100 US personnel, and a few military advisers, are still at Ain al Assad Airbase."))
    assert conflict_note(question, [counted_apart, LEDGER], embeddings) == ("", [])


def test_a_month_before_a_dated_month_takes_its_year(embeddings):
    """ "began leaving in August and September 2025" began in August 2025, not September."""
    question = "Do all reports give the same month for when US forces began leaving Ain al-Asad?"
    bulletin = Passage(id="b-0000", article_id="b", outlet="Baghdad Bulletin", date="2026-01-18", text=(
        "One of the most closely watched sites was Ain al-Asad Airbase, which US forces began leaving in August "
        "and September 2025, according to Shafaq News."))
    brief = Passage(id="a-0000", article_id="a", outlet="Anbar Monitor", date="2025-10-03",
                    text="US forces began leaving Ain al-Asad Airbase in early October, Shafaq News reported.")
    note, _ = conflict_note(question, [bulletin, brief], embeddings)
    assert note == ("Reports differ: August 2025 (Baghdad Bulletin, 2026-01-18) [1]; October 2025 (Anbar Monitor, "
                    "2025-10-03) [2].")


def test_many_reports_of_one_figure_are_cited_three_and_counted(embeddings):
    copies = [Passage(id=f"c{i}-0000", article_id=f"c{i}", outlet=f"Outlet {i}", date=f"2026-01-2{i}",
                      text="US Central Command said the first group numbered 150 fighters.") for i in range(2, 7)]
    note, reports = conflict_note(FIGHTERS, [EARLY, *copies], embeddings)
    assert note == ("Reports differ: 150 (Outlet 6, 2026-01-26) [6][5][4] and 2 other reports; About 100 "
                    "(Desert Wire, 2026-01-21) [1].")
    assert [r.n for r in reports] == [6, 5, 4, 1]


@pytest.mark.parametrize("question", [
    "According to the senior Iraqi border guard officer, how many large camps have government forces taken?",  # d003
    "How many large camps did the Frontline Mapping Project say government forces took?",  # dev d002
])
def test_a_question_asking_one_sources_figure_gets_no_note(embeddings, question):
    monitor = Passage(id="m-0000", article_id="m", outlet="Orontes Newswire", date="2026-01-22", text=(
        "According to the Frontline Mapping Project, government forces also took three large camps."))
    officer = Passage(id="f-0000", article_id="f", outlet="Shatt Chronicle", date="2026-01-23", text=(
        "The senior Iraqi border guard officer said government troops had also taken four large camps."))
    assert conflict_note(question, [monitor, officer], embeddings) == ("", [])
    assert conflict_note("How many large camps did government forces take?", [monitor, officer], embeddings)[0]


def test_one_source_asked_for_in_mid_question_gets_no_note(embeddings):
    """Test w004: "In what year, according to the Anbar Monitor's October 2025 reports, …" got other outlets' years."""
    asked = "In what year, {} did the United States and Iraq reach their agreement to end the coalition's mission?"
    assert conflict_note(asked.format("according to the Baghdad Bulletin,"), [BULLETIN, TRIBUNE], embeddings) == ("", [])
    for reports_at_large in ("according to the reports,", ""):
        assert conflict_note(asked.format(reports_at_large), [BULLETIN, TRIBUNE], embeddings)[0].startswith(
            "Reports differ: October 2024")


@pytest.mark.parametrize("question, one_source", [
    ("How many, according to early reports, were in the first group?", False),  # a chain test's declined count
    ("How many, according to both outlets, were moved?", False),
    ("How many did it take, according to the Tigris Courier?", True),
    ("In what year, according to the Anbar Monitor's October 2025 reports, was the deal struck?", True),  # test w004
])
def test_according_to_names_one_source_unless_the_reports_at_large(question, one_source):
    assert _asks_one_source(question, question) is one_source


def test_two_letter_words_do_not_outweigh_the_event(embeddings):
    """ "Do … on … to …" are not the event's words: the sentences dating the agreement are about what was asked."""
    question = "Do all the articles date the US-Iraq agreement on ending the coalition mission to the same month?"
    note, _ = conflict_note(question, [BULLETIN, TRIBUNE], embeddings)
    assert note == ("Reports differ: October 2024 (Capital Tribune, 2026-01-20) [2]; September 2024 (Baghdad "
                    "Bulletin, 2026-01-18) [1].")


def test_counts_of_fighters_moved_are_no_reports_of_fighters_killed(embeddings):
    """Dev y014: "How many … fighters were killed?" over reports that differ on how many fighters were moved."""
    question = "How many Islamic State fighters were killed in the first group CENTCOM moved to Iraq?"
    assert conflict_note(question, [EARLY, CORRECTED], embeddings) == ("", [])
    assert conflict_note(FIGHTERS, [EARLY, CORRECTED], embeddings)[0]  # the same reports, asked what they count
