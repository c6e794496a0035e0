"""Answers that are right, not only cited: polarity, number qualifiers, the slot a question asks to fill.

Real MiniLM embeddings throughout; the chain tests use scripted model replies only to fix what the model says.
"""

import pytest

from rag.citations import _restates
from rag.claims import (
    corrected_by_source,
    denies_the_asked,
    echoes_question,
    match_qualifiers,
    no_for_another_value,
    not_told,
    polarity_conflict,
)
from rag.dates import all_past, stated_dates
from rag.prompts import ABSTAIN_TEXT
from rag.questions import (
    answers_the_question,
    asked_action,
    asked_outlets,
    asked_thing,
    asks_duration,
    asks_future_time,
    covers_asked_action,
    covers_asked_thing,
    covers_said_topic,
    named_outlets,
    names_asked_place,
    rewrite_keeps_names,
    unmentioned_names,
    widened_to_year,
)
from rag.types import Passage

from test_chain import sample_store, scripted  # noqa: F401 - sample_store is a fixture

THREAT = Passage(id="t", article_id="a1", title="Iraq takes custody", outlet="Desk", date="2026-01-21", text=(
    "Iraq has agreed to take custody of the detainees. Iraqi officials say the group no longer represents a "
    "strategic threat, and that Iraqi forces can stop it from returning."))
PEAK = Passage(id="p", article_id="a2", title="Explainer", outlet="Desk", date="2026-01-20", text=(
    "At the height of the war the US had about 62,000 troops in Iraq. Up to 7,000 detainees could be moved."))
QUESTION = "Does Iraq still see the Islamic State as a strategic threat?"



# --- polarity -----------------------------------------------------------------------------------------------


def test_a_yes_against_a_no_longer_is_corrected_to_the_passage(verifier):
    text, citations, unsupported = verifier.verify("Yes, Iraq still sees it as a strategic threat [1].", [THREAT], QUESTION)
    assert text.startswith("No: ") and "no longer represents a strategic threat" in text and text.endswith("[1]")
    assert "Yes" not in text and "still sees" not in text and not unsupported
    assert "no longer" in citations[0].quote


def test_a_yes_before_the_passage_own_no_longer_becomes_no(verifier):
    # the bundled model's own answer to QUESTION, seen on the sample corpus
    raw = "Yes, Iraqi officials say the group no longer represents a strategic threat, and that Iraqi forces can stop it. [1]"
    text, _, _ = verifier.verify(raw, [THREAT], QUESTION)
    assert text.startswith("No: Iraqi officials say the group no longer represents a strategic threat")


def test_the_right_polarity_is_kept_as_written(verifier):
    answer = "No, Iraqi officials say the group no longer represents a strategic threat [1]."
    text, citations, _ = verifier.verify(answer, [THREAT], QUESTION)
    assert text == "No, Iraqi officials say the group no longer represents a strategic threat. [1]"
    assert [c.n for c in citations] == [1]


