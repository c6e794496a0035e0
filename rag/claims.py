"""Whether an answer sentence says what its source sentence says, beyond sharing its words.

Word overlap cannot tell "Iraq still sees IS as a strategic threat" from "the group no longer represents a
strategic threat", nor "62,000" from "about 62,000". These checks compare polarity (negations and what they
negate) and the qualifiers of numbers; the verifier corrects the sentence from its source when they differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import Stemmer

from rag.answer.lexicon import BOUND_WORDS, FUNCTION_WORDS
from rag.dates import MONTH_NAME
from rag.qualifiers import match_qualifiers
from rag.text import split_sentences

__all__ = ["match_qualifiers"]  # its old home: imported from here too

_stemmer = Stemmer.Stemmer("english")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d[\d,.]*")

# --- polarity ---------------------------------------------------------------------------------------------------

_NEGATION = re.compile(
    r"\b(?:no longer|not|never|no|none|neither|nor|nobody|nothing|without|cannot|denied|denies|deny|refused|"
    r"rejected)\b|n't\b",
    re.IGNORECASE,
)
# A claim may say "left the bases" where its source says "no longer has troops at any base": on the claim's side
# these verbs negate what follows them too. Not on the source's side, where they would make every paraphrase
# without them ("relocated from Ain al-Asad" for "left Ain al-Asad") a conflict.
_PRIVATIVE = re.compile(
    r"\b(?:left|leaves?|leaving|withdr[ae]w[ns]?|withdrawing|withdrawal|ended|ends?|ending|pulled out|moved out|"
    r"clear(?:ed|ing|s)? out|"
    r"evacuated|departed|departure|quit|exited|lost|ceased|stopped|halted|abandoned|gone)\b",
    re.IGNORECASE,
)
_LEAVING_NOUNS = ("withdrawal", "departure")
_LEAVING = re.compile(rf"(?<!not )(?<!never )(?<!n't ){_PRIVATIVE.pattern}", re.IGNORECASE)  # "did not leave": stayed
# On the claim's side only, what was taken is no longer its holder's: "took eastern Syria from the SDF" does not
# conflict with "the SDF no longer controls eastern Syria"
_TAKING = re.compile(r"\b(?:took|taken|seized|captured)\b", re.IGNORECASE)
# The opposite of leaving a place: going to it or staying in it. "pulled out of the Kurdistan Region" conflicts
# with "are relocating to facilities in the Kurdistan Region".
_ARRIVING = re.compile(
    r"\b(?:(?:moved|moving|moves|relocat(?:ed|ing|es?)|redeployed|redeploying|went|going|sent|arrived|arriving)"
    r"\s+(?:to|into|in)|(?:remain(?:ed|s|ing)?|stay(?:ed|s|ing)?|based)\s+(?:in|at|inside))\b",
    re.IGNORECASE,
)
# Taken away from a place: "were taken from a detention facility in Hasakah" (the words after "from" are the place)
_TAKEN_FROM = re.compile(
    r"\b(?:taken|moved|transferred|flown|driven|brought|relocated|removed|evacuated|shifted)\s+(?:out\s+)?from\b",
    re.IGNORECASE,
)
# Taken from its holder: "took much of eastern Syria from the US-backed Syrian Democratic Forces (SDF)" (the words
# after "from", to the clause's end, name who held it)
_TAKEN_FROM_HOLDER = re.compile(r"\b(?:took|taken|seized|captured|wrested)\b[^,.;]*?\bfrom\s+(?P<holder>[^,.;]+)",
                                re.IGNORECASE)
# Held by another in its place: "now controlled … by government forces rather than by the SDF"
_REPLACED = re.compile(r"\b(?:rather than|instead of|in place of)\b", re.IGNORECASE)
# Handed away by its holder: "the US-led coalition had recently handed Ain al Assad over", "The United States handed
# Camp Ridgeway, its logistics depot …, over to Kestria's armed forces", "the SDF handed over the camps to"
_HANDED_OVER = (
    re.compile(r"(?P<giver>[^,.;]+?)\s+(?:handed|turned|gave)\s+(?P<thing>[^,.;]+?)(?:,[^.;]*?,)?\s+(?:over|back)\b",
               re.IGNORECASE),
    re.compile(r"(?P<giver>[^,.;]+?)\s+(?:handed|turned|gave)\s+(?:over|back)\s+(?P<thing>[^,.;]+?)\s+to\b",
               re.IGNORECASE),
)
# Right after the claim's "still": a holding, not a presence ("is still in charge of", "still runs"; not "still has
# advisers at", which a handover leaves true)
_HOLDING = re.compile(r"\s+(?:(?:be|being)\s+)?(?:in (?:charge|control) of|run\w*|hold\w*|control\w*|operat\w*|"
                      r"own\w*|manag\w*)\b", re.IGNORECASE)
# Who reported a handover, not who made it: "His office said the coalition …"
_REPORTED_BY = re.compile(r"\b(?:said|says|say|that|which|who|whom)\b", re.IGNORECASE)
_CONTINUING = re.compile(r"\b(?:still|stay\w*|remain\w*|continu\w*|going on|yet)\b", re.IGNORECASE)
_NAME_WORD = re.compile(r"(?<=\s)[A-Z][a-z][\w-]*|\b[A-Z]{2,}\b")  # "Hasakah", "SDF"
# Where the words a negation governs end: a clause break or a subordinating word.
_SCOPE_END = re.compile(
    r"[,;:.!?()]|\b(?:after|before|when|while|because|since|which|who|but|although|until|whereas|and|or)\b",
    re.IGNORECASE,
)
ECHO_NEW_TERMS = 0.5  # share of an answer's content words that may be new and it still only echoes the question
_YES_NO_ANSWER = re.compile(r"^\s*(?P<word>yes|no)\b[\s,.:;!-]*", re.IGNORECASE)
_YES_NO_QUESTION = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|isn't|aren't|doesn't|didn't)\b",
    re.IGNORECASE,
)
# after a negation: "(has not) said where", "(did not) disclose where", "(it is not) clear when"
_UNTOLD = re.compile(
    r"\s+(?:\w+\s+)?(?:say|said|disclose[sd]?|specif(?:y|ied)|reveal(?:ed)?|confirm(?:ed)?|explain(?:ed)?|know|"
    r"knew|clear)\s+(?P<wh>where|when|how|why|whether|which|who|what|if)\b",
    re.IGNORECASE,
)
_ASKED_WH = re.compile(r"\b(where|when|how|why|who|which|whether)\b", re.IGNORECASE)
MIN_SHARED_TERMS = 2  # a negation conflicts with a sentence only when it governs at least this many of its words


def _terms(text: str) -> set[str]:
    """Stemmed content words; "left", "withdrew" and the like are cues, not content, so they never count as
    the shared words of a conflict ("remain inside the country even as they leave" vs "not leaving the country")."""
    words = [w.lower().strip(".,'") for w in _WORD.findall(_PRIVATIVE.sub(" ", text))]
    return set(_stemmer.stemWords([w for w in words if w not in FUNCTION_WORDS and len(w) > 1]))


def _negated_scopes(text: str, cues: re.Pattern[str] = _NEGATION, affirming: bool = True,
                    unknowns: bool = True) -> list[set[str]]:
    """The content words each negation governs: from the negation to the end of its clause. With
    affirming=False, a negated privative ("did not leave the Kurdistan Region": it stayed) is left out; with
    unknowns=False, a negated telling ("has not said where the detainees will be held") is, since it denies
    no fact about what it names."""
    scopes = []
    for match in cues.finditer(text):
        if not unknowns and _UNTOLD.match(text, match.end()):
            continue
        words = _clause_after(text, match.end())
        scope = _terms(words)
        if scope and (affirming or not _PRIVATIVE.search(words)):
            scopes.append(scope)
    return scopes


def _clause_after(text: str, start: int) -> str:
    """The text from `start` to the end of its clause: what a negation or a "still" there governs."""
    end = _SCOPE_END.search(text, start)
    return text[start : end.start() if end else len(text)]


def _touches(scopes: list[set[str]], terms: set[str]) -> bool:
    """Some negation governs at least one of these words: the sentence negates them too, however it words it."""
    return any(scope & terms for scope in scopes)


def _affirms(terms: set[str], scope: set[str], plain_negations: list[set[str]]) -> bool:
    """These words affirm what the negation governs: at least MIN_SHARED_TERMS of its words, or all of a plain
    negation's ("came as no surprise" governs only "surprise"; not a negated leaving, whose one word left after
    the cue is often its place: "have not left the country" vs "remain in the country")."""
    return len(scope & terms) >= MIN_SHARED_TERMS or (scope in plain_negations and scope <= terms)


def polarity_conflict(claim: str, source: str, question: str = "") -> bool:
    """The claim affirms what the source negates, or negates what the source affirms in the same words.

    The first: a negation in the source governs at least MIN_SHARED_TERMS of the claim's words, and nothing in
    the claim negates any of them ("still sees it as a strategic threat" vs "no longer a strategic threat").
    The second is held to more, since sources negate in other words ("bases now empty"): every word the claim
    negates is in the source, and nothing there negates them. A "Yes" to a yes/no question also conflicts when
    the source negates what the question asks.
    """
    yes_no = _YES_NO_ANSWER.match(claim)
    statement = claim[yes_no.end() :] if yes_no else claim
    claim_terms, source_terms = _terms(statement), _terms(source)
    claim_negations = _negated_scopes(statement)
    source_negations = _negated_scopes(source)
    claim_scopes = claim_negations + _negated_scopes(statement, _PRIVATIVE) + _negated_scopes(statement, _TAKING)
    source_scopes = source_negations + _negated_scopes(source, _PRIVATIVE)
    plain_negations = _negated_scopes(source, affirming=False)
    claim_leavings = _negated_scopes(statement, _LEAVING)
    for scope in _negated_scopes(source, unknowns=False):
        if scope not in plain_negations:
            # a negated leaving says who stayed: a claim that has them go there agrees with it, one that has them
            # leave it denies it
            if _affirms(claim_terms, scope, plain_negations) and _touches(claim_leavings, scope):
                return True
        elif _affirms(claim_terms, scope, plain_negations) and not _touches(claim_scopes, scope):
            return True
    for scope in _negated_scopes(statement, affirming=False):
        if len(scope) >= MIN_SHARED_TERMS and scope <= source_terms and not _touches(source_scopes, scope):
            return True
    if _takes_back(statement, source):
        return True
    return bool(yes_no) and denies_the_asked(question, claim, source)


def _left_where_source_arrives(claim: str, source: str) -> bool:
    """The claim has someone leave a place the source has them go to or stay in, and the source leaves it
    nowhere: every word the claim's leaving governs (at least MIN_SHARED_TERMS) is governed by an arrival."""
    arrivals = _negated_scopes(source, _ARRIVING)
    leavings = _negated_scopes(source, _PRIVATIVE)
    return any(len(left) >= MIN_SHARED_TERMS and any(left <= arrived for arrived in arrivals)
               and not _touches(leavings, left) for left in _negated_scopes(claim, _LEAVING))


