import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.citations import lexical_support
from rag.narration import strip_narration, well_formed
from rag.text import split_sentences
from rag.types import Passage

PASSAGES = [
    Passage(id="p1", article_id="a1", title="Transfers begin", outlet="Desk", date="2026-01-21",
            text="CENTCOM began by moving 150 Islamic State fighters from a prison in Hasakah. "
                 "Up to 7,000 detainees could be moved in total."),
    Passage(id="p2", article_id="a2", title="Base handed over", outlet="Desk", date="2026-01-19",
            text="US forces left Ain al-Asad airbase, Iraq's Defense Ministry said. They moved to the Kurdistan Region."),
]



def test_numbers_must_match_for_lexical_support():
    assert lexical_support("CENTCOM moved 150 fighters.", PASSAGES[0].text) > 0.5
    assert lexical_support("CENTCOM moved 250 fighters.", PASSAGES[0].text) == 0.0


def test_right_citation_is_kept_with_its_quote(verifier):
    text, citations, unsupported = verifier.verify("CENTCOM moved 150 fighters from Hasakah [1].", PASSAGES)
    assert text.endswith("[1]") and not unsupported
    assert citations[0].n == 1 and "150" in citations[0].quote


def test_right_fact_under_wrong_marker_is_reattributed(verifier):
    text, citations, _ = verifier.verify("Up to 7,000 detainees could be moved [2].", PASSAGES)
    assert "[1]" in text and "[2]" not in text
    assert [c.n for c in citations] == [1]
    assert "7,000" in citations[0].quote


def test_uncited_supported_sentence_gets_a_citation(verifier):
    text, citations, _ = verifier.verify("US forces moved to the Kurdistan Region.", PASSAGES)
    assert text.endswith("[2]") and citations[0].passage_id == "p2"


def test_unsupported_sentence_is_flagged_not_cited(verifier):
    text, citations, unsupported = verifier.verify(
        "CENTCOM moved 150 fighters [1]. The president of France visited Paris zoo on Monday [2].", PASSAGES
    )
    assert unsupported == ["The president of France visited Paris zoo on Monday."]
    assert [c.n for c in citations] == [1]
    assert "Paris zoo on Monday." in text and "Monday. [2]" not in text


@pytest.mark.parametrize("raw, clean", [
    ("The first detainees came from Hasakah, Syria, as stated in. [1]", "The first detainees came from Hasakah, Syria. [1]"),
    ("Mosul was a major defeat in 2017. [1] This is stated in the passage. [1]", "Mosul was a major defeat in 2017. [1]"),
    ("According to the articles, the number could reach 7,000. [1]", "The number could reach 7,000. [1]"),
    ("According to CENTCOM, up to 7,000 could be moved [1].", "According to CENTCOM, up to 7,000 could be moved [1]."),
    ("The base is in Anbar, according to passage 2 and 3. [2]", "The base is in Anbar. [2]"),
    # issue 12's garbles: each came out as ", as many as ...", "In, up to ...", "From, only ...", "... from."
    ("According to the passage in [1], as many as 7,000 detainees could be moved to Iraq.",
     "As many as 7,000 detainees could be moved to Iraq. [1]"),
    ("According to [1], up to 7,000 detainees could be held in Iraqi facilities.",
     "Up to 7,000 detainees could be held in Iraqi facilities. [1]"),
    ("In [1], up to 7,000 detainees could be moved.", "Up to 7,000 detainees could be moved. [1]"),
    ("From [2], only a small number of Americans remained at the base.",
     "Only a small number of Americans remained at the base. [2]"),
    ("US troops left Iraq in 2011, eight years after the 2003 invasion from [1].",
     "US troops left Iraq in 2011, eight years after the 2003 invasion. [1]"),
    ('The passage states: "Up to 7,000 detainees could be moved to Iraq." [1]', "Up to 7,000 detainees could be moved to Iraq. [1]"),
    ("Passage [2] says that US forces left Ain al-Asad.", "US forces left Ain al-Asad. [2]"),
    ("The number of detainees, according to [1], is 7,000.", "The number of detainees is 7,000. [1]"),
    ("Based on the information provided, 150 fighters were moved [1].", "150 fighters were moved. [1]"),
    ("This information comes from [1].", ""),
    # dev w043 and d032: the sentence that narrates quotes the evidence; the quote stays, the narration goes
    ('Yes, Iraqi troops can keep the country safe. This is stated in the passage from [2] on January 20, 2026, '
     'where it says "Its security forces are capable of stopping the group from rebuilding. "',
     "Yes, Iraqi troops can keep the country safe. Its security forces are capable of stopping the group from "
     "rebuilding. [2]"),
    ("The Frontline Mapping Project's estimate came first. This can be seen in the passage from [1] which states "
     '"Syrian government forces now control about 250 miles, the monitor said on Thursday [January 22, 2026]."',
     "The Frontline Mapping Project's estimate came first. Syrian government forces now control about 250 miles, "
     "the monitor said on Thursday [January 22, 2026]. [1]"),
    ("According to context piece 2, up to 7,000 could be moved [2].", "Up to 7,000 could be moved. [2]"),
    # dev d045: a quote after its subject is a predicate ("Met the forces …" is no sentence): it goes with the narration
    ("Yes, al-Sudani went to the border. This can be seen from the passage [1] which states that he "
     '"met the forces deployed along the frontier" and "stopped at Ain al-Assad airbase."',
     "Yes, al-Sudani went to the border."),
    # the reference inside the narrating subject goes first, then the narration it leaves
    ('The article from passage [1] states that "Ain al-Assad was hit by Iranian missiles in January 2020."',
     "Ain al-Assad was hit by Iranian missiles in January 2020. [1]"),
    # test d035 and x022 (2026-12-03): a closing quote set apart from its stop left the next sentence's narration
    # uncut; a list item went on with the item before it; the source named in a clause at the sentence's end
    ('- Her visit came before the offensive began.\n- by 3 days.\n\nThe passage [3] states that "She toured the '
     'border on January 21. " The passage [4] states that "By January 21, the SDF had been reduced to enclaves. "',
     "- Her visit came before the offensive began, by 3 days. She toured the border on January 21. [3] By January "
     "21, the SDF had been reduced to enclaves. [4]"),
    ("He had pushed for it for several years, as evidenced by the passage from the Defense Ministry that reported "
     "that American forces were leaving in August 2025. [1]", "He had pushed for it for several years. [1]"),
    # test w028, dev w008 and x001: the passage's own date after its marker is narration too ("came first, from
    # January 2020." was left, and read as the event's date)
    ("The defeat in the Battle of Mosul came first, as stated in passage [3] from January 2020.",
     "The defeat in the Battle of Mosul came first. [3]"),
    ("The killing of Qasem Soleimani followed in passage [4] from January 18, 2026.",
     "The killing of Qasem Soleimani followed. [4]"),
    ("The pullout began in August, as reported in passage [2] dated 2025-10-07.", "The pullout began in August. [2]"),
    # not narration: left as the model wrote it
    ("In 2003, US forces invaded Iraq [1].", "In 2003, US forces invaded Iraq [1]."),
    ("According to the text of the agreement, troops leave by 2026 [1].",
     "According to the text of the agreement, troops leave by 2026 [1]."),
])
def test_narration_of_sources_is_removed(raw, clean):
    assert strip_narration(raw) == clean


