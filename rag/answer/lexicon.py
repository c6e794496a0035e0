"""The one place for the word lists the checks share: stop words, number words, months, aliases, demonyms, capitals.

A rule that needs a list of words imports it from here, so a word added for one kind of news (a league, a
central bank, a ministry) reaches every rule that reads names.
"""

from __future__ import annotations

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# spelled-out counts a question or an answer may give instead of digits
NUMBER_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?)"

# words that carry no content: the verifier's lexical support counts the rest
STOP_WORDS = frozenset(
    "a an the and or but of to in on at by for from with as is are was were be been being it its this that these "
    "those there their they them he she his her we our you your i not no do does did has have had will would can "
    "could should may might also than then so such which who whom whose what when where why how into over after "
    "before about said says say according passage passages article articles report reported first second third".split()
)
# function words of claims and questions: what a negation or a "still" governs is the rest
FUNCTION_WORDS = frozenset(
    "a an the and or but of to in on at by for from with as is are was were be been being it its this that these "
    "those there their they them he she his her we our you your i do does did has have had will would can could "
    "should may might also than then so such which who whom whose what when where why how into over about said "
    "says say yes still any anymore longer".split()
)
# a part of a multi-part question is matched to answer sentences on its other words
PART_FUNCTION_WORDS = frozenset((
    "the", "and", "which", "what", "who", "whom", "whose", "when", "where", "why", "how", "many", "much", "did",
    "does", "was", "were", "are", "has", "have", "had", "not", "say", "said", "passage", "passages", "article",
    "articles", "mention", "information", "they", "them", "their", "this", "that", "these", "those", "will",
    "would", "can", "could", "from", "with", "for", "into", "its", "been", "there"))
# a report's dated sentence is the same event as the question's on the other words
REPORT_FUNCTION_WORDS = frozenset((
    "the", "and", "did", "does", "was", "were", "are", "has", "have", "had", "when", "what", "which", "year", "date",
    "day", "month", "from", "with", "for", "into", "that", "this", "all", "same", "give", "reports", "report",
    "reported", "outlets", "figures", "articles", "stories", "agree", "differ", "could", "would", "can", "will",
    "did", "were", "was",
))
# capitalised words that start a question or a clause and name nothing
QUESTION_WORDS = frozenset("The A An In On At Of For From To By With And Or But Is Are Was Were Did Does Do Has Have "
                           "Had What When Where Which Who Whom Whose Why How I".split())
# a leading word before a speaker's name ("Then the minister said") is not part of it
NOT_NAME_WORDS = frozenset(
    "the a an in on at by as and but yet then also later earlier meanwhile last this that".split()
    + [day.lower() for day in WEEKDAYS] + [month.lower() for month in MONTHS]
)
TITLES = frozenset("Mr Mrs Ms Dr Gen Lt Col Capt Sen Rep St Prof".split())  # "Mr. Sudani" is "al-Sudani"

# a short name and its long form, as written (an acronym only in capitals: "WHO" is not "who")
ALIASES: dict[str, str] = {
    "ISIS": "Islamic State", "ISIL": "Islamic State", "Daesh": "Islamic State",
    "Fed": "Federal Reserve", "UN": "United Nations", "EU": "European Union", "WHO": "World Health Organization",
    "NATO": "North Atlantic Treaty Organization", "IMF": "International Monetary Fund", "ECB": "European Central Bank",
    "FBI": "Federal Bureau of Investigation", "NASA": "National Aeronautics and Space Administration",
    "UK": "United Kingdom", "US": "United States", "USA": "United States", "UAE": "United Arab Emirates",
}
# a people's name, by its first five letters, and its country's names (long and short)
DEMONYMS: dict[str, tuple[str, ...]] = {
    "ameri": ("united states", "us"), "briti": ("united kingdom", "britain", "uk"), "frenc": ("france",),
    "germa": ("germany",), "chine": ("china",), "japan": ("japan",), "india": ("india",), "turki": ("turkey",),
    "syria": ("syria",), "iraqi": ("iraq",), "irani": ("iran",), "israe": ("israel",), "ukrai": ("ukraine",),
    "russi": ("russia",), "itali": ("italy",), "spani": ("spain",), "canad": ("canada",), "mexic": ("mexico",),
    "brazi": ("brazil",), "egypt": ("egypt",), "saudi": ("saudi arabia",), "korea": ("korea",),
    "austr": ("australia", "austria"), "kurdi": ("kurdistan",), "leban": ("lebanon",), "jorda": ("jordan",),
}
# a government called by its capital ("Washington announced", "talks between Ankara and Damascus")
CAPITALS: dict[str, str] = {
    "washington": "united states", "london": "united kingdom", "paris": "france", "berlin": "germany",
    "beijing": "china", "tokyo": "japan", "delhi": "india", "ankara": "turkey", "damascus": "syria",
    "baghdad": "iraq", "tehran": "iran", "jerusalem": "israel", "kyiv": "ukraine", "kiev": "ukraine",
    "moscow": "russia", "rome": "italy", "madrid": "spain", "ottawa": "canada", "brussels": "european union",
    "riyadh": "saudi arabia", "cairo": "egypt", "seoul": "korea", "canberra": "australia", "erbil": "kurdistan",
    "beirut": "lebanon", "amman": "jordan", "brasilia": "brazil",
}
# words that make what follows a bound the answer's value is compared with, not the value asked ("signed before
# October?", "more than 100 people?"): a bound need not be named by the passages, nor equal the answer's value
BOUND_WORDS = (r"(?:before|after|since|until|till|by|prior to|earlier than|later than|more than|fewer than|less than|"
               r"over|under|above|below|at least|at most|upwards of)")
# who speaks for a body without naming it: "Health officials said" is the health ministry speaking
SPEAKER_ROLES = frozenset("official officials authorities authority spokesman spokeswoman spokesperson spokespeople "
                          "representative representatives sources source experts staff".split())
# the national abbreviations a count of a people is given in ("about 100 US personnel" counts Americans)
NATIONAL_ABBREVIATIONS: dict[str, tuple[str, ...]] = {"ameri": ("us",), "briti": ("uk",)}