def _takes_back(claim: str, source: str) -> bool:
    """The source undoes, without a negation, where the claim has someone go, stay or hold."""
    return (_left_where_source_arrives(claim, source) or _stays_where_source_takes_away(claim, source)
            or _still_holds_what_source_hands_over(claim, source))


def _still_holds_what_source_hands_over(claim: str, source: str) -> bool:
    """The claim has someone still hold or run what the source has them hand over ("the coalition is still in
    charge of Ain al-Assad" vs "the US-led coalition had recently handed Ain al Assad over"): "still"
    governs a holding, the words before it share one with who handed it over (not who reported it), and a name
    the holding governs is in what was handed."""
    if _negated_scopes(claim) or _CONTINUING.search(source):
        return False
    names = _terms(" ".join(_NAME_WORD.findall(source)))
    handed = [(_terms(_REPORTED_BY.split(m.group("giver"))[-1]), _terms(m.group("thing")))
              for pattern in _HANDED_OVER for m in pattern.finditer(source)]
    for still in _CONTINUING.finditer(claim):
        if not _HOLDING.match(claim, still.end()):
            continue
        holder = _terms(claim[: still.start()])
        stay = _terms(_clause_after(claim, still.end()))
        if any(holder & giver and stay & thing & names for giver, thing in handed):
            return True
    return False


