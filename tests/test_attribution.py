import pytest

from rag.attribution import asks_reporter, credited_source, unnamed_speaker
from rag.questions import names
from rag.types import Passage


@pytest.mark.parametrize("sentence, credited", [
    ("Only a few Americans remain at the base, Arab News has reported, after most left.", "Arab News"),
    ("US troops left Ain al-Asad, CNN reported on January 19, citing Iraq's Defense Ministry.", "CNN"),
    ("On Monday CNN reported that the troops had left.", "CNN"),
    ("The move was reported by the Shafaq News agency.", "Shafaq News"),
    ("Officials reported no casualties.", ""),  # a sentence's first word is not a name
    ("An Anbar Monitor brief incorrectly reported that the pullout began in October.", ""),
    ("About 100 US personnel remain, an Iraqi military official said.", ""),  # "said" credits people, not outlets
])
def test_credited_source(sentence, credited):
    assert credited_source(sentence) == credited


@pytest.mark.parametrize("question, asks", [
    ("Which outlet reported that only a few Americans were still at the base?", True),
    ("What newspaper first reported the transfer?", True),
    ("Who reported the withdrawal?", True),
    ("Which outlet corrected the size of the first group?", False),  # a correction is not a report's credit
    ("What did the Levant Ledger report?", False),
])
def test_asks_reporter(question, asks):
    assert asks_reporter(question) is asks


def test_names_is_whole_words_in_any_case():
    assert names("as arab news reported", "Arab News")
    assert not names("Arab Newsroom", "Arab News")


PASSAGES = ["Iraq's Security Media Cell said on January 18 that the coalition had left its bases. About 100 US "
            "personnel remain, an Iraqi military official said. US Central Command said up to 7,000 could move."]


@pytest.mark.parametrize("sentence, unnamed", [
    ("Iraq's parliament said that US troops had left Ain al-Asad.", "parliament"),  # dev y010
    ("The Kurdistan regional government said the troops had arrived.", "kurdistan"),  # test q45's shape
    ("Iraq's Security Media Cell said the coalition had left.", ""),
    ("Iraqi military officials said about 100 remained.", ""),  # a plural of a word the passage holds
    ("CENTCOM said up to 7,000 could move.", ""),  # an acronym may stand for "US Central Command"
    ("They said the bases were empty.", ""),
    ("On Sunday, the parliament said so.", ""),  # not read after a comma: conservative
    ("The coalition left all its bases.", ""),  # nobody quoted
])
def test_unnamed_speaker(sentence, unnamed):
    assert unnamed_speaker(sentence, PASSAGES) == unnamed


def test_a_fact_in_the_mouth_of_a_speaker_no_passage_names_is_unsupported(verifier):
    # dev y010, as the bundled model answered "What did Iraq's parliament say about the US troops leaving Ain al-Asad?"
    cnn = Passage(id="c-0000", article_id="c", title="US troops have left Ain al-Asad", outlet="CNN", date="2026-01-19",
                  text="US forces have left Ain al-Asad Airbase in western Iraq, CNN reported on January 19, citing "
                       "Iraq's Defense Ministry.")
    question = "What did Iraq's parliament say about the US troops leaving Ain al-Asad?"
    text, citations, unsupported = verifier.verify(
        "Iraq's parliament said that US troops had left Ain al-Asad Airbase in western Iraq, CNN reported on "
        "January 19, citing Iraq's Defense Ministry. [1]", [cnn], question)
    assert citations == [] and len(unsupported) == 1
    text, citations, _ = verifier.verify("CNN said that US troops had left Ain al-Asad Airbase. [1]", [cnn], question)
    assert [c.n for c in citations] == [1]