@pytest.mark.parametrize("claim, source, conflict", [
    ("Iraq still sees the group as a strategic threat.", THREAT.text, True),
    ("Iraq does not consider the group a strategic threat anymore.", THREAT.text, False),
    ("Iraqi forces can stop the group from returning.", THREAT.text, False),  # the negation governs other words
    ("The ministry did not confirm the move.", "The ministry confirmed the move on Sunday.", True),
    ("They did not leave the Kurdistan Region.", "They moved to facilities in the Kurdistan Region.", False),
    ("They remain inside the country even as they leave its federal areas.", "The US is not leaving the country.", False),
    ("US troops left all bases in federal Iraq.", "The coalition no longer has troops at any base in federal Iraq.", False),
    ("The coalition still has troops at bases in federal Iraq.", "The coalition no longer has troops at any base in federal Iraq.", True),
    ("The base was handed over on January 18.", "The base, not the airport, was handed over on January 18.", False),
    ("Iraq denied that US troops would stay.", "Iraq denied that US troops would stay.", False),
    ("US troops would stay.", "Iraq denied that US troops would stay.", True),
    # one negated word the claim affirms whole (dev w018)
    ("The news came as a surprise.", "The news came as no surprise.", True),
    # a negated telling denies no fact: "could move 7,000 detainees" holds beside it (dev d041)
    ("CENTCOM could move up to 7,000 detainees to Iraq.",
     "CENTCOM has not said where in Iraq the detainees will be held.", False),
    # what one side took from another, the other no longer holds (test q26, 2026-12-03)
    ("Syrian government forces took eastern Syria from the SDF from January 16 to January 21.",
     "The SDF, which the United States backs, no longer controls most of eastern Syria.", False),
    ("The SDF still controls most of eastern Syria.",
     "The SDF, which the United States backs, no longer controls most of eastern Syria.", True),
    # one word left after a negated leaving is its place, not what is denied
    ("US forces remain in the country.", "US forces have not left the country.", False),
    # leaving the place the source has them go to (dev w013), but not a place the source has them leave too
    ("The troops also pulled out of the Kurdistan Region.",
     "The troops pulling out of federal Iraq are relocating to facilities in the Kurdistan Region.", True),
    ("The troops left the Kurdistan Region.", "The troops remain in the Kurdistan Region.", True),
    ("The troops left federal Iraq.", "The troops leaving federal Iraq moved to the Kurdistan Region.", False),
    ("The troops left the Kurdistan Region.", "The troops moved to the Kurdistan Region and later left the "
     "Kurdistan Region.", False),
    # a negated leaving says who stayed: going there agrees with it, only leaving it again denies it (test q37)
    ("The US troops relocated to facilities in the autonomous Kurdistan Region.",
     "The United States did not withdraw from the Kurdistan Region.", False),
    ("The United States is in the Kurdistan Region.", "The United States did not withdraw from the Kurdistan Region.",
     False),
    ("The United States withdrew from the Kurdistan Region.",
     "The United States did not withdraw from the Kurdistan Region.", True),
    # still somewhere the source has them taken from (dev y008); only a named place counts, and who it is
    ("The first 150 fighters are still being held in Hasakah.",
     "The first 150 fighters were taken from a detention facility in Hasakah, Syria, to a secure location in Iraq.",
     True),
    ("The fighters are still being held in Iraq.",
     "The first 150 fighters were taken from a detention facility in Hasakah, Syria, to a secure location in Iraq.",
     False),
    ("The first 150 fighters are still held at the base.",
     "The first 150 fighters were moved from the old block of the base to a new one.", False),
    ("The other detainees remain in Hasakah.", "The first 150 fighters were taken from Hasakah to Iraq.", False),
    # still held by whom the source has it taken from (test d012), or held by another instead of (dev y018); a name
    # the staying governs must be the one it was taken from
    ("The large camps and prisons that hold Islamic State detainees are still run by the SDF.",
     "Syrian government forces took large areas from the US-backed Syrian Democratic Forces (SDF), including several "
     "large camps and prisons holding ISIS detainees.", True),
    ("The Syrian side of the border east of the Euphrates is still held by the SDF.",
     "The frontier east of the Euphrates is now controlled on the Syrian side by government forces rather than by "
     "the SDF.", True),
    ("The SDF still holds a few small pockets of eastern Syria.",
     "Syrian government forces took much of eastern Syria from the SDF.", False),
    ("Much of eastern Syria is still held by Syrian government forces.",
     "Syrian government forces took much of eastern Syria from the SDF.", False),
    # still holding what the source has the same holder hand over (test q33, dev y022); not who reported it, not who
    # received it, and not a presence a handover leaves true
    ("The coalition is still in charge of Ain al-Assad.",
     "His office said the US-led coalition had recently handed Ain al Assad over.", True),
    ("The United States still runs Camp Ridgeway.",
     "The United States handed Camp Ridgeway, its logistics depot near Solvik, over to Kestria's armed forces.", True),
    ("The SDF still runs the camps in Hasakah.", "The SDF handed over the camps in Hasakah to the government.", True),
    ("Kestria still runs Camp Ridgeway.",
     "The United States handed Camp Ridgeway, its logistics depot near Solvik, over to Kestria's armed forces.", False),
    ("Iraq still holds Ain al-Asad.", "Iraq said the coalition handed Ain al Asad over.", False),
    ("The coalition still has advisers at Ain al-Assad.", "The coalition handed Ain al Assad over.", False),
])
def test_polarity_conflict(claim, source, conflict):
    assert polarity_conflict(claim, source) is conflict


def test_a_yes_is_checked_against_every_sentence_of_its_passage_not_only_the_closest(verifier):
    """Dev w018: "came as no surprise" reads unlike the claim (cosine 0.39) but denies what was asked."""
    passage = Passage(id="c", article_id="c", title="US troops have left Ain al-Asad", outlet="Desk",
                      date="2026-01-19", text=(
                          "US forces have withdrawn from Ain al-Asad Airbase in Al Anbar, CNN reported on January 19. "
                          "The departure came as no surprise. Iraqi officials had pressed for years for US troops "
                          "to leave."))
    question = "Did the US withdrawal from Ain al-Asad come as a surprise?"
    text, _, _ = verifier.verify("Yes, the US withdrawal from Ain al-Asad came as a surprise [1].", [passage],
                                 question)
    assert text == "No: The departure came as no surprise. [1]"


def test_a_yes_to_still_there_where_the_source_has_them_taken_away_is_a_no():
    source = "The first 150 fighters were taken from a detention facility in Hasakah, Syria, to a secure location."
    assert corrected_by_source("Yes, the first 150 fighters are still being held in Hasakah.", source) == (
        f"No: {source}")


def test_the_question_said_back_as_a_statement_against_a_source_that_reverses_it_is_a_no():
    """Test d012: no "Yes", but the question's own words and polarity; a statement of other polarity is no Yes."""
    question = "Are the large camps and prisons that hold Islamic State detainees still run by the SDF?"
    source = "Syrian government forces took several large camps and prisons from the SDF."
    assert corrected_by_source("The large camps and prisons that hold Islamic State detainees are still run by the "
                               "SDF.", source, question) == f"No: {source}"
    assert corrected_by_source("The large camps and prisons are still run by the SDF.", source) == source
    left = "Did the US forces leave Ain al-Asad?"
    assert corrected_by_source("The US forces stayed at Ain al-Asad.", "US forces left Ain al-Asad in 2025.",
                               left) == "US forces left Ain al-Asad in 2025."