def _stays_where_source_takes_away(claim: str, source: str) -> bool:
    """The claim has someone still in a named place the source has them taken from ("are still being held in
    Hasakah" vs "were taken from a detention facility in Hasakah, Syria, to … Iraq"), or something still
    held by whom the source has it taken from or held by another instead of ("is still held by the SDF" vs "now
    controlled … by government forces rather than by the SDF"): a name the claim's staying governs is in
    the source's taking-away, and the two share MIN_SHARED_TERMS more words (who or what it is)."""
    if _negated_scopes(claim) or _CONTINUING.search(source):
        return False
    stays = _negated_scopes(claim, _CONTINUING)
    taken_from = [] if _moved_within(source) else _negated_scopes(source, _TAKEN_FROM)
    taken = [*taken_from, *_negated_scopes(source, _REPLACED),
             *(_terms(m.group("holder")) for m in _TAKEN_FROM_HOLDER.finditer(source))]
    names = _terms(" ".join(_NAME_WORD.findall(source)))
    return any(len((_terms(claim) & _terms(source)) - (stay & away)) >= MIN_SHARED_TERMS
               for stay in stays for away in taken if stay & away & names)


def _moved_within(source: str) -> bool:
    """Every move the source tells goes somewhere it names no place for: "moved from its old room in the Louvre in
    Paris to a new gallery" stays in Paris, where "taken from a prison in Hasakah to Iraq" leaves Hasakah."""
    moves = list(_TAKEN_FROM.finditer(source))
    ends = [re.search(r"\bto\s+(?P<end>[^,.;]+)", source[m.end():]) for m in moves]
    return bool(moves) and all(end and not _NAME_WORD.search(" " + end.group("end")) for end in ends)