# Facts as the bundled model states them, and the ways it was seen to narrate around them.
FACTS = [
    "as many as 7,000 Islamic State detainees could be moved to Iraq",
    "up to 7,000 detainees could be held in facilities under Iraqi control",
    "only a small number of Americans, mostly advisers, remained at Ain al-Asad",
    "US forces left Ain al-Asad on January 19, 2026",
    "the last US troops left Iraq in December 2011, eight years after the 2003 invasion",
    "Iraq's Security Media Cell announced that the coalition had evacuated its bases",
]
LEADS = ["", "According to the passage in {m}, ", "According to {m}, ", "In {m}, ", "From {m}, ", "As stated in {m}, ",
         "Based on the articles, ", "The passage states: ", "The passage states that ", "Passage {m} says that ",
         "According to passage 2, ", "Based on the information provided, ", "The first article mentions that "]
TAILS = [" {m}.", ".{m}", " from {m}.", " in {m}.", ", as stated in {m}.", ", according to the passage {m}.",
         " (see {m}).", ", as mentioned in passage 2 {m}.", ", according to the articles. {m}",
         ", as evidenced by the passage from the Defense Ministry that reported it {m}.", ' {m}. "']


@given(fact=st.sampled_from(FACTS), lead=st.sampled_from(LEADS), tail=st.sampled_from(TAILS),
       markers=st.sampled_from(["[1]", "[2]", "[1][2]", " [1]"]), quoted=st.booleans())
def test_narration_clean_up_leaves_well_formed_sentences_with_their_facts_and_markers(fact, lead, tail, markers, quoted):
    body = f'"{fact[:1].upper()}{fact[1:]}."' if quoted and lead.endswith(": ") else fact
    body = body if lead else body[:1].upper() + body[1:]
    raw = (lead + body + ("" if body.endswith('."') else tail)).format(m=markers.strip())
    cleaned = strip_narration(raw)
    bare = re.sub(r"\s*\[\d+\]", "", cleaned)
    assert well_formed(bare), (raw, cleaned)
    assert not re.match(r"^(?:in|from|according to|as stated in)\s*,", bare, re.IGNORECASE), (raw, cleaned)
    assert fact[1:].lower() in bare.lower(), (raw, cleaned)  # the fact itself is never cut
    assert "passage" not in bare.lower() and "the articles" not in bare.lower(), (raw, cleaned)
    assert set(re.findall(r"\[\d\]", cleaned)) <= set(re.findall(r"\[\d\]", raw)), (raw, cleaned)
    assert re.findall(r"\[\d\]", cleaned) or not re.findall(r"\[\d\]", raw), (raw, cleaned)  # markers survive


@given(st.lists(st.sampled_from(["Troops", "left", " ", ",", ".", "[1]", "[2]", ":", '"', "In ", "From ", "according to ",
                                  "the passage ", "passage 2 ", "states ", "in ", "as stated in "]), max_size=20).map("".join))