def test_a_yes_to_still_holding_what_the_source_has_them_hand_over_is_a_no():
    source = "His office said the US-led coalition had recently handed Ain al Assad over."
    assert corrected_by_source("Yes, the coalition is still in charge of Ain al-Assad.", source) == f"No: {source}"


def test_a_yes_to_leaving_where_the_source_has_them_go_is_a_no():
    source = "The troops pulling out of federal Iraq are relocating to facilities in the Kurdistan Region."
    assert corrected_by_source("Yes, they also pulled out of the Kurdistan Region.", source) == f"No: {source}"


def test_a_negated_telling_denies_only_a_question_about_the_telling():
    """Dev d023: "did not say where in Iraq the detainees would be held" shares "detainees" and "Iraq" with a
    question about the first group's size, and says nothing about it."""
    untold = "CENTCOM did not say where in Iraq the detainees would be held."
    assert not polarity_conflict("Yes, all outlets reported the same size.", untold,
                                 "Did all outlets report the same size for the first group of detainees moved to Iraq?")
    assert polarity_conflict("Yes.", untold, "Did CENTCOM say where in Iraq the detainees would be held?")


def test_a_bare_yes_conflicts_when_the_source_negates_what_was_asked():
    assert polarity_conflict("Yes.", THREAT.text, QUESTION)
    assert not polarity_conflict("Yes.", "Iraq sees the group as a strategic threat.", QUESTION)


# --- qualifiers of numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("claim, expected", [
    ("The US had 62,000 troops in Iraq.", "The US had about 62,000 troops in Iraq."),  # dropped: restored
    ("7,000 detainees could be moved.", "Up to 7,000 detainees could be moved."),  # restored at the start
    ("As many as 7,000 detainees could be moved.", "As many as 7,000 detainees could be moved."),  # same kind
    ("More than 7,000 detainees could be moved.", None),  # another kind: a mismatch
    ("About 7,000 detainees could be moved.", None),
    ("The US had 62,000 troops in 2007.", "The US had about 62,000 troops in 2007."),  # a year is not hedged
    ("The 62,000-strong force left.", "The 62,000-strong force left."),  # a compound takes no "about" (dev d032)
])
def test_number_qualifiers(claim, expected):
    assert match_qualifiers(claim, PEAK.text) == expected


def test_the_verifier_restores_a_dropped_qualifier_and_rejects_a_contradicting_one(verifier):
    text, citations, unsupported = verifier.verify("The US had 62,000 troops in Iraq at the height of the war [1].", [PEAK])
    assert "about 62,000" in text and citations and not unsupported
    text, citations, unsupported = verifier.verify("More than 7,000 detainees could be moved [1].", [PEAK])
    assert not citations and unsupported == ["More than 7,000 detainees could be moved."]


# --- the slot a question asks to fill -----------------------------------------------------------------------


@pytest.mark.parametrize("question, thing", [
    ("Which unit guarded the prison in Hasakah?", "unit"),
    ("How many Islamic State detainees could be moved to Iraq?", "detainees"),
    ("Which Iraqi prime minister toured the border?", "minister"),
    ("Which facility will hold the detainees?", "facility"),
    ("What did President Trump say?", None),
    ("In which year was it agreed?", None),
])
def test_asked_thing(question, thing):
    assert asked_thing(question) == thing


@pytest.mark.parametrize("question, answer, expected", [
    ("Which Iraqi government body announced the evacuation?", "Iraq's Security Media Cell [1].", True),
    ("Which Iraqi government body announced the evacuation?", "the coalition left all its bases [1].", False),
    ("Which outlet reported it?", "CNN reported it, citing the ministry [1].", True),
    ("Who commands CENTCOM?", "Admiral Brad Cooper [1].", True),
    ("Who announced the handover?", "Iraqi officials announced it [1].", True),
    ("Who announced the handover?", "it was announced after the evacuation [1].", False),
    ("Where did US troops go?", "They moved to the Kurdistan Region [1].", True),
    ("How much did the withdrawal cost?", "About 2,500 troops left [1].", False),
    ("How much did the withdrawal cost?", "It cost $1.2 billion [1].", True),
    ("Where in Iraq are the detainees held?", "The detainees are being held in Iraq [1].", False),
    ("Where in Iraq are the detainees held?", "At a prison near Baghdad [1].", True),
    ("Were the first detainees flown or driven to Iraq?", "They were taken to a secure site in Iraq [1].", False),
    ("Were the first detainees flown or driven to Iraq?", "They were flown out of Hasakah [1].", True),
    ("Is Ain al-Asad in Anbar or Nineveh?", "It is in Al Anbar Governorate [1].", True),
    ("Did they leave before or after the statement?", "The statement followed the departure [1].", True),
    ("Is the base still in use or not?", "No, the base was handed over [1].", True),
])
def test_answer_fills_the_slot(question, answer, expected):
    assert answers_the_question(question, answer) is expected