def denies_the_asked(question: str, claim: str, source: str) -> bool:
    """The claim answers "Yes" to a yes/no question whose very words the source negates ("Did it come as a
    surprise?" "Yes" against "The departure came as no surprise"). Any sentence of a cited passage may say it,
    however unlike the claim it reads."""
    yes_no = _YES_NO_ANSWER.match(claim)
    if not yes_no or yes_no.group("word").lower() != "yes" or not _YES_NO_QUESTION.match(question):
        return False
    asked = _terms(question)
    plain_negations = _negated_scopes(source, affirming=False)
    scopes = _negated_scopes(source, unknowns=_asks_about_telling(question))
    if _asks_leaving(question):
        # "Have American troops pulled out of Iraq altogether?" is denied by a negated leaving ("have not left Iraq
        # altogether"); "Has the coalition finished clearing out of its bases?" is affirmed, not denied,
        # by a negated presence ("no longer has troops at any base")
        unmoved = _negated_scopes(source, affirming=False, unknowns=_asks_about_telling(question))
        scopes = [scope for scope in scopes if scope not in unmoved]
    shared = any(_affirms(asked, scope, plain_negations) for scope in scopes)
    return shared and not _negated_scopes(question)


def _asks_leaving(question: str) -> bool:
    """The question asks whether someone left or something ended ("Have troops pulled out?"), not of what a
    leaving was like ("Did the withdrawal come as a surprise?")."""
    return any(m.group(0).lower() not in _LEAVING_NOUNS for m in _PRIVATIVE.finditer(question))


def asks_yes_or_no(question: str) -> bool:
    return bool(_YES_NO_QUESTION.match(question))



def polarity_cues(text: str) -> frozenset[str]:
    """Which kinds of polarity the text carries: a negation, a leaving ("left", "ended"), a staying ("still",
    "remain"). Two questions that differ here ask opposite things however close their words."""
    cues = {"negation": _NEGATION, "leaving": _PRIVATIVE, "staying": _CONTINUING}
    return frozenset(kind for kind, pattern in cues.items() if pattern.search(text))


def says_yes(claim: str) -> bool:
    """The claim opens with "Yes"."""
    yes_no = _YES_NO_ANSWER.match(claim)
    return yes_no is not None and yes_no.group("word").lower() == "yes"


def without_yes_no(claim: str) -> str:
    """The claim after its leading "Yes," or "No:"."""
    return _YES_NO_ANSWER.sub("", claim, count=1)


def echoes_question(question: str, claim: str) -> bool:
    """A yes or no that says the question back ("Yes, the prime minister did actually go see the troops on the
    Syrian frontier"): most of its content words are the question's, so it tells nothing the article adds."""
    if not _YES_NO_ANSWER.match(claim) or not _YES_NO_QUESTION.match(question):
        return False
    return _says_back(question, without_yes_no(claim))


