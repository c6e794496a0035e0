import pytest

from rag.attribution import asks_reporter, credited_source
from rag.questions import names


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