@pytest.mark.parametrize("question, answer, expected", [
    # test d049, dev y023: the question's own places said back ("Iraq" is its "Iraqi")
    ("In which Iraqi prison are the 150 fighters moved from Hasakah being held?",
     "The 150 fighters are moved from Hasakah to Iraq in an orderly and secure way in an Iraqi prison. [4]", False),
    ("From which Syrian prison in Hasakah were the first 150 fighters taken?",
     "They were taken from a detention facility in Hasakah, Syria. [1]", False),
    # dev y024: a name the question does not hold
    ("Which prison is Kestria's prison service moving inmates to from the Harbour Street jail?",
     "To a new high-security prison at Norrby. [1]", True),
    ("Which base did al-Sudani visit?", "He visited Ain al-Asad airbase [2].", True),
    ("Which base did Iran fire missiles at after his killing?", "Iran fired ballistic missiles at Ain al-Asad Airbase "
     "in western Iraq after General Qasem Soleimani's killing [4].", True),  # test x024
    # not a place that has a name: left to the other checks
    ("Which outlet reported it first?", "It was reported first by the wire [1].", True),
    ("How many detainees could be moved?", "Up to 7,000 [1].", True),
])
def test_a_which_prison_answer_names_one(question, answer, expected):
    assert names_asked_place(question, answer) is expected


PRISON = ("CENTCOM began moving Islamic State fighters from a prison in Hasakah. Up to 7,000 detainees could be "
          "moved to Iraqi facilities. The SDF guarded the prisons for years.")


@pytest.mark.parametrize("question, expected", [
    ("Which unit guarded the prison in Hasakah?", False),  # no unit is named: nearby facts do not answer it
    ("How much did the transfer cost?", False),
    ("Which facility will hold the detainees?", True),  # "facilities"
    ("Which jail held the fighters?", True),  # a near word: "prison"
    ("How many detainees could be moved?", True),
    ("Which outlet reported the transfer?", True),  # answered by a name, not by the word "outlet"
])
def test_cited_passages_cover_the_asked_thing(question, expected, embeddings):
    assert covers_asked_thing(question, [PRISON], embeddings) is expected


@pytest.mark.parametrize("question, quotes, expected", [
    # dev y015: something else the Security Media Cell said
    ("What did the Security Media Cell say about the cost of the coalition's withdrawal?",
     ["It said Iraq's own forces now have both the will and the capability to provide security."], False),
    # dev y016: two of the topic's five words ("detainees", "Iraq") are not what it said about trials
    ("What did CENTCOM say about putting the transferred detainees on trial in Iraq?",
     ["CENTCOM did not say where in Iraq the detainees would be held."], False),
    ("What did it say about Iraq's own forces?",
     ["It said Iraq's own forces now have both the will and the capability to provide security."], True),
    ("What did CENTCOM say about the transfers?", ["CENTCOM said the transfer of detainees had begun."], True),  # stem
    ("What did CENTCOM say the transfers would cost?", ["CENTCOM said the first group had been moved."], True),  # no "about"
])
def test_what_was_said_about_the_asked_topic(question, quotes, expected):
    assert covers_said_topic(question, quotes) is expected


def test_a_function_word_is_no_near_word(embeddings):
    # MiniLM puts "unit" 0.46 from "our"
    assert not covers_asked_thing("Which unit guarded the prison?", ["Our reporter saw them at the prison."],
                                  embeddings)


def test_united_states_is_not_a_unit(embeddings):
    # seen with the bundled model: "which unit" answered by a supported sentence about Admiral Cooper
    cited = ["The commander of US Central Command, Admiral Brad Cooper, said the United States would move prisoners."]
    assert not covers_asked_thing("Which unit guarded the prison in Hasakah?", cited, embeddings)
    assert covers_asked_thing("Which facility will hold the detainees?", ["Facilities under Iraqi control will."], embeddings)


@pytest.mark.parametrize("question, action", [
    ("Who commanded the US troops at Ain al-Asad when they left?", "commanded"),
    ("How many Islamic State detainees escaped from the camps the SDF lost?", "escaped"),
    ("How many detainees were moved to Iraq?", "moved"),
    ("Who was killed in the strike?", "killed"),
    ("Who was in charge of the base?", None),  # a state, not an act
    ("Who heads Iraq's Security Media Cell?", "heads"),
    ("Who is the leader of the militia?", "leader"),
    ("who's the commander of the coalition?", "commander"),
    ("Who said the base was empty?", None),  # a saying: who said it is the answer, not the word
    ("How many fighters did CENTCOM move?", None),  # the verb comes after a subject
    ("How many years passed between the invasion and the return?", None),  # a span, worked out
    ("What equipment did US forces leave behind?", None),
    ("How many visitors came to the harbour festival?", None),  # a light verb: "drew 12,000 visitors" answers it
])
def test_asked_action(question, action):
    assert asked_action(question) == action


