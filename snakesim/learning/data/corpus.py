"""A seeded, English-like corpus for fine-tuning a tiny causal LM without a download.

Each source is written on one topic by a small probabilistic grammar: sentences from
templates (subject, verb, object, prepositional phrase, clauses joined by
conjunctions), grouped into paragraphs. All sources share the function words
(articles, prepositions, conjunctions, adverbs); each topic adds its own nouns, verbs
and adjectives. Content words are drawn with Zipf-like weights, so a few words per
topic dominate: the text is repetitive enough that a small LM's perplexity falls fast,
and different sources have clearly different vocabularies (a split by source is
meaningfully non-IID).
"""

from __future__ import annotations

import numpy as np

TOPICS: dict[str, tuple[str, str, str]] = {
    # topic: (nouns, verbs in the third person singular, adjectives)
    "networks": (
        "router packet switch link cable server client protocol header socket "
        "gateway firewall",
        "forwards routes drops sends receives buffers encrypts floods queues resolves",
        "wireless congested reliable encrypted idle remote wired optical",
    ),
    "weather": (
        "cloud storm rain wind fog frost thunder breeze forecast valley sky drizzle",
        "drifts gathers falls blows clears soaks chills darkens warms rumbles",
        "cold humid grey stormy bright misty damp sunny",
    ),
    "cooking": (
        "onion pan oven knife sauce garlic bread butter spoon kettle pepper dough",
        "chops stirs bakes fries simmers tastes kneads slices roasts seasons",
        "crisp golden salty fresh warm sweet tender spicy",
    ),
    "music": (
        "violin drum melody chord rhythm choir piano singer song flute tempo verse",
        "plays hums tunes strums sings echoes repeats rehearses conducts improvises",
        "loud soft minor major slow lively gentle harmonic",
    ),
    "astronomy": (
        "star planet comet moon orbit telescope galaxy nebula eclipse meteor "
        "observer horizon",
        "orbits shines rotates eclipses observes spins glows tracks charts measures",
        "distant faint bright lunar solar dark vast red",
    ),
    "farming": (
        "tractor field barn harvest seed plough cow wheat fence orchard farmer soil",
        "plants ploughs harvests feeds waters milks sows grazes fences stores",
        "fertile dry green muddy ripe rusty fallow golden",
    ),
    "sailing": (
        "sail mast harbour anchor deck tide rope hull compass captain wave keel",
        "sails anchors drifts steers hoists tacks moors ties navigates rolls",
        "salty calm rough windward sturdy wooden narrow swift",
    ),
    "chess": (
        "king queen bishop knight rook pawn board move gambit opening endgame clock",
        "captures checks defends attacks sacrifices castles blocks pins threatens "
        "promotes",
        "passed isolated open closed sharp quiet winning doubled",
    ),
    "gardening": (
        "rose hedge shovel bulb compost blossom weed vine tulip greenhouse bench trellis",
        "prunes digs blooms climbs wilts trims mulches sprouts grows shades",
        "leafy thorny tidy wild fragrant shady pale lush",
    ),
    "railways": (
        "train platform signal track carriage engine ticket station whistle tunnel "
        "driver timetable",
        "departs arrives brakes whistles couples switches halts boards delays hauls",
        "punctual crowded narrow express steep late empty electric",
    ),
    "medicine": (
        "doctor patient fever wound nurse clinic tablet pulse bandage scan vaccine ward",
        "treats heals examines prescribes cleans monitors bandages diagnoses visits "
        "rests",
        "sterile chronic mild acute careful pale gentle urgent",
    ),
    "mining": (
        "shaft ore lamp tunnel miner seam drill cart helmet quarry rock pickaxe",
        "digs drills blasts hauls sifts lifts crushes props lights mines",
        "deep dusty narrow heavy damp rich hollow dim",
    ),
}
"""Content vocabulary per topic; source ``i`` is written on topic ``i % len(TOPICS)``."""

_ARTICLES = ("the", "the", "the", "a", "this", "every", "one")
_PREPOSITIONS = ("in", "on", "near", "under", "with", "after", "before", "behind",
                 "across", "beside", "over", "through")
_ADVERBS = ("often", "rarely", "slowly", "quietly", "always", "sometimes", "quickly",
            "never")
_CONJUNCTIONS = ("and", "but", "because", "while", "so")
_OPENERS = ("then", "later", "at night", "in the morning", "once again", "meanwhile")
_TEMPLATES = ("SV", "SVO", "SVOP", "ASVO", "PSVO", "SVO,CSVO", "QVO", "SVOP,CSV")
"""Sentence shapes: S subject, V verb, O object, P prepositional phrase, A adverbial
opener, C a conjunction, Q a question's subject (``which`` + noun); a comma joins
clauses."""
_TEMPLATE_WEIGHTS = np.array([2, 5, 4, 2, 2, 3, 1, 2], dtype=float)


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0  # rounding must not leave a draw of 0.99999... past the last word
    return cdf


