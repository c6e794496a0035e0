"""A synthetic news corpus for the benchmarks: varied, news-shaped, deterministic, and not the sample articles.

Article i depends only on (seed, i), so the first 20 articles of a 10,000-article corpus are the 20 articles
of a 20-article one. Names are built from syllables, so the vocabulary grows with the corpus the way real
news vocabularies do (which matters to BM25), and every article has a title, date, outlet, url and author.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

OUTLETS = (
    "Harbor Herald", "Northern Ledger", "Valley Dispatch", "Capital Wire", "Coastal Times",
    "Metro Observer", "Plains Gazette", "Summit Post", "River City Journal", "Island Chronicle",
)
TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "economy": {
        "things": ("inflation", "interest rates", "the housing market", "factory orders", "exports", "wages",
                   "the budget deficit", "consumer spending", "the jobless rate", "fuel prices"),
        "bodies": ("the central bank", "the finance ministry", "the statistics office", "the chamber of commerce"),
        "verbs": ("rose", "fell", "stalled", "rebounded", "slowed", "surged", "edged up", "dipped"),
        "units": ("percent", "billion dollars", "million euros", "basis points"),
    },
    "politics": {
        "things": ("the coalition talks", "the election law", "the no-confidence vote", "the regional budget",
                   "the border agreement", "the cabinet reshuffle", "the referendum", "the anti-corruption bill"),
        "bodies": ("parliament", "the senate", "the electoral commission", "the opposition bloc", "the cabinet"),
        "verbs": ("approved", "rejected", "delayed", "debated", "amended", "blocked", "endorsed"),
        "units": ("votes", "seats", "percent of ballots", "signatures"),
    },
    "science": {
        "things": ("the vaccine trial", "the telescope survey", "the drought study", "the fusion experiment",
                   "the coral census", "the seismic network", "the satellite launch", "the genome project"),
        "bodies": ("the space agency", "the national laboratory", "the university consortium", "the research council"),
        "verbs": ("published", "confirmed", "postponed", "expanded", "completed", "replicated"),
        "units": ("participants", "samples", "kilometres", "degrees"),
    },
    "sport": {
        "things": ("the cup final", "the transfer window", "the marathon", "the relegation battle",
                   "the doping inquiry", "the stadium renovation", "the league season", "the title race"),
        "bodies": ("the football federation", "the olympic committee", "the players' union", "the league board"),
        "verbs": ("won", "lost", "drew", "suspended", "overturned", "extended", "clinched"),
        "units": ("points", "goals", "minutes", "spectators"),
    },
    "health": {
        "things": ("the measles outbreak", "hospital waiting lists", "the nurses' strike", "the drug shortage",
                   "the heatwave warnings", "the mental health plan", "the clinic closures", "the flu season"),
        "bodies": ("the health ministry", "the hospital trust", "the medical association", "the public health agency"),
        "verbs": ("reported", "warned about", "funded", "investigated", "contained", "reviewed"),
        "units": ("cases", "patients", "beds", "doses"),
    },
    "technology": {
        "things": ("the data breach", "the chip plant", "the broadband rollout", "the app ban",
                   "the outage", "the robotics fund", "the privacy ruling", "the battery factory"),
        "bodies": ("the telecoms regulator", "the data protection authority", "the startup association",
                   "the cyber security centre"),
        "verbs": ("launched", "fined", "restored", "licensed", "acquired", "shut down"),
        "units": ("users", "megawatts", "jobs", "terabytes"),
    },
    "weather": {
        "things": ("the storm", "the floods", "the wildfire", "the cold snap", "the drought", "the landslide",
                   "the heat record", "the river levels"),
        "bodies": ("the meteorological office", "the fire service", "the civil protection agency", "the coast guard"),
        "verbs": ("hit", "threatened", "eased", "worsened", "cut power to", "closed roads in"),
        "units": ("millimetres of rain", "homes", "hectares", "kilometres per hour"),
    },
}
_ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p", "pr",
           "r", "s", "sh", "st", "t", "tr", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ei", "ou", "ia")
_CODAS = ("", "", "n", "r", "l", "s", "th", "m", "k", "nd", "rt")
_FIRST_NAMES = ("Amina", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemal",
                "Lena", "Marco", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Samir", "Tara", "Ulrich", "Vera",
                "Wei", "Yusuf", "Zofia")
_ROLES = ("a spokesperson for", "the head of", "a senior official at", "an adviser to", "a member of",
          "the deputy director of", "an analyst who follows")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SENTENCES = (
    "{Body} said on {day} that {thing} {verb} after weeks of uncertainty in {place}.",
    "{person}, {role} {body}, told reporters that {thing} would be reviewed by {month}.",
    "Figures released on {day} showed {number} {unit}, up from {number2} a year earlier.",
    "In {place}, residents said {thing} had changed little so far, according to local officials.",
    "\"We expect {thing} to remain a priority,\" said {person}, {role} {body}.",
    "The decision follows a report by {body} that put the total at {number} {unit}.",
    "Critics in {place} argued that {thing} {verb} too quickly and called for an independent inquiry.",
    "{person} said the figure of {number} {unit} was \"far higher than anyone planned for\".",
    "Officials in {place} and {place2} met on {day} to discuss {thing} and {thing2}.",
    "A statement from {body} said {thing2} was not linked to {thing}.",
    "By {month}, {number} {unit} had been recorded across {place}, {body} said.",
    "The {adj} response to {thing} drew comparisons with {year}, when {thing2} {verb}.",
    "{person} of the {outlet} said readers had sent hundreds of questions about {thing}.",
    "Talks between {body} and {body2} are expected to resume in {place} on {day}.",
    "Analysts said {thing} {verb} for the {ordinal} time since {year}.",
    "Asked about {thing2}, {person} declined to comment, saying the matter was before {body}.",
)
_ADJECTIVES = ("cautious", "swift", "muted", "divided", "unexpected", "coordinated", "delayed", "forceful")
_ORDINALS = ("second", "third", "fourth", "fifth")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_TITLES = (
    "{Thing} {verb} in {place}, {body} says",
    "{place}: {thing} {verb} as {thing2} weighs on officials",
    "What {thing} means for {place}",
    "{Body} under pressure over {thing}",
    "{number} {unit}: {thing} in numbers",
)


def _name(rng: random.Random, syllables: int) -> str:
    syllable = (rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables))
    return "".join(syllable).capitalize()


def _fill(template: str, rng: random.Random, topic: dict[str, tuple[str, ...]], places: list[str],
          people: list[str], outlet: str) -> str:
    thing, thing2 = rng.sample(topic["things"], 2)
    body, body2 = rng.sample(topic["bodies"], 2)
    values = {
        "thing": thing, "Thing": thing[0].upper() + thing[1:], "thing2": thing2,
        "body": body, "Body": body[0].upper() + body[1:], "body2": body2,
        "verb": rng.choice(topic["verbs"]), "unit": rng.choice(topic["units"]),
        "place": places[0], "place2": places[-1], "person": rng.choice(people), "role": rng.choice(_ROLES),
        "day": rng.choice(_WEEKDAYS), "month": rng.choice(_MONTHS), "year": rng.randint(1990, 2019),
        "number": f"{rng.randint(2, 9800):,}", "number2": f"{rng.randint(2, 9800):,}",
        "adj": rng.choice(_ADJECTIVES), "ordinal": rng.choice(_ORDINALS), "outlet": outlet,
    }
    return template.format(**values)


def article(i: int, seed: int = 7) -> dict[str, str]:
    """Article number i of the corpus for this seed, as a JSONL record (title, date, outlet, url, author, text)."""
    rng = random.Random(f"{seed}:{i}")
    topic_name = rng.choice(sorted(TOPICS))
    topic = TOPICS[topic_name]
    outlet = rng.choice(OUTLETS)
    places = [_name(rng, rng.randint(2, 3)) for _ in range(2)]
    people = [f"{rng.choice(_FIRST_NAMES)} {_name(rng, rng.randint(2, 3))}" for _ in range(3)]
    paragraphs = []
    for _ in range(rng.randint(3, 9)):
        sentences = [_fill(rng.choice(_SENTENCES), rng, topic, places, people, outlet)
                     for _ in range(rng.randint(2, 5))]
        paragraphs.append(" ".join(s[0].upper() + s[1:] for s in sentences))
    title = _fill(rng.choice(_TITLES), rng, topic, places, people, outlet)
    date = f"{rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    slug = "-".join(title.lower().replace(",", "").replace(":", "").split()[:8])
    return {
        "title": title,
        "date": date,
        "outlet": outlet,
        "url": f"https://{outlet.lower().replace(' ', '-')}.example/{topic_name}/{date}/{slug}-{i}",
        "author": people[0],
        "text": "\n\n".join(paragraphs),
    }


def articles(n: int, seed: int = 7) -> Iterator[dict[str, str]]:
    return (article(i, seed) for i in range(n))


def write_jsonl(path: Path, n: int, seed: int = 7) -> Path:
    """The first n articles as one JSONL file, the form a news export usually takes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in articles(n, seed):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def passages(n: int, seed: int = 7) -> Iterator[tuple[dict[str, str], list[str]]]:
    """(article record, its paragraphs) until n paragraphs in all: chunk-sized texts without running the splitter."""
    produced, i = 0, 0
    while produced < n:
        record = article(i, seed)
        paragraphs = record["text"].split("\n\n")[: n - produced]
        produced += len(paragraphs)
        i += 1
        yield record, paragraphs


def queries(n: int, seed: int = 7) -> list[str]:
    """Questions in the corpus's vocabulary: what an article's author said about one of its topic's things."""
    rng = random.Random(f"{seed}:queries")
    out = []
    for _ in range(n):
        record = article(rng.randrange(1000), seed)
        thing = rng.choice(TOPICS[record["url"].split("/")[3]]["things"])
        out.append(f"What did {record['author']} say about {thing}?")
    return out