@pytest.mark.parametrize("question, quotes, expected", [
    # dev y005: "commanded by al-Sudani", resting on a sentence about al-Sudani pressing for the exit
    ("Who commanded the US troops at Ain al-Asad when they left?",
     ["Prime Minister Mohammed Shia al-Sudani and other Iraqi officials had pushed for several years for US troops "
      "to leave."], False),
    ("Who commanded the US troops at Ain al-Asad when they left?",
     ["The troops were under the command of Colonel Dana Reyes until the handover."], True),
    # dev y006: the transfers are not escapes
    ("How many Islamic State detainees escaped from the camps the SDF lost?",
     ["Up to 7,000 detainees could be moved in total to facilities under Iraqi control."], False),
    ("How many detainees were moved to Iraq?",
     ["The first 150 fighters were transferred from a detention facility in Hasakah."], True),  # a near word
    ("Who said the base was empty?", ["Iraq's Security Media Cell announced it."], True),  # no act asked
    # dev y013: an act is near only at NEAR_ACTION ("wounded" is 0.48 from "military"), and never a function word
    ("How many people were wounded when missiles hit the base?",
     ["About 100 US personnel, most of them military advisers, are still at the base."], False),
    ("How many people were killed in the fighting?",
     ["The mission began with 150 men taken from a prison, with up to 7,000 to follow."], False),
    ("How many people were injured when missiles hit the base?", ["Eleven soldiers were wounded in the strike."], True),
    # dev y011: the body itself is not who heads it (MiniLM puts "head" 0.50 from "body")
    ("Who heads Iraq's Security Media Cell?",
     ["The Security Media Cell, an official Iraqi government body, made the announcement in a post on X."], False),
    ("Who is the leader of the militia?", ["The US-backed militia lost much of the region on Friday."], False),
    ("Who is the leader of the militia?", ["Its commander, Rami Haddad, said the fighters would stay."], True),
    ("Who heads the Security Media Cell?", ["The cell is headed by Major General Saad Maan."], True),
])
def test_supporting_sentences_cover_the_asked_action(question, quotes, expected, embeddings):
    assert covers_asked_action(question, quotes, embeddings) is expected


@pytest.mark.parametrize("question, model_answer", [
    # dev y005: resting on another act
    ("Who commanded the US troops at Ain al-Asad when they left?",
     "The US troops at Ain al-Asad when they left were commanded by Prime Minister Mohammed Shia al-Sudani and other "
     "Iraqi officials [1]."),
    # dev y015: something else the speaker said
    ("What did the Security Media Cell say about the cost of the coalition's withdrawal?",
     "The Security Media Cell said that Iraq's own forces now have both the will and the capability to provide "
     "security across the entire country [1]."),
])
def test_an_answer_resting_on_something_else_abstains(sample_store, question, model_answer):  # noqa: F811
    # as the bundled model answered them
    settings, store = sample_store
    answer = scripted(settings, store, model_answer).invoke({"question": question})
    assert answer.abstained and answer.answer == ABSTAIN_TEXT


def test_a_negation_about_something_else_in_the_passage_is_no_conflict(verifier):
    # seen with the bundled model: this answer was "corrected" to the passage's "did not say where" sentence
    passage = Passage(id="c", article_id="a3", title="Transfer", outlet="Desk", date="2026-01-21", text=(
        "Admiral Brad Cooper said moving Islamic State prisoners from Syria to Iraq in an orderly way was critical to "
        "preventing a breakout. The command did not say where in Iraq the prisoners would be held."))
    answer = ("Admiral Brad Cooper said moving Islamic State prisoners from Syria to Iraq in an orderly way was critical "
              "to preventing a breakout [1].")
    text, _, _ = verifier.verify(answer, [passage], "Why are the prisoners being moved?")
    assert text.startswith("Admiral Brad Cooper said") and "did not say" not in text


def test_a_price_is_covered_by_a_sum_not_by_the_word(embeddings):
    question = "At what price did Brent crude settle on January 9, 2026?"
    assert covers_asked_thing(question, ["Brent crude futures settled at $61.20 a barrel."], embeddings)
    assert not covers_asked_thing(question, ["Brent crude futures settled lower on the week."], embeddings)


def test_a_supported_sentence_about_something_else_abstains(sample_store):  # noqa: F811
    settings, store = sample_store
    chain = scripted(settings, store, "CENTCOM moved 150 Islamic State fighters from a facility in Hasakah [1].")
    answer = chain.invoke({"question": "Which US Army unit guarded the detention facility in Hasakah?"})
    assert answer.abstained and answer.answer == ABSTAIN_TEXT


def test_an_answerable_which_question_still_answers(sample_store):  # noqa: F811
    settings, store = sample_store
    chain = scripted(settings, store, "According to the passage in [1], Iraq's Security Media Cell announced it.")
    answer = chain.invoke({"question": "Which Iraqi government body announced that the coalition had evacuated all "
                                       "its bases in federal Iraq?"})
    assert not answer.abstained and answer.answer.startswith("Iraq's Security Media Cell announced it.")