def _says_back(question: str, statement: str) -> bool:
    said = _terms(statement)
    return bool(said) and len(said - _terms(question)) <= ECHO_NEW_TERMS * len(said)


def _yes_in_other_words(question: str, claim: str) -> bool:
    """The claim answers a yes/no question "Yes" without the word: it says the question back as a statement, with
    the same polarity ("Are the camps still run by the SDF?" "The camps are still run by the SDF.")."""
    return (bool(_YES_NO_QUESTION.match(question)) and not _YES_NO_ANSWER.match(claim)
            and polarity_cues(claim) == polarity_cues(question) and _says_back(question, claim))


def _asks_about_telling(question: str) -> bool:
    """ "CENTCOM did not say where in Iraq …" denies "Did CENTCOM say where …?", not "Did all outlets report the
    same size for the first group of detainees moved to Iraq?": only a question with a wh-word asks
    about a telling."""
    return bool(_ASKED_WH.search(question))


def corrected_by_source(claim: str, source: str, question: str = "") -> str:
    """The source's own sentence in place of a claim that reversed it; a "Yes" before a negating source is "No",
    and so is the question said back as a statement.

    A "No" is never turned into "Yes": "No, they are not there" against "US forces left" conflicts only in
    words, so the source sentence alone is the safe answer.
    """
    if (says_yes(claim) or _yes_in_other_words(question, claim)) and (
            _negated_scopes(source) or _takes_back(without_yes_no(claim), source)):
        return f"No: {source}"
    return source


# --- a yes that names another value than the one asked ----------------------------------------------------------

_FIGURE = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
_BOUND = re.compile(rf"\b{BOUND_WORDS}\s+(?:the\s+)?(?:end of\s+|early\s+|late\s+)?[\w,.]+", re.IGNORECASE)


def no_for_another_value(question: str, answer: str) -> str:
    """ "Did the pullout begin in October?" answered "Yes, it began in August [1]" → "No, it began in August [1]".

    The small model starts a yes/no answer with "Yes" and then states the article's value; when the question asks
    about a month or figure that the answer never names and the answer names another of the same kind, the
    article's value is the answer and the "Yes" is wrong. A bound is not an asked value: "Was it signed before
    October?" "Yes, in August" and "Did more than 100 people die?" "Yes, about 150" stay Yes.
    """
    yes = _YES_NO_ANSWER.match(answer)
    if not yes or yes.group("word").lower() != "yes" or not _YES_NO_QUESTION.match(question):
        return answer
    values = _BOUND.sub(" ", question)
    for pattern in (MONTH_NAME, _FIGURE):
        asked = {m.group().replace(",", "") for m in pattern.finditer(values)}
        stated = {m.group().replace(",", "") for m in pattern.finditer(re.sub(r"\[\d+\]", "", answer))}
        if asked and stated and not asked & stated:
            return f"No, {answer[yes.end():]}"
    return answer


# --- what the articles say about something they do not tell ----------------------------------------------------

_NOT_TOLD = re.compile(r"(?:\bnot|\bnever|n't)" + _UNTOLD.pattern, re.IGNORECASE)


def not_told(question: str, texts: Sequence[str]) -> tuple[int, str] | None:
    """The index of a text and its sentence saying that the very thing asked was not disclosed ("CENTCOM did not
    disclose where in Iraq the detainees would be held" for "Where in Iraq are they held?"), or None.

    That sentence answers the question better than a decline: the articles do speak of it. It must ask with the
    question's own wh-word and share at least MIN_SHARED_TERMS of its content words; the one sharing most wins.
    """
    asked = _ASKED_WH.search(question)
    if not asked:
        return None
    terms = _terms(question)
    found: tuple[int, int, str] | None = None
    for index, text in enumerate(texts):
        for sentence in split_sentences(text):
            telling = _NOT_TOLD.search(sentence)
            if not telling or telling.group("wh").lower() != asked.group(1).lower():
                continue
            shared = len(_terms(sentence) & terms)
            if shared >= MIN_SHARED_TERMS and (found is None or shared > found[0]):
                found = (shared, index, sentence.strip())
    return (found[1], found[2]) if found else None