_TEMPLATE_CDF = _cdf(_TEMPLATE_WEIGHTS)
_ZIPF = {n: _cdf(1.0 / np.arange(1, n + 1)) for n in range(1, 41)}
"""Zipf-like cumulative weights by list length: the k-th word has weight 1 / k."""


class _Writer:
    """Draws words and sentences on one topic from one generator."""

    def __init__(self, topic: str, rng: np.random.Generator) -> None:
        nouns, verbs, adjectives = (words.split() for words in TOPICS[topic])
        self.rng = rng
        # Each source ranks its words in its own order, so that two sources on the same
        # topic (more sources than topics) still differ in which words dominate.
        self.nouns = [str(w) for w in rng.permutation(nouns)]
        self.verbs = [str(w) for w in rng.permutation(verbs)]
        self.adjectives = [str(w) for w in rng.permutation(adjectives)]

    def pick(self, words: list[str] | tuple[str, ...], zipf: bool = False) -> str:
        # One uniform draw and a search per word: rng.choice(p=...) is ten times slower.
        u = self.rng.random()
        if not zipf:
            return words[int(u * len(words))]
        return words[int(np.searchsorted(_ZIPF[len(words)], u, side="right"))]

    def noun_phrase(self, article: bool = True) -> str:
        words: list[str] = []
        if self.rng.random() < 0.4:
            words.append(self.pick(self.adjectives, zipf=True))
        words.append(self.pick(self.nouns, zipf=True))
        if article:
            first = self.pick(_ARTICLES)
            words.insert(0, "an" if first == "a" and words[0][0] in "aeiou" else first)
        return " ".join(words)

    def verb(self) -> str:
        verb = self.pick(self.verbs, zipf=True)
        return f"{self.pick(_ADVERBS)} {verb}" if self.rng.random() < 0.2 else verb

    def clause(self, shape: str) -> str:
        parts: list[str] = []
        for symbol in shape:
            if symbol == "S":
                parts.append(self.noun_phrase())
            elif symbol == "V":
                parts.append(self.verb())
            elif symbol == "O":
                parts.append(self.noun_phrase())
            elif symbol == "P":
                parts.append(f"{self.pick(_PREPOSITIONS)} {self.noun_phrase()}")
            elif symbol == "A":
                parts.append(self.pick(_OPENERS) + ",")
            elif symbol == "C":
                parts.append(self.pick(_CONJUNCTIONS))
            elif symbol == "Q":
                parts.append("which " + self.noun_phrase(article=False))
        return " ".join(parts)

    def sentence(self) -> str:
        template = _TEMPLATES[int(np.searchsorted(_TEMPLATE_CDF, self.rng.random(),
                                                  side="right"))]
        text = ", ".join(self.clause(shape) for shape in template.split(","))
        end = "?" if template.startswith("Q") else "."
        return text[0].upper() + text[1:] + end

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(int(self.rng.integers(3, 8))))


def generate_corpus(n_sources: int = 8, words_per_source: int = 4000,
                    seed: int = 0) -> list[tuple[str, str]]:
    """Write ``n_sources`` topic texts of about ``words_per_source`` words each.

    Parameters
    ----------
    n_sources
        Number of sources; source ``i`` is on topic ``list(TOPICS)[i % len(TOPICS)]``.
    words_per_source
        Whitespace-separated words per source: paragraphs are added until the count
        is reached, so a source has at least this many (and at most one paragraph more).
    seed
        Seed of the generator; the same arguments always give the same corpus, and
        source ``i`` does not depend on ``n_sources``.

    Returns
    -------
    list of (str, str)
        ``(name, text)`` pairs named ``topic-00.txt``, ``topic-01.txt``, ...: plain
        ASCII, paragraphs separated by a blank line, ending with a newline.

    Raises
    ------
    ValueError
        If ``n_sources`` or ``words_per_source`` is below 1.
    """
    if n_sources < 1 or words_per_source < 1:
        raise ValueError(f"generate_corpus needs n_sources >= 1 and words_per_source >= 1 "
                         f"(got {n_sources} and {words_per_source})")
    topics = list(TOPICS)
    # One child generator per source: source i is the same whatever n_sources is.
    streams = np.random.default_rng(seed).spawn(n_sources)
    corpus: list[tuple[str, str]] = []
    for i, rng in enumerate(streams):
        writer = _Writer(topics[i % len(topics)], rng)
        paragraphs: list[str] = []
        words = 0
        while words < words_per_source:
            paragraphs.append(writer.paragraph())
            words += len(paragraphs[-1].split())
        corpus.append((f"topic-{i:02d}.txt", "\n\n".join(paragraphs) + "\n"))
    return corpus