def test_a_yes_that_reverses_the_article_reaches_the_user_as_no(sample_store):  # noqa: F811
    settings, store = sample_store
    chain = scripted(settings, store, "Yes, Iraq still sees the Islamic State as a strategic threat [1].")
    answer = chain.invoke({"question": QUESTION})
    assert not answer.abstained and answer.answer.startswith("No: ") and "no longer" in answer.answer


# --- names the passages never mention ------------------------------------------------------------------------


@pytest.mark.parametrize("question, texts, missing", [
    # off-topic questions the bundled model answered from a sports passage (eval items x007 and x014)
    ("Who won the 2023 Tour de France?", ["Lea Brandt won the Tour of Kestria on Sunday, 2025-06-02."],
     ["2023", "France"]),
    ("Who won the men's singles title at Wimbledon in 2019?", ["Greywater United won the Kestrian Cup in 2025."],
     ["Wimbledon", "2019"]),
    # spelling variants, demonyms, possessives, all-capital abbreviations and the question's first word are not missing
    ("Did the Iraqi PM visit Ain al Assad and Hasaka?", ["Iraq's Prime Minister visited Ain al-Asad and Hasakah."],
     []),
    ("Why did CENTCOM move Iran's prisoners in 2026?", ["Iran said on 2026-01-21 that CENTCOM moved them."], []),
    ("How many Daesh fighters were moved?", ["150 Islamic State fighters were moved."], []),
    ("Are the Islamic State camps still run by the SDF?", ["The SDF lost camps holding ISIS detainees."], []),
    ("Iraq was told?", ["Iran was told."], []),  # the first word is not checked, even when it is a name
    ("Did the US tell Iran?", ["Iraq was told."], ["Iran"]),  # Iraq is not a spelling of Iran
])
def test_unmentioned_names(question, texts, missing):
    assert unmentioned_names(question, texts) == missing


def test_asks_duration():
    assert asks_duration("How many days after the statement did CENTCOM announce it?")
    assert asks_duration("How long had US forces been out of Iraq?")
    assert not asks_duration("How many detainees could be moved?")


def test_daesh_is_covered_by_the_islamic_state(embeddings):
    question = "how many daesh guys got shipped out of hasaka in the first batch?"
    assert asked_thing(question) == "daesh"
    assert covers_asked_thing(question, ["150 Islamic State fighters were moved from Hasakah."], embeddings)


@pytest.mark.parametrize("question, answer, expected", [
    # the bundled model's answer to a dev item: the article's month under a "Yes" to another month
    ("Did the US pullout from Ain al-Asad begin in October 2025?",
     "Yes, the US pullout from Ain al-Asad began in August 2025. [1]",
     "No, the US pullout from Ain al-Asad began in August 2025. [1]"),
    ("Were 150 fighters in the first group?", "Yes, about 100 fighters were in it [1].",
     "No, about 100 fighters were in it [1]."),
    ("Were 150 fighters in the first group?", "Yes, 150 fighters were in it [1].", None),  # the asked value
    ("Did they leave in 2026?", "Yes, they left on January 19, 2026 [1].", None),  # 2026 is named
    ("Did they leave in October?", "Yes. They left on October 3 [1].", None),
    ("When did they leave?", "Yes, in August [1].", None),  # not a yes/no question
    ("Did they leave in October?", "They left in August [1].", None),  # no "Yes" to turn
])
def test_a_yes_naming_another_value_than_asked_is_a_no(question, answer, expected):
    assert no_for_another_value(question, answer) == (expected or answer)


def test_a_future_question_answered_with_a_past_day_is_declined(sample_store):  # noqa: F811
    # dev item q53: the bundled model gave the day US forces left federal Iraq as the day they "will leave" Kurdistan
    settings, store = sample_store
    question = "When will US troops leave the Kurdistan Region?"
    reply = "The US troops will leave the Kurdistan Region on January 19, 2026 [1]."
    answer = scripted(settings, store, reply).invoke({"question": question})
    assert answer.abstained and answer.answer == ABSTAIN_TEXT
    assert [(s.check, s.action) for s in answer.trace][-2:] == [("future_time", "drop_citations"),
                                                                ("unbacked", "decline")]
    off = settings.model_copy(update={"answer_checks": {"future_time": False}})  # this check declines it, no other
    assert not scripted(off, store, reply).invoke({"question": question}).abstained


@pytest.mark.parametrize("dates, published, past", [
    ([(2026, 1, 19)], "2026-01-19", True),  # the day it was reported is not still to come
    ([(2026, 1, 19)], "2026-01-21", True),
    ([(2026,)], "2026-01-21", False),  # "later in 2026" may be to come
    ([(2026, 9)], "2026-01-21", False),
    ([(2025,), (2024, 9)], "2026-01-21", True),
    ([(2025,), (2027,)], "2026-01-21", False),  # one date still to come
    ([], "2026-01-21", False),
    ([(2025,)], None, False),  # undated: nothing to compare with
])
def test_all_past(dates, published, past):
    assert all_past(dates, published) is past