def test_narration_clean_up_never_garbles_what_it_changes(text):
    cleaned = strip_narration(text)
    for sentence in split_sentences(cleaned):
        assert well_formed(re.sub(r"\s*\[\d+\]", "", sentence)) or sentence in text, (text, cleaned)


def test_a_sentence_the_model_repeats_is_said_once(verifier):
    looped = " ".join(["CENTCOM moved 150 fighters from Hasakah [1]."] * 5)
    text, citations, _ = verifier.verify(looped, PASSAGES)
    assert text == "CENTCOM moved 150 fighters from Hasakah. [1]" or text.count("150 fighters") == 1
    assert [c.n for c in citations] == [1]


def test_a_span_worked_out_from_two_dates_is_not_a_number_the_passage_lacks(verifier):
    dated = [Passage(id="s", article_id="s", outlet="Desk", date="2026-01-21", text=(
        "Iraq's Security Media Cell said on January 18 that the coalition had left all its bases in federal Iraq. "
        "CENTCOM announced on January 21 that it was moving Islamic State detainees to Iraq."))]
    question = "How many days after the Security Media Cell's statement did CENTCOM announce the transfer?"
    claim = "CENTCOM announced the transfer 3 days after the Security Media Cell said the coalition had left [1]."
    _, citations, _ = verifier.verify(claim, dated, question)
    assert [c.n for c in citations] == [1]
    # no span asked: the span is still the one between the two dates the passage states, and is kept
    _, citations, _ = verifier.verify(claim, dated, "What did CENTCOM announce?")
    assert [c.n for c in citations] == [1]
    _, citations, unsupported = verifier.verify(claim.replace("3 days", "5 days"), dated, "What did CENTCOM announce?")
    assert citations == [] and unsupported  # a span the dates do not give is a number the passage lacks


ADVISERS = [
    Passage(id="t1", article_id="t", title="About 100 Americans still at Ain al Assad", outlet="Tigris Courier",
            date="2025-12-18", text="About 100 US personnel, most of them advisers, were still at Ain al Assad."),
    Passage(id="l1", article_id="l", title="A few dozen US advisers kept at Ain al-Asad", outlet="Levant Ledger",
            date="2025-12-10", text="A few dozen US advisers were still at Ain al-Asad, two Iraqi officials said."),
    Passage(id="e1", article_id="e", title="Advisers stay", outlet="Euphrates Daily", date="2025-12-19",
            text="The Tigris Courier said about 100 US personnel were still at Ain al Assad."),
]


def test_a_claim_naming_an_outlet_holds_only_by_that_outlets_report(verifier):
    """Dev w046: "The Levant Ledger said about 100" under the Tigris Courier's passage; the Ledger said a few dozen."""
    text, citations, unsupported = verifier.verify(
        "The Levant Ledger said about 100 US personnel were still at Ain al Assad [1].", ADVISERS)
    assert unsupported == ["The Levant Ledger said about 100 US personnel were still at Ain al Assad."]
    assert citations == []
    # the outlet's own report, or another that names it as its source, holds it
    text, citations, unsupported = verifier.verify(
        "The Tigris Courier said about 100 US personnel were still at Ain al Assad [3].", ADVISERS)
    assert not unsupported and [c.n for c in citations] == [3]
    text, citations, unsupported = verifier.verify(
        "The Levant Ledger said a few dozen US advisers were still at Ain al-Asad [1].", ADVISERS)
    assert not unsupported and [c.n for c in citations] == [2]


CREDITED = [
    Passage(id="d1", article_id="d", title="Few Americans left at Ain al Assad", outlet="Desert Wire",
            date="2025-12-15", text="Only a small number of Americans are still at Ain al Assad Airbase in western "
                                    "Iraq, Arab News has reported, after most US forces left the base."),
    Passage(id="t2", article_id="t", title="About 100 Americans still at Ain al Assad", outlet="Tigris Courier",
            date="2025-12-18", text="About 100 US personnel, most of them military advisers, are still at Ain al "
                                    "Assad Airbase, an Iraqi military official said on Tuesday."),
]


def test_which_outlet_answer_gets_the_outlet_the_stating_sentence_credits(verifier):
    """Dev q07: the Tigris Courier named for a fact that a Desert Wire story credits to Arab News."""
    question = "Which outlet reported that only a small number of Americans were still at the base?"
    claim = "The Tigris Courier reported that only a small number of Americans were still at Ain al Assad Airbase [2]."
    text, citations, unsupported = verifier.verify(claim, CREDITED, question)
    assert "Arab News has reported" in text and text.endswith("[1]") and not unsupported
    assert [c.n for c in citations] == [1]
    # a claim naming the credited source, or another question, is left as the model wrote it
    right = "Arab News reported that only a small number of Americans were still at Ain al Assad Airbase [1]."
    assert verifier.verify(right, CREDITED, question)[0] == right.replace(" [1].", ". [1]")
    assert "Tigris Courier" in verifier.verify(claim, CREDITED, "How many Americans were still at the base?")[0]
