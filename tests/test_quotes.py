"""The quote shown for a cited sentence states its names, numbers and dates; a photo credit states nothing; a span
worked out from two cited dates is kept. Cases from markets, disasters, sports, science and courts news."""

from rag.dates import dates_in, holds_date
from rag.quotes import holds_claim, without_credits, without_worked_out_spans
from rag.types import Passage


def _passage(text: str, date: str, outlet: str = "Desk") -> Passage:
    return Passage(id="g1", article_id="g", title="", outlet=outlet, date=date, text=text)


def test_dates_are_compared_as_dates():
    assert dates_in("The probe reached orbit on Nov. 18, NASA said.", "2024-11-20") == [(2024, 11, 18)]
    assert holds_date((2024, 11, 18), dates_in("On 18 November the probe reached orbit.", "2024-11-20"))
    assert holds_date((2024, 11), dates_in("It launched on Nov. 18.", "2024-11-20"))  # finer holds coarser
    assert not holds_date((2024, 11, 18), dates_in("It launched in November.", "2024-11-20"))


def test_a_photo_credit_states_nothing():
    assert "Kaya" not in without_credits("Photo: Ahmet Kaya/Anadolu")
    assert "Ortiz" not in without_credits("Defender Tom Baker was carried off (AP Photo/Lena Ortiz).")
    assert not holds_claim("The baby was rescued by Ahmet Kaya.", "Photo: Ahmet Kaya/Anadolu", "2023-02-07")


# markets: the date is in the passage, but in a sentence about another deal
TAKEOVER = _passage("Brightwater shareholders approved the takeover by Halden Foods in May. "
                    "Analysts expect the combined company to cut costs. "
                    "The regulator cleared an unrelated port deal on June 3.", "2025-06-05")
TAKEOVER_CLOSED = _passage("Halden Foods completed its takeover of Brightwater on Jun. 3, the company said. "
                           "Brightwater shares stopped trading.", "2025-06-05")


def test_a_date_from_another_sentence_does_not_hold(verifier):
    claim = "Halden Foods completed its takeover of Brightwater on June 3, 2025 [1]."
    text, citations, _ = verifier.verify(claim, [TAKEOVER], "When did the Brightwater takeover close?")
    assert "June 3" not in text  # the date no sentence gives of the takeover is cut (or the sentence struck)
    assert all("port deal" not in c.quote for c in citations)


def test_a_date_a_sentence_states_in_its_own_words_holds(verifier):
    claim = "Halden Foods completed its takeover of Brightwater on June 3, 2025 [1]."
    text, citations, unsupported = verifier.verify(claim, [TAKEOVER_CLOSED], "When did the Brightwater takeover close?")
    assert not unsupported and [c.n for c in citations] == [1]
    assert citations[0].quote.startswith("Halden Foods completed its takeover of Brightwater on Jun. 3")


# disasters and sports: a name the passage holds only in a credit line
QUAKE = _passage("Photo: Ahmet Kaya/Anadolu Agency. Rescuers pulled a 10-day-old baby alive from the rubble of "
                 "a building in Hatay on Tuesday, 90 hours after the earthquake.", "2023-02-10")
MATCH = _passage("Photo: Lena Ortiz/Getty Images. Defender Tom Baker was carried off injured in the 80th minute "
                 "as Harbour City drew 1-1 with Eastfield.", "2025-03-09")


def test_a_name_from_a_photo_credit_is_not_who_it_happened_to(verifier):
    _, citations, unsupported = verifier.verify(
        "Ahmet Kaya was rescued alive from the rubble in Hatay [1].", [QUAKE], "Who was rescued alive in Hatay?")
    assert citations == [] and unsupported
    _, citations, unsupported = verifier.verify(
        "Lena Ortiz was carried off injured in the 80th minute [1].", [MATCH], "Who was carried off injured?")
    assert citations == [] and unsupported