def test_stated_dates_and_future_questions():
    assert stated_dates("They left on January 19, 2026, after the September 2024 deal and talks in 2025.") == [
        (2026, 1, 19), (2024, 9), (2025,)]
    assert asks_future_time("When will US troops leave the Kurdistan Region?")
    assert asks_future_time("When is the agreement due to end?")
    assert not asks_future_time("When did US troops leave Ain al-Asad?")


@pytest.mark.parametrize("question, named", [
    ("How many Americans did the Levant Ledger say were left?", ["Levant Ledger (sample)"]),  # dev w046
    ("what did the levant ledger say?", ["Levant Ledger (sample)"]),  # typed in lower case
    ("What did The Times report?", ["The Times"]),
    ("How many times did the Ledger report it?", []),  # a one-word name only as written; no part of a name
])
def test_named_outlets(question, named):
    assert named_outlets(question, ["Levant Ledger (sample)", "The Times", "newsrag sample desk"]) == named


@pytest.mark.parametrize("question, asked", [
    ("When did the Palmyra Observer publish its review?", ["Palmyra Observer (sample)"]),  # test d037
    ("Which outlets besides the Levant Ledger reported it?", []),
    ("Did any outlet other than the levant ledger give a figure?", []),
    ("Did The Times report it, unlike the Levant Ledger?", ["The Times"]),
])
def test_asked_outlets_leave_out_those_set_aside(question, asked):
    assert asked_outlets(question, ["Levant Ledger (sample)", "The Times", "Palmyra Observer (sample)"]) == asked


TOLD = ["CENTCOM moved 150 fighters from Hasakah. The detainees went to a secure location in Iraq.",
        "CENTCOM did not disclose where in Iraq the detainees would be held. It did not say how many flights."]


@pytest.mark.parametrize("question, expected", [
    ("Where in Iraq are the detainees being held?",
     (1, "CENTCOM did not disclose where in Iraq the detainees would be held.")),
    ("When will the detainees be held in Iraq?", None),  # another wh-word: the sentence is not about when
    ("Where did the coalition go?", None),  # the same wh-word about something else
    ("Which city did the fighters come from?", None),
])
def test_a_sentence_saying_the_asked_thing_was_not_told(question, expected):
    assert not_told(question, TOLD) == expected


TOUR = Passage(id="s", article_id="a3", title="Al-Sudani tours the border", outlet="Desk", date="2026-01-21", text=(
    "Iraq's prime minister met troops on Wednesday. Iraqi Prime Minister Mohammed Shia al-Sudani travelled to the "
    "border with Syria on January 21 for a field tour, meeting the forces deployed along the frontier. During the "
    "same trip he stopped at Ain al-Assad airbase."))
PM_QUESTION = "did the iraqi PM actually go see the troops on the syrian frontier and stop by ain al assad?"
PM_ECHO = ("Yes, the Iraqi Prime Minister Mohammed Shia al-Sudani did actually go see the troops on the Syrian frontier "
           "and stop by Ain al-Assad. [1]")


@pytest.mark.parametrize("question, claim, echoes", [
    (PM_QUESTION, PM_ECHO, True),  # dev d045: names spelt out, nothing the article adds
    ("Were Iraqi authorities indifferent to the fighting?", "No, they were not indifferent to the fighting.", True),
    ("Were Iraqi authorities indifferent to the fighting?", "No, Iraqi authorities said they were concerned about "
     "the clashes between government forces and the SDF.", False),  # it says what the article says
    ("Who met the troops?", "Yes, the prime minister met the troops.", False),  # not a yes/no question
])
def test_echoes_question(question, claim, echoes):
    assert echoes_question(question, claim) is echoes


def test_a_yes_that_echoes_the_question_is_followed_by_what_its_passage_says(verifier):
    """Dev d045: "Yes, … did actually go see the troops …" told nothing the article says (the date, the tour)."""
    text, citations, _ = verifier.verify(PM_ECHO, [TOUR], PM_QUESTION)
    assert text == (PM_ECHO + " Iraqi Prime Minister Mohammed Shia al-Sudani travelled to the border with Syria on "
                    "January 21 for a field tour, meeting the forces deployed along the frontier. [1]")
    assert citations[0].quote.startswith("Iraqi Prime Minister Mohammed Shia al-Sudani travelled")


@pytest.mark.parametrize("evidence, claim, restates", [
    ("Iraqi Prime Minister Mohammed Shia al-Sudani travelled to the border with Syria on January 21 for a field "
     "tour, meeting the forces deployed along the frontier.", PM_ECHO, True),  # dev d045: 8 of its 15 words
    ("Ain al-Asad was the target of Iranian ballistic missiles in January 2020, after the United States killed "
     "General Qasem Soleimani.", "No, the US pulledout from Ain al-Asad began in August 2025.", False),
])
def test_an_echos_evidence_restates_it(evidence, claim, restates):
    """Dev w016 (in a draft): MiniLM put the missile strike close to "the pullout from Ain al-Asad began in
    August", a statement about the same place only."""
    assert _restates(evidence, claim) is restates


