"""What kind of answer a question asks for (a number, a time, a sum, a name), and whether a text offers one.

Small models often answer a nearby question ("US troops moved to Kurdistan" for "how many troops", a supported
sentence about the prison for "which unit guarded it"), and the sentence that carries a date is often not the
one that sounds most like the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

import numpy as np
import Stemmer

from rag.answer.lexicon import ALIASES, FUNCTION_WORDS, NUMBER_WORDS, QUESTION_WORDS
from rag.dates import FUTURE_WORDS, MENTIONED_DATE
from rag.embeddings import NewsEmbeddings
from rag.followups import rewrite_keeps_names, widened_to_year
from rag.outlets import asked_outlets, named_outlets, names, outlet_name
from rag.text import ROUGH_SENTENCE_BREAK, strip_markers

__all__ = ["asked_outlets", "named_outlets", "names", "outlet_name", "rewrite_keeps_names", "widened_to_year"]

_ASKS_NUMBER = re.compile(r"^\W*(?:and\s+)?how (?:many|much)\b", re.IGNORECASE)
_ASKS_TIME = re.compile(
    r"^\W*(?:and\s+)?(?:when|what (?:year|date|day|month)|in (?:what|which) (?:year|month))\b", re.IGNORECASE
)
_NUMBER = re.compile(rf"\d|\b{NUMBER_WORDS}\b", re.IGNORECASE)
# capitalised month and day names only: "Markets", "decision" and "may be" are not dates
_DATE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b"
)
_RELATIVE_TIME = re.compile(r"\b(?:yesterday|today|earlier|later|before|after|since|ago)\b", re.IGNORECASE)
_ASKS_MONEY = re.compile(r"^\W*(?:and\s+)?how much\b.*\b(?:cost|costs|spend|spent|pay|paid|price|worth|budget)\b",
                         re.IGNORECASE)
_MONEY = re.compile(r"[$£€]\s?\d|\b(?:dollars?|euros?|pounds|dinars?|lira|riyals?|USD)\b", re.IGNORECASE)
_ASKS_WHO = re.compile(r"^\W*(?:and\s+)?(?:who|whom)\b", re.IGNORECASE)
_ASKS_WHERE = re.compile(r"^\W*(?:and\s+)?where\b", re.IGNORECASE)
# "Were they flown or driven from Hasakah?", "Is it in Anbar or Nineveh?": a question that offers two answers.
# "Before or after" is left out (an order is also told as "followed", "first" or "later"), and so is "or not".
_CHOICE = re.compile(r"^\W*(?:and\s+)?(?:is|are|was|were|do|does|did|has|have|had|will|would|could|can)\b.*?"
                     r"\b(?!before\b)(?P<first>[A-Za-z][\w-]*)\s+or\s+(?!after\b|not\b)(?P<second>[A-Za-z][\w-]*)",
                     re.IGNORECASE)
_ASKS_WHICH = re.compile(r"^\W*(?:and\s+)?(?:(?:from|in|at|to|by|for|with)\s+)?(?:which|what)\s+(?P<slot>[^?]*)",
                         re.IGNORECASE)
_ASKS_HOW_MANY = re.compile(r"^\W*(?:and\s+)?how many\s+(?P<slot>[^?]*)", re.IGNORECASE)
# Where the asked-for thing's words end: an auxiliary, a past-tense verb, a preposition or a determiner.
_SLOT_END = re.compile(
    r"^(?:kind|type|sort|number|amount|is|are|was|were|do|does|did|has|have|had|will|would|could|can|should|may|might|been|be|\w+ed|"
    r"held|led|took|made|said|told|sent|left|came|went|gave|got|began|fought|kept|brought|won|lost|paid|built|met|"
    r"of|in|on|at|to|from|for|by|with|the|a|an|that|this)$",
    re.IGNORECASE,
)
MAX_SLOT_WORDS = 4
# "Who commanded …", "who was killed …": the words after "who"; "who did/is/has …" put a subject or a state there
_ASKS_WHO_VERB = re.compile(r"^\W*(?:and\s+)?who\s+(?!did\b|does\b|do\b|is\b|are\b|has\b|have\b|will\b|would\b|"
                            r"could\b|can\b|should\b)(?P<rest>[^?]*)", re.IGNORECASE)
_PASSIVE_AUX = frozenset("was were had been being have has".split())
# "Who heads the Security Media Cell?", "who is the leader of the SDF?": whoever is at the top of a body, which a
# sentence about the body itself ("an official government body", "the US-backed SDF") does not name
_ASKS_WHO_LEADS = re.compile(
    r"^\W*(?:and\s+)?who(?:'s|\s+is|\s+was|\s+are|\s+were)?\s+(?:"
    r"(?:the|its|their|[A-Z][\w-]*'s)\s+(?:[a-z]+\s+)?(?P<role>leaders?|head|chief|commander|chair(?:man|woman|person)?|"
    r"director|president)\b|(?P<verb>leads|led|heads|headed|runs|ran|commands|commanded|chairs|directs))\b",
    re.IGNORECASE,
)
_LEADING = re.compile(r"\b(?:lead(?:s|er|ers|ing|ership)?|led|head(?:s|ed)?|chief|command(?:s|ed|er|ers|ing)?|"
                      r"chair\w*|director|president|run(?:s|ning)?|ran)\b", re.IGNORECASE)
# a past form, regular or one of a few irregular acts: the only verbs read without a tagger. Light verbs ("came",
# "took", "held", "led") are left out: "how many visitors came" is answered by "the festival drew 12,000 visitors"
_ASKED_VERB = re.compile(r"^(?:[a-z]+ed|fought|won|lost|fled|stole|shot|struck|caught)$")
_NOT_ACTIONS = frozenset("said told reported stated announced confirmed claimed noted added asked called named "
                         "involved based expected needed used listed".split())  # a saying or a state, not the act
COMPOUND_MODIFIERS = frozenset(
    "news government prime military detention security air army police prison border coalition media intelligence "
    "defense defence foreign interior".split()
)
# "which prison", "what base": a place that has a name, which the answer must give
PLACE_THINGS = frozenset("prison prisons jail jails facility facilities base bases airbase airbases camp camps depot "
                         "depots".split())
_PLACE_WORD = "|".join(sorted(PLACE_THINGS, key=len, reverse=True))
# a name by a place word: up to three words before it ("Ain al-Asad Airbase", "the Harbour Street jail") or one
# after a linking word ("a new prison at Norrby", "the camp known as al-Hol")
_NAMED_PLACE = re.compile(
    rf"(?P<before>\b[A-Z][\w'-]*\s+(?:[\w'-]+\s+){{0,2}}?)(?i:{_PLACE_WORD})\b"
    rf"|\b(?i:{_PLACE_WORD})\s+(?:at|in|of|called|named|near|known as)\s+(?:the\s+)?(?P<after>[A-Z][\w'-]*)"
)
MIN_NAME_STEM = 4  # "Iraq" in "Iraqi"; shorter names ("US") match only whole
MONEY_THINGS = frozenset("price cost amount sum fee budget value".split())  # "at what price": a sum, not the word
# "which outlet", "what city": the answer is a name, which need not repeat the category's word
NAME_CATEGORIES = frozenset(
    "outlet outlets network networks newspaper newspapers paper agency agencies body bodies organisation organization "
    "group groups city cities town towns village country countries province region state general official officials "
    "minister president leader commander person people name company party times years days months weeks year date "
    "day month week".split()
)
# A capitalised word that is not just the first word of a sentence: a name ("Iraq's Security Media Cell")
_NAME = re.compile(r"(?:^|[^.!?]\s)"
                   r"(?!(?:The|A|An|It|Its|They|He|She|This|That|These|Those|Yes|No|In|On|At|According)\b)[A-Z][\w'-]*"
                   r"|^(?!(?:The|A|An|It|Its|They|He|She|This|That|These|Those|Yes|No|In|On|At)\b)[A-Z][\w'-]*\s+[A-Z]")
_ROLE = re.compile(
    r"\b(?:officials?|ministry|minister|spokes(?:man|woman|person)|commander|government|authorities|military|"
    r"army|forces|police|president|prime minister|general|council|parliament|agency|office|command|coalition)\b",
    re.IGNORECASE,
)
_COMMON_WORD = re.compile(r"\b[a-z][a-z-]{2,}\b")
_SENTENCE_START_WORD = re.compile(rf"(?:^|{ROUGH_SENTENCE_BREAK})([A-Z][a-z-]{{2,}})\b")
_NAME_HEAD = re.compile(r"\b[A-Z][\w-]*\s+([A-Z][a-z-]{2,})\b(?!\s+[A-Z])")  # "Ramstein Air Base": a base
_stemmer = Stemmer.Stemmer("english")
# Other names news uses for the same thing; the asked word is covered when the text uses one of them
_LONG_FORM = {short.lower(): long.lower() for short, long in ALIASES.items()}  # a question's "Fed", "Daesh"
ASKS_DURATION = re.compile(r"\bhow (?:many|much) (?:years|months|weeks|days|hours|time)\b|\bhow long\b", re.IGNORECASE)
# "3 days", "about 16 months", "six-year": a span the answer worked out from two dates, which no passage states
DURATION_PHRASE = re.compile(
    r"\b(?:(?:about|around|roughly|nearly|almost|some|over|more than|less than|just over|just under)\s+)?"
    r"(?:\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|several)"
    r"(?:[- ]and[- ]a[- ]half)?[- ](?:hours?|days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)
# A name in a question: a capitalised word that does not start it ("Wimbledon", "Tour de France"), or a year.
# All-capitals words are left out: "PM", "CENTCOM" and "SDF" are written out in full by many articles.
_QUESTION_NAME = re.compile(r"(?<=\s)[A-Z][a-z][\w-]*|\b(?:1[89]|20)\d\d\b")
# An ordinal past the first singles out as much as a name: "the second group" over articles about the first.
_ORDINAL = re.compile(r"\b(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\b", re.IGNORECASE)
_TEXT_WORD = re.compile(r"[a-z0-9]+")
SAME_NAME = 0.85  # spelling variants: Asad/Assad 0.89, Hasaka/Hasakah 0.92; Iraq/Iran 0.75
NEAR_WORD = 0.45  # MiniLM cosine of two single words: facility~prison 0.51, unit~battalion 0.49, unit~forces 0.29
# acts sit closer to the words around them: killed~fighting 0.49, wounded~military 0.48 against
# moved~transferred 0.60, captured~seized 0.51, attacked~hit 0.51
NEAR_ACTION = 0.50


def answers_the_question(question: str, answer: str) -> bool:
    """The answer is of the kind asked: a number for "how many", a sum for "how much did it cost", a time for
    "when" ("a day after the handover" counts), a name or a role for "who", a name for "which outlet/city/...",
    a place name for "where"."""
    answer = strip_markers(answer)
    if _ASKS_MONEY.search(question) and not _MONEY.search(answer):
        return False
    if _ASKS_NUMBER.search(question) and not _NUMBER.search(_counts_only(question, answer)):
        return False
    if _ASKS_TIME.search(question) and not (_DATE.search(answer) or _RELATIVE_TIME.search(answer)):
        return False
    if _ASKS_WHO.search(question) and not (_NAME.search(answer) or _ROLE.search(answer)):
        return False
    if _ASKS_WHERE.search(question) and not _names_beyond(question, answer):
        return False  # "Where in Iraq are they held?" is not answered by "in Iraq"
    if asked_thing(question) in NAME_CATEGORIES and not _NAME.search(answer):
        return False
    choices = _CHOICE.search(question)
    if choices and not _picks_one(choices, answer):
        return False  # "Were they flown or driven?" is not answered by "they were taken to Iraq"
    return True


def _counts_only(question: str, answer: str) -> str:
    """The answer without its dates and spans: "How many Iraqi troops took over the base?" is not answered by "in
    August 2025" or "16 months ago". Unless a span is asked ("how many days after"): then two dates are what the
    span is worked out from (`rag.chain._worked_out_span`)."""
    if ASKS_DURATION.search(question):
        return answer
    return DURATION_PHRASE.sub(" ", MENTIONED_DATE.sub(" ", answer))


def _names_beyond(question: str, answer: str) -> bool:
    """The answer holds a name the question does not."""
    return _any_unasked(question, [match.group().split()[-1] for match in _NAME.finditer(answer)])


def _any_unasked(question: str, names: Sequence[str]) -> bool:
    """One of the names is not among the question's words in any form ("Iraq" is the question's "Iraqi")."""
    asked = set(_TEXT_WORD.findall(question.lower()))
    return any(not any(_same_name(name.lower().strip("'-"), word) for word in asked) for name in names)


def _same_name(name: str, word: str) -> bool:
    """The same word, or one a form of the other ("Iraq" and "Iraqi", "Syria" and "Syrian")."""
    return name == word or (min(len(name), len(word)) >= MIN_NAME_STEM and
                            (name.startswith(word) or word.startswith(name)))


def names_asked_place(question: str, answer: str) -> bool:
    """A "which prison/base/camp" question is answered with a place's name the question does not hold: "in an
    Iraqi prison" only says the question back to "In which Iraqi prison are the 150 fighters … being held?", and
    "from a detention facility in Hasakah, Syria, to a secure location in Iraq" names no prison in Hasakah. The
    name stands by a place word: "the Harbour Street jail", "a new prison at Norrby"."""
    if asked_thing(question) not in PLACE_THINGS:
        return True
    named = [word for match in _NAMED_PLACE.finditer(strip_markers(answer))
             for word in re.findall(r"[A-Z][\w'-]*", match.group("before") or match.group("after") or "")
             if word not in QUESTION_WORDS]
    return _any_unasked(question, named)


def _picks_one(choices: re.Match, answer: str) -> bool:
    """The answer names one of the two things an either-or question offers (by stem: "flew" is not "flown",
    so a paraphrase can fail; a decline is the safer side)."""
    offered = set(_stemmer.stemWords([choices.group("first").lower(), choices.group("second").lower()]))
    return bool(offered & set(_stemmer.stemWords(_TEXT_WORD.findall(answer.lower()))))


def asked_thing(question: str) -> str | None:
    """The noun a "which/what X" or "how many X" question asks for ("unit", "detainees"), or None.

    Capitalised words before it are qualifiers ("which Iraqi unit"); a compound keeps its head ("which
    government body" → "body"); the noun ends where a verb, auxiliary, preposition or determiner begins.
    """
    match = _ASKS_HOW_MANY.search(question) or _ASKS_WHICH.search(question)
    if not match or _ASKS_TIME.search(question):
        return None
    nouns: list[str] = []
    for word in re.findall(r"[A-Za-z][\w'-]*", match.group("slot"))[:MAX_SLOT_WORDS]:
        if _SLOT_END.match(word) or len(nouns) == 2:
            break
        if word[0].islower():
            nouns.append(word.lower())
    if len(nouns) == 2 and nouns[0] not in COMPOUND_MODIFIERS:
        nouns.pop()  # "which jail held": the second word is the verb
    return nouns[-1] if nouns else None


def offers_what_is_asked(question: str, text: str) -> bool:
    """The text holds a number for a "how many" question or a date for a "when" question."""
    if _ASKS_NUMBER.search(question):
        return bool(_NUMBER.search(text))
    if _ASKS_TIME.search(question):
        return bool(_DATE.search(text))
    return False


# a count and the noun it counts, a few words on: "85 prisoners", "150 Islamic State fighters", "three large camps"
_COUNT = re.compile(
    rf"(?:\b\d[\d,.]*|\b{NUMBER_WORDS})(?=\s+(?P<after>(?:[\w-]+\s+){{0,2}}[\w-]+))",
    re.IGNORECASE,
)


def counts_asked_thing(question: str, text: str) -> bool:
    """For "how many prisoners", the text counts prisoners ("The first group of 85 prisoners"); "up to 1,400
    inmates" or "built in 1872" hold a number but count something else (or nothing)."""
    thing = asked_thing(question) if _ASKS_HOW_MANY.search(question) else None
    if thing is None:
        return False
    stem = _stemmer.stemWord(thing)
    return any(stem in _stemmer.stemWords(_TEXT_WORD.findall(m.group("after").lower())) for m in _COUNT.finditer(text))


def covers_asked_thing(question: str, cited_texts: Sequence[str], embeddings: NewsEmbeddings) -> bool:
    """The cited passages speak of what the question asks for: a sum of money for "how much did it cost", and
    for "which unit" / "how many detainees" that word or a near one (MiniLM, word to word: "prison" for
    "facility"). A category answered by a name ("which outlet") needs no such word."""
    text = " ".join(cited_texts)
    thing = asked_thing(question)
    if thing in _LONG_FORM and _LONG_FORM[thing] in text.lower():
        return True
    if _ASKS_MONEY.search(question) or thing in MONEY_THINGS:
        return bool(_MONEY.search(text))
    if thing is None or thing in NAME_CATEGORIES:
        return True
    return _near_word_in(thing, text, embeddings)


def asked_action(question: str) -> str | None:
    """The verb a "who VERB" or "how many X (were) VERB" question asks about ("commanded", "escaped"), or None.

    "Who did CENTCOM thank" and "how many did they move" put the verb after a subject and are left out, as is
    "who is" / "who was in charge": only a verb that follows the asked-for words directly is read. Who leads a body
    gives its leadership word ("leader", "heads").
    """
    words: list[str] = []
    if leads := _ASKS_WHO_LEADS.search(question):
        return (leads.group("role") or leads.group("verb")).lower()
    if ASKS_DURATION.search(question):
        return None  # "how many years passed between …": the span is worked out, no passage says "passed"
    if who := _ASKS_WHO_VERB.search(question):
        words = re.findall(r"[A-Za-z][\w'-]*", who.group("rest"))
    elif (how_many := _ASKS_HOW_MANY.search(question)) and (thing := asked_thing(question)):
        slot = re.findall(r"[A-Za-z][\w'-]*", how_many.group("slot"))
        lowered = [w.lower() for w in slot]
        words = slot[lowered.index(thing) + 1:] if thing in lowered else []
    while words and words[0].lower() in _PASSIVE_AUX:
        words = words[1:]
    verb = words[0].lower() if words else ""
    return verb if _ASKED_VERB.match(verb) and verb not in _NOT_ACTIONS else None


def covers_asked_action(question: str, quotes: Sequence[str], embeddings: NewsEmbeddings) -> bool:
    """The sentences the answer rests on speak of the act the question asks about: "Who commanded the troops?"
    is not answered by "they were commanded by al-Sudani" resting on "al-Sudani pushed for the troops to leave",
    nor "how many escaped" by sentences about detainees moved. Read in the supporting sentences, not the whole
    passages: a passage about troops says "command" somewhere ("command headquarters") without saying who
    commanded them. Who leads a body is read from leadership words ("commander", "who leads", "headed by"), not
    near words: MiniLM puts "head" 0.50 from "body" and "leader" 0.43 from "government"."""
    if _ASKS_WHO_LEADS.search(question):
        return bool(_LEADING.search(" ".join(quotes)))
    action = asked_action(question)
    return action is None or _near_word_in(action, " ".join(quotes), embeddings, NEAR_ACTION)


# "What did the joint statement say about future military cooperation?": the words after "about"
_SAID_ABOUT = re.compile(r"\b(?:say|says|said|tell|tells|told|write|wrote|report|reported)\s+about\s+(?P<topic>[^?]+)",
                         re.IGNORECASE)
TOPIC_COVERED = 0.5  # share of the topic's content words the supporting sentences must hold


def covers_said_topic(question: str, quotes: Sequence[str]) -> bool:
    """For "what did X say about T", the sentences the answer rests on speak of T: at least TOPIC_COVERED of
    its content words, by stem. Whatever else X said is a nearby fact ("the Security Media Cell said Iraq's forces
    can keep the country safe" for what it said about the withdrawal's cost)."""
    said = _SAID_ABOUT.search(question)
    if not said:
        return True
    topic = set(_stemmer.stemWords([w for w in _TEXT_WORD.findall(said.group("topic").lower())
                                    if w not in FUNCTION_WORDS and len(w) > 1]))
    held = set(_stemmer.stemWords(_TEXT_WORD.findall(" ".join(quotes).lower())))
    return not topic or len(topic & held) >= TOPIC_COVERED * len(topic)


def _near_word_in(word: str, text: str, embeddings: NewsEmbeddings, near: float = NEAR_WORD) -> bool:
    """The text's common words hold the word's stem or a near word (MiniLM cosine ≥ near)."""
    # common nouns only: "United" (States) is not a unit; a capital that only starts a sentence is kept. Function
    # words are no near words, though MiniLM puts "people" 0.48 from "the" and "killed" 0.46 from "with"
    capitals = [*_SENTENCE_START_WORD.findall(text), *_NAME_HEAD.findall(text)]
    words = sorted((set(_COMMON_WORD.findall(text)) | {w.lower() for w in capitals}) - FUNCTION_WORDS)
    if _stemmer.stemWord(word) in set(_stemmer.stemWords(words)):
        return True
    if not words:
        return False
    vectors = embeddings.embed([word, *words])
    return bool(np.max(vectors[1:] @ vectors[0]) >= near)


def asks_future_time(question: str) -> bool:
    """ "When will US troops leave Kurdistan?": the time of something still to come, when the articles were written."""
    return bool(_ASKS_TIME.search(question) and FUTURE_WORDS.search(question))


def asks_duration(question: str) -> bool:
    """ "How long…", "how many days after…": the answer is a span worked out from two dates."""
    return bool(ASKS_DURATION.search(question))


def asks_count(question: str) -> bool:
    return bool(_ASKS_NUMBER.match(question))


def asks_time(question: str) -> bool:
    return bool(_ASKS_TIME.match(question))


def question_names(question: str) -> list[str]:
    """The names a question uses: capitalised words past its first, years, ordinals past "first"."""
    return [name for name in dict.fromkeys([*_QUESTION_NAME.findall(question), *_ORDINAL.findall(question)])
            if name not in QUESTION_WORDS]


def unmentioned_names(question: str, texts: Sequence[str]) -> list[str]:
    """The question's names (capitalised words past its first, years, ordinals past "first") that none of the
    texts mentions.

    "Who won the 2023 Tour de France?" over articles that never name France or 2023 is off the articles'
    topic however close its passages score; a spelling variant (Assad for Asad) counts as a mention, and so does
    another name for the same thing either way round (ISIS for the Islamic State, the Fed for the Federal Reserve).
    """
    words = _with_long_forms(" ".join(texts))
    missing = []
    for name in question_names(question):
        key = name.split("'")[0].lower()  # "Iran's" → "iran"
        parts = [part for part in re.split(r"-", key) if part]
        if all(_mentioned(part, words) for part in parts):
            continue
        missing.append(name)
    return missing


def _with_long_forms(text: str) -> set[str]:
    """The text's words and those of each short name's long form: a text that says ISIS mentions the Islamic
    State, one that says "the Fed" the Federal Reserve (an acronym counts only in capitals: "who" is not WHO)."""
    long_forms = [long for short, long in ALIASES.items() if re.search(rf"(?<!\w){re.escape(short)}(?!\w)", text)]
    return set(_TEXT_WORD.findall(text.lower())) | {word for long in long_forms for word in long.lower().split()}


def _mentioned(word: str, words: set[str]) -> bool:
    if word in words or (word in _LONG_FORM and _LONG_FORM[word].split()[0] in words):
        return True
    if len(word) < 4:
        return False
    if any(len(w) >= 4 and (word.startswith(w) or w.startswith(word)) for w in words):
        return True  # "Iraqi" for Iraq, "Iranian" for Iran
    return len(word) >= 5 and any(
        abs(len(w) - len(word)) <= 2 and SequenceMatcher(None, word, w).ratio() >= SAME_NAME for w in words)