def test_the_person_the_passage_says_it_happened_to_is_kept(verifier):
    text, citations, unsupported = verifier.verify(
        "Defender Tom Baker was carried off injured in the 80th minute [1].", [MATCH], "Who was carried off injured?")
    assert not unsupported and [c.n for c in citations] == [1] and "Tom Baker" in citations[0].quote
    text, citations, unsupported = verifier.verify(
        "Rescuers pulled a 10-day-old baby alive from the rubble in Hatay [1].", [QUAKE], "Who was rescued in Hatay?")
    assert not unsupported and "baby" in citations[0].quote


# sports and courts: a span worked out from the two dates the passage states
INJURY = _passage("Forward Diego Ruiz tore a knee ligament on March 2, 2024. "
                  "He returned to the Harbour City squad on February 1, 2025.", "2025-02-02")
TRIAL = _passage("The fraud trial of the former bank chief opened on March 4, 2025. "
                 "The jury returned its verdict on March 7, 2025.", "2025-03-08")


def test_a_span_between_two_cited_dates_is_kept(verifier):
    _, citations, unsupported = verifier.verify(
        "Ruiz returned to the squad 11 months after tearing a knee ligament [1].", [INJURY], "When did Ruiz return?")
    assert not unsupported and [c.n for c in citations] == [1]
    _, citations, unsupported = verifier.verify(
        "The jury returned its verdict 3 days after the trial opened [1].", [TRIAL], "When was the verdict?")
    assert not unsupported and [c.n for c in citations] == [1]


def test_a_span_the_dates_do_not_give_is_still_struck(verifier):
    _, citations, unsupported = verifier.verify(
        "Ruiz returned to the squad 14 months after tearing a knee ligament [1].", [INJURY], "When did Ruiz return?")
    assert citations == [] and unsupported
    _, citations, unsupported = verifier.verify(
        "The jury returned its verdict 5 days after the trial opened [1].", [TRIAL], "When was the verdict?")
    assert citations == [] and unsupported


def test_only_spans_between_stated_dates_are_taken_out():
    texts = [(INJURY.text, INJURY.date)]
    assert "11 months" not in without_worked_out_spans("He was out for 11 months.", texts)
    assert "eleven months" not in without_worked_out_spans("He was out for eleven months.", texts)
    assert without_worked_out_spans("He was out for a few months.", texts) == "He was out for a few months."


# courts: the two figures of a change stand in two adjacent sentences, and the answer that gives both holds
FINE = _passage("A lower court first fined Corvell Mining $2 million over the spill. "
                "On appeal the fine was raised to $5 million.", "2025-04-10")


def test_two_adjacent_sentences_hold_what_they_state_together(verifier):
    text, citations, unsupported = verifier.verify(
        "The fine on Corvell Mining was raised from $2 million to $5 million on appeal [1].", [FINE],
        "How did the appeal change the fine?")
    assert not unsupported and "$2 million" in citations[0].quote and "$5 million" in citations[0].quote


# science: one answer sentence joins two dates from sentences apart, each stated of what the answer says of it
PROBE = _passage("The Lyra probe launched from Kourou on March 3, 2024. Engineers tested its cameras for weeks. "
                 "Mission controllers said the probe had few problems. Lyra entered orbit around Mars on "
                 "Nov. 18, the agency said.", "2024-11-20")


def test_facts_from_sentences_apart_hold_when_each_is_stated_of_what_the_answer_says(verifier):
    claim = "The Lyra probe launched on March 3, 2024 and entered orbit around Mars on November 18, 2024 [1]."
    _, citations, unsupported = verifier.verify(claim, [PROBE], "When did Lyra reach Mars?")
    assert not unsupported and "March 3, 2024" in citations[0].quote and "Nov. 18" in citations[0].quote
    wrong = "The Lyra probe launched on March 3, 2024 and entered orbit around Mars on November 19, 2024 [1]."
    _, citations, unsupported = verifier.verify(wrong, [PROBE], "When did Lyra reach Mars?")
    assert citations == [] and unsupported