CORRECTED = Passage(id="g", article_id="g", title="Correction", outlet="Harbour Wire", date="2026-01-22", text=(
    "An earlier version of this story said about 100 fighters were in the first group. US Central Command later "
    "said the first group numbered 150 fighters."))


def test_a_yes_that_only_echoes_the_question_is_dropped(verifier):
    """Test d015's shape: a "Yes" that says the question back, with no sentence of its passage saying it, is the
    model's guess; what the passage does say stays."""
    question = "Did the Harbour Wire's first figure of about 100 fighters in the first group stand?"
    echo = "Yes, the Harbour Wire's first figure of about 100 fighters in the first group stood."
    text, citations, unsupported = verifier.verify(
        f"{echo} [1] US Central Command later said the first group numbered 150 fighters. [1]", [CORRECTED], question)
    assert text == "US Central Command later said the first group numbered 150 fighters. [1]"
    assert unsupported == [echo] and [c.n for c in citations] == [1]


NOT_ALTOGETHER = Passage(id="a", article_id="a", title="Q&A", outlet="Desk", date="2026-01-23", text=(
    "American troops have left the federal areas, but they have not left Iraq altogether: they moved to the "
    "Kurdistan Region."))
ALTOGETHER = "Have American troops pulled out of Iraq altogether?"


@pytest.mark.parametrize("question, claim, source, denies", [
    (ALTOGETHER, "Yes, they have.", NOT_ALTOGETHER.text, True),  # a negated leaving denies a leaving
    # dev y009: a negated presence affirms a leaving
    ("has the coalition finished clearing out of its bases in federal iraq?", "Yes, it has.",
     "With the evacuation complete, the coalition no longer has troops at any base in federal Iraq.", False),
    # a leaving named, not asked: the question asks of the withdrawal, and "no surprise" denies it
    ("Did the US withdrawal from Ain al-Asad come as a surprise?", "Yes, it did.",
     "The withdrawal from Ain al-Asad came as no surprise.", True),
    (ALTOGETHER, "No, they have not.", NOT_ALTOGETHER.text, False),  # only a Yes is denied
])
def test_denies_the_asked(question, claim, source, denies):
    assert denies_the_asked(question, claim, source) is denies


@pytest.mark.parametrize("follow_up, rewrite, keeps", [
    ("What happened to the SDF?", "What happened to the Syrian government forces that took over eastern Syria?",
     False),  # dev q43
    ("What happened to the SDF?", "What happened to the SDF after the January fighting?", True),
    ("Where did it post that?", "Where did Iraq's Security Media Cell post that?", True),  # nothing named: any rewrite
    ("What did Mr. Sudani say?", "What did Prime Minister Mohammed Shia al-Sudani say?", True),  # a title is no name
    ("And what did Harbor Wire say?", "What did the Harbor wire report say about the total?", True),  # any case
])
def test_rewrite_keeps_names(follow_up, rewrite, keeps):
    assert rewrite_keeps_names(follow_up, rewrite) is keeps


@pytest.mark.parametrize("follow_up, rewrite, widened", [
    # "that year" after a turn about November 2025 is 2025 (test x020: declined over "November" no passage names)
    ("Which airbase had their forces begun leaving that year?",
     "Which airbase had its forces begun leaving in November 2025?", "Which airbase had its forces begun leaving in 2025?"),
    ("What did they issue later that year?", "What did the US and Iraq issue later than August 21, 2025?",
     "What did the US and Iraq issue later than 2025?"),
    ("What happened in May that year?", "What happened in May 2025?", "What happened in May 2025?"),  # month named
    ("What happened next?", "What happened after November 2025?", "What happened after November 2025?"),
])
def test_a_rewrite_of_that_year_names_no_month(follow_up, rewrite, widened):
    assert widened_to_year(follow_up, rewrite) == widened


def test_a_how_many_answer_needs_a_count_not_a_date_or_a_span():
    """Dev y001: "How many Iraqi troops …?" answered with when the agreement came and the pullout began."""
    question = "How many Iraqi troops took over Ain al-Asad after the Americans left?"
    assert not answers_the_question(question, "Last August [August 2025] and September [September 2025], US forces "
                                              "began leaving Ain al-Asad [4].")
    assert not answers_the_question(question, "Washington and Baghdad agreed 16 months ago to end the mission.")
    assert answers_the_question(question, "About 2,000 Iraqi troops moved in on January 19, 2026.")
    assert answers_the_question("How many years after the strike did US forces leave?", "Six years after it.")
    # a span asked: its two dates are what it is worked out from
    assert answers_the_question("How many days after the coalition left did CENTCOM announce the transfer?",
                                "The coalition left on January 18, 2026, and CENTCOM announced it on January 21.")


def test_an_ordinal_past_first_must_be_mentioned_like_a_name():
    """Dev y003: "the second group" over articles that only tell of the first."""
    first_only = ["The transfers to Iraq began with a first group of 150 fighters from Hasakah."]
    assert unmentioned_names("How many detainees were in the second group moved to Iraq?", first_only) == ["second"]
    assert unmentioned_names("How many detainees were in the first group moved to Iraq?", first_only) == []
