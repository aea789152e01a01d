#!/usr/bin/env python3
"""Makes Hearth's built-in evaluation suite, `core`, byte for byte, from Debian packages.

    scripts/make-suite.py            writes Sources/HearthEval/Suites/core/
    scripts/make-suite.py --check    makes it in a temporary folder and compares it with the
                                     committed files (exit 1 on any difference)
    scripts/make-suite.py --out DIR  writes it somewhere else

The sources are files of Debian packages, each checked by sha256 before anything is made:

    wordnet-base   WordNet 3.0 (Princeton's WordNet 3.0 license)     definitions, synonyms,
                                                                      hypernyms, antonyms
    dict-elements  Jay Kominek's elements database (public domain)   elements
    dict-devil     Ambrose Bierce's The Devil's Dictionary (public domain, 1911)
                                                                      devils_dictionary
    (none)         written by this script from a seeded generator    arithmetic

Install them with `apt-get install wordnet-base dict-elements dict-devil`. The output depends
only on those files and this script: every choice is drawn from Python's `random.Random` with a
fixed seed per task, every collection is sorted before it is drawn from, and JSON is written
with a fixed key order, so the files are the same on every machine and a hub finds them by
sha256. Each task is a folder with `task.yaml` (lm-evaluation-harness's task format, the
subset `hearth eval` reads), `data.jsonl` and a README saying where it comes from.
"""
import argparse
import filecmp
import gzip
import hashlib
import json
import random
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "Sources/HearthEval/Suites/core"
WORDNET = Path("/usr/share/wordnet")
DICTD = Path("/usr/share/dictd")

# sha256 of every source file (of dictd's .dz files: of the uncompressed text), as Debian 12
# ships them (wordnet-base 1:3.0-37, dict-elements 20001107-a-9.1, dict-devil 1.0-13.1).
SOURCES = {
    WORDNET / "data.noun": "fea17d2f9656611334eac790e5d69e47645fa180c4aa481fb4cd9b3520754ca2",
    WORDNET / "data.verb": "adcf43e35b581e8036d8b5a52d63d9cd3d3b4870b2720d3c03c799df44777bc2",
    WORDNET / "data.adj": "c89120dfc1f046ddff4a631bf9b7e9fa1a36b5e86565a23bf82dbe14f30b88a7",
    WORDNET / "index.noun": "a490d99d93d017bf4822fe2f0ffa51fd73911ce271dc7535fade21f8814b5a04",
    WORDNET / "index.verb": "e2ac24816c3a8289dcb72aaa9cf8db81fdf25ec34d792bfc96ac5b7a20c8b4ae",
    WORDNET / "index.adj": "c9865d7b4d1f805bdef82ccdcea5282436e23083e6f6f1b33e716327c4eda810",
    WORDNET / "cntlist.rev": "a198580b8f705fa02797bba8b13e5cbe4a9f9f40cb1697e774c7fc6a5865b035",
    DICTD / "elements.dict.dz": "e9efe696aee6184927471a061b779d3451ac92b2901469a679c88460ada721f4",
    DICTD / "elements.index": "fe6025a9c45073cb13769daa43c91bab0c058a7555f8c922f39c76624ae2dccc",
    DICTD / "devil.dict.dz": "703d1225d2fb927653bfd8b00e4e96938e0b630c6023edd26702ac6ed50383f8",
    DICTD / "devil.index": "c53a3f8d1f889c44716782fe64796d162b7083d239545cf9e7e7c0a390d4ccde",
}
PACKAGES = {"wordnet": "wordnet-base", "elements": "dict-elements", "devil": "dict-devil"}

WORDNET_LICENSE = """WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
Permission to use, copy, modify and distribute this software and database and its
documentation for any purpose and without fee or royalty is hereby granted, provided that
this copyright notice and these statements, including the disclaimer, appear on all copies.
THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION,
PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR
ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL
NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS. The name of
Princeton University or Princeton may not be used in advertising or publicity pertaining to
distribution of the software and/or database. Title to copyright in this software, database
and any associated documentation shall at all times remain with Princeton University."""


def die(message):
    print(f"make-suite: {message}", file=sys.stderr)
    sys.exit(1)


def read_source(path):
    """The bytes of a source file (a dictd .dz file uncompressed), checked against its pin."""
    if not path.exists():
        package = next(p for k, p in PACKAGES.items() if k in path.name or (k == "wordnet" and path.parent == WORDNET))
        die(f"{path} is missing: install the Debian package {package} (apt-get install {package})")
    data = path.read_bytes()
    if path.suffix == ".dz":
        data = gzip.decompress(data)
    got = hashlib.sha256(data).hexdigest()
    want = SOURCES[path]
    if want and got != want:
        die(f"{path}: sha256 {got}, expected {want}: not the file the suite was made from")
    return data


# --- WordNet ---------------------------------------------------------------------------------

class WordNet:
    """The parts of WordNet's database (wndb(5WN)) the tasks use."""

    def __init__(self):
        self.synsets = {}   # (pos, offset) -> {"words": [...], "pointers": [...], "gloss": str}
        self.senses = {}    # (pos, lemma) -> [offset, ...], most frequent sense first
        for pos, name in (("n", "noun"), ("v", "verb"), ("a", "adj")):
            for line in read_source(WORDNET / f"data.{name}").decode("utf-8").splitlines():
                if line.startswith("  "):
                    continue   # the license at the top
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                offset, count = fields[0], int(fields[3], 16)
                words = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).lower() for i in range(count)]
                at = 4 + 2 * count
                pointers = []
                for i in range(int(fields[at])):
                    symbol, target, target_pos, source_target = fields[at + 1 + 4 * i: at + 5 + 4 * i]
                    pointers.append((symbol, target, "a" if target_pos == "s" else target_pos, source_target))
                self.synsets[(pos, offset)] = {"words": words, "pointers": pointers, "gloss": gloss.strip(), "lexfile": fields[1]}
            for line in read_source(WORDNET / f"index.{name}").decode("utf-8").splitlines():
                if line.startswith("  "):
                    continue
                fields = line.split()
                lemma, synset_count, pointer_count = fields[0], int(fields[2]), int(fields[3])
                self.senses[(pos, lemma)] = fields[-synset_count:]
        # How often each word was tagged in the Semantic Concordance, over all its senses:
        # how common the word is in running text.
        self.frequency = {}
        for line in read_source(WORDNET / "cntlist.rev").decode("utf-8").splitlines():
            key, _, count = line.split()
            lemma, kind = key.split("%")[0], key.split("%")[1][0]
            pos = {"1": "n", "2": "v", "3": "a", "5": "a"}.get(kind)
            if pos:
                self.frequency[(pos, lemma)] = self.frequency.get((pos, lemma), 0) + int(count)

    def common(self, pos, at_least):
        """Single plain words of `pos` tagged at least `at_least` times, sorted."""
        return sorted(lemma for (p, lemma), n in self.frequency.items()
                      if p == pos and n >= at_least and re.fullmatch(r"[a-z]{3,}", lemma) and (pos, lemma) in self.senses)

    def first_sense(self, pos, lemma):
        return self.synsets[(pos, self.senses[(pos, lemma)][0])]

    def definition(self, synset):
        """The gloss without its quoted examples: the text before the first `; "`."""
        return re.split(r';?\s*"', synset["gloss"], maxsplit=1)[0].strip().rstrip(";").strip()

    def hypernym(self, pos, synset):
        for symbol, target, target_pos, _ in synset["pointers"]:
            if symbol in ("@", "@i") and target_pos == pos:
                return (pos, target)
        return None

    def ancestors(self, pos, offset):
        seen, todo = set(), [(pos, offset)]
        while todo:
            key = todo.pop()
            for symbol, target, target_pos, _ in self.synsets[key]["pointers"]:
                if symbol in ("@", "@i") and (target_pos, target) not in seen:
                    seen.add((target_pos, target))
                    todo.append((target_pos, target))
        return seen

    def synonyms(self, pos, lemma):
        """Every word that shares a sense with `lemma`."""
        return {w for offset in self.senses.get((pos, lemma), []) for w in self.synsets[(pos, offset)]["words"]}


def related(a, b):
    """Words too alike to be told apart fairly: one contains the other, or they share a stem."""
    return a in b or b in a or a[:4] == b[:4]


def shuffled_choices(rng, gold, distractors):
    choices = [gold] + distractors
    rng.shuffle(choices)
    return choices, choices.index(gold)


def definitions(wn):
    """Cloze: a definition, then the word, scored among four words of the same part of speech
    whose most frequent senses are in the same lexicographer file (noun.animal, verb.motion,
    ...): words of one kind, so that the choice needs the meaning, not the topic."""
    rng = random.Random(101)
    docs = []
    for pos, count in (("n", 280), ("v", 140), ("a", 80)):
        pool = wn.common(pos, 8)
        kind = {w: wn.first_sense(pos, w)["lexfile"] for w in pool}
        for word in rng.sample(pool, len(pool)):
            if len([d for d in docs if d["pos"] == pos]) == count:
                break
            definition = wn.definition(wn.first_sense(pos, word))
            if not definition or word in definition.lower() or len(definition) > 160:
                continue
            same = wn.synonyms(pos, word)
            candidates = [w for w in pool if kind[w] == kind[word] and w not in same and not related(w, word) and w not in definition.lower()]
            distractors = []
            for w in rng.sample(candidates, min(12, len(candidates))):
                if len(distractors) < 3 and all(not related(w, d) for d in distractors):
                    distractors.append(w)
            if len(distractors) < 3:
                continue
            choices, answer = shuffled_choices(rng, word, distractors)
            docs.append({"definition": definition, "pos": pos, "choices": choices, "answer": answer})
    return docs


def synonyms(wn):
    """Lettered multiple choice (MMLU's shape): which of four words means the same as a word.
    The right letter cycles A, B, C, D, so a model that always answers one letter scores 25%.
    Returns the docs and three more, solved in the task's description."""
    rng = random.Random(202)
    docs = []
    for pos, count in (("n", 201), ("v", 201), ("a", 101)):
        pool = wn.common(pos, 3)
        common = wn.common(pos, 10)
        for word in rng.sample(common, len(common)):
            if len([d for d in docs if d["pos"] == pos]) == count:
                break
            sense = wn.first_sense(pos, word)
            options = sorted(w for w in sense["words"] if w != word and w in pool and not related(w, word))
            if not options:
                continue
            synonym = rng.choice(options)
            same = wn.synonyms(pos, word) | wn.synonyms(pos, synonym)
            distractors = []
            for w in rng.sample(pool, 12):
                if len(distractors) < 3 and w not in same and not related(w, word) and all(not related(w, d) for d in distractors + [synonym]):
                    distractors.append(w)
            rng.shuffle(distractors)
            answer = len(docs) % 4
            docs.append({"word": word, "pos": pos, "choices": distractors[:answer] + [synonym] + distractors[answer:], "answer": answer})
    # One of each part of speech for the description, the rest asked.
    shown = [next(i for i, d in enumerate(docs) if d["pos"] == pos) for pos in ("n", "v", "a")]
    return [d for i, d in enumerate(docs) if i not in shown], [docs[i] for i in shown]


def hypernyms(wn):
    """Cloze: a noun, then its category (its first sense's hypernym), among four categories."""
    rng = random.Random(303)
    pool = wn.common("n", 6)
    category = {}
    for word in pool:
        offset = wn.senses[("n", word)][0]
        parent = wn.hypernym("n", wn.synsets[("n", offset)])
        if parent:
            name = wn.synsets[parent]["words"][0].replace("_", " ")
            if not related(name, word):
                category[word] = (name, wn.ancestors("n", offset))
    names = sorted({name for name, _ in category.values()})
    docs = []
    for word in rng.sample(sorted(category), len(category)):
        if len(docs) == 500:
            break
        name, ancestors = category[word]
        excluded = {w.replace("_", " ") for key in ancestors for w in wn.synsets[key]["words"]}
        distractors = []
        for other in rng.sample(names, 20):
            if len(distractors) < 3 and other != name and other not in excluded and not related(other, word) \
                    and all(not related(other, d) for d in distractors + [name]):
                distractors.append(other)
        choices, answer = shuffled_choices(rng, name, distractors)
        docs.append({"word": word, "choices": choices, "answer": answer})
    return docs


def antonyms(wn):
    """Generation: the opposite of a word, exact match. Only words with one antonym in WordNet."""
    rng = random.Random(404)
    opposite = {}
    for (pos, offset), synset in sorted(wn.synsets.items()):
        for symbol, target, target_pos, source_target in synset["pointers"]:
            if symbol != "!":
                continue
            source, goal = int(source_target[:2], 16), int(source_target[2:], 16)
            word, other = synset["words"][source - 1], wn.synsets[(target_pos, target)]["words"][goal - 1]
            opposite.setdefault((pos, word), set()).add(other)
    docs = []
    for (pos, word) in sorted(opposite):
        answers = opposite[(pos, word)]
        if len(answers) != 1:
            continue
        answer = next(iter(answers))
        if wn.frequency.get((pos, word), 0) >= 2 and re.fullmatch(r"[a-z]{3,}", word) and re.fullmatch(r"[a-z]{3,}", answer) \
                and wn.frequency.get((pos, answer), 0) >= 1:
            docs.append({"word": word, "answer": answer})
    rng.shuffle(docs)
    return docs[:400], docs[400:405]


def arithmetic():
    """Generation: sums, differences and products, written by a seeded generator."""
    rng = random.Random(505)
    docs = []
    kinds = [("+", lambda: (rng.randint(10, 99), rng.randint(10, 99))),
             ("+", lambda: (rng.randint(100, 999), rng.randint(100, 999))),
             ("-", lambda: tuple(sorted((rng.randint(10, 99), rng.randint(10, 99)), reverse=True))),
             ("*", lambda: (rng.randint(2, 9), rng.randint(11, 99)))]
    for i in range(403):
        op, draw = kinds[i % len(kinds)]
        a, b = draw()
        answer = a + b if op == "+" else a - b if op == "-" else a * b
        docs.append({"a": a, "op": op, "b": b, "answer": str(answer)})
    return docs[3:], docs[:3]


# --- dictd files -----------------------------------------------------------------------------

def dictd_entries(name, encoding="utf-8"):
    """(headword, text) of a dictd database, in its index's order, without its 00-database entries."""
    text = read_source(DICTD / f"{name}.dict.dz")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def number(s):
        value = 0
        for c in s:
            value = value * 64 + alphabet.index(c)
        return value
    entries = []
    for line in read_source(DICTD / f"{name}.index").decode("utf-8").splitlines():
        headword, offset, length = line.split("\t")
        if not headword.startswith("00database"):
            start = number(offset)
            entries.append((headword, text[start:start + number(length)].decode(encoding)))
    return entries


def elements():
    """Cloze: an element's symbol from its name, and its name from its atomic number."""
    rng = random.Random(606)
    table = []
    for headword, text in dictd_entries("elements", "latin-1"):   # the database predates UTF-8 in dictd
        symbol = re.search(r"^Symbol: (\w+)$", text, re.M)
        number = re.search(r"^Atomic number: (\d+)$", text, re.M)
        if symbol and number:
            table.append((int(number.group(1)), headword.strip().lower(), symbol.group(1)))
    # The database names the elements past 103 by IUPAC's old systematic names (unnilquadium,
    # ...) beside the names they have now: only the first 103, whose names never changed.
    table = sorted({t for t in table if t[0] <= 103})
    docs = []
    for number, name, symbol in table:
        # Distractors from the element's neighbourhood in the table (atomic numbers within 12).
        others = [t for t in table if t[0] != number and abs(t[0] - number) <= 12]
        picked = rng.sample(others, 3)
        choices, answer = shuffled_choices(rng, symbol, [t[2] for t in picked])
        docs.append({"question": f"The chemical symbol for {name} is", "choices": choices, "answer": answer})
        picked = rng.sample(others, 3)
        choices, answer = shuffled_choices(rng, name, [t[1] for t in picked])
        docs.append({"question": f"{symbol} is the chemical symbol for", "choices": choices, "answer": answer})
    rng.shuffle(docs)
    return docs


def devils_dictionary():
    """Rolling log-likelihood: the dictionary's shorter entries as documents."""
    docs = []
    for headword, text in dictd_entries("devil"):
        text = re.sub(r"[{}]", "", text)   # dictd's cross-reference braces
        # Lines kept, their indentation and runs of spaces (typewriter layout) made single spaces.
        text = "\n".join(" ".join(line.split()) for line in text.strip().splitlines())
        if 40 <= len(text) <= 600:
            docs.append({"text": text})
    return docs


# --- the suite -------------------------------------------------------------------------------

COMMON_README = """
Made by `scripts/make-suite.py` (run it to make these files again, byte for byte; `--check`
compares). Part of Hearth's built-in suite: `hearth eval MODEL --tasks core`, or this task
alone with `--tasks {name}`.
"""

def multiple_choice_yaml(name, doc_to_text, doc_to_choice="choices", description=False):
    """The task.yaml of a multiple-choice task: `doc_to_text` as YAML double-quoted text; the
    gold answer is the doc's `answer` index; a description is filled in by write_suite."""
    return (f"task: {name}\ndataset_path: data.jsonl\noutput_type: multiple_choice\n"
            + ('description: "{examples}"\n' if description else "")
            + f'doc_to_text: "{doc_to_text}"\ndoc_to_choice: {doc_to_choice}\ndoc_to_target: answer\ntarget_delimiter: " "\n'
            + "num_fewshot: 0\nmetric_list: [{metric: acc}, {metric: acc_norm}]\n")


def generation_yaml(name, description, doc_to_text, max_tokens, filter_name, steps):
    """The task.yaml of a generate_until task scored by exact match: greedy up to the end of
    the line, then the filter steps (lm-eval's, ending with take_first as its tasks do)."""
    return (f"task: {name}\ndataset_path: data.jsonl\noutput_type: generate_until\n"
            f'description: "{description}"\ndoc_to_text: "{doc_to_text}"\ndoc_to_target: answer\ntarget_delimiter: " "\n'
            f'num_fewshot: 0\ngeneration_kwargs: {{until: ["\\n"], max_gen_toks: {max_tokens}}}\n'
            f"filter_list: [{{name: {filter_name}, filter: [{steps}, {{function: take_first}}]}}]\n"
            "metric_list: [{metric: exact_match}]\n")


def synonym_question(doc):
    """The synonyms task's prompt, as its doc_to_text writes it."""
    return f"Which word is closest in meaning to \"{doc['word']}\"?\n" + "".join(f"{l}. {c}\n" for l, c in zip("ABCD", doc["choices"])) + "Answer:"


TASKS = {
    "definitions": dict(
        make=definitions, wordnet=True,
        yaml=multiple_choice_yaml("definitions", "Definition: {{definition}}\\nWord:"),
        readme="""# definitions

Multiple choice, scored as a cloze: a definition, then `Word:`, and the model's likelihood of
each of four words: the word defined and three others of the same part of speech whose most
frequent senses are in the same WordNet lexicographer file (noun.animal, verb.motion, ...),
all tagged at least 8 times in WordNet's Semantic Concordance. 280 nouns, 140 verbs and 80
adjectives; the definition is the gloss of the word's most frequent sense without its quoted
examples, and never contains the word. Chance is 25%.

Source: WordNet 3.0 (`/usr/share/wordnet` of Debian's `wordnet-base`): `data.*` for glosses
and senses, `index.*` for sense order, `cntlist.rev` for frequencies.
"""),
    "synonyms": dict(
        make=synonyms, wordnet=True,
        solved=lambda e: synonym_question(e) + " " + "ABCD"[e["answer"]] + "\n\n",
        yaml=multiple_choice_yaml(
            "synonyms", 'Which word is closest in meaning to \\"{{word}}\\"?\\nA. {{choices[0]}}\\nB. {{choices[1]}}\\nC. {{choices[2]}}\\nD. {{choices[3]}}\\nAnswer:',
            doc_to_choice='["A", "B", "C", "D"]', description=True),
        readme="""# synonyms

Lettered multiple choice, in the shape of MMLU: three solved questions (the same for every
question, words not asked), then a word, four words marked A to D, and the model's
likelihood of each letter after `Answer:`. The right one shares the word's most frequent
sense (its WordNet synset); the other three share no sense with the word or the answer, and
no word is a stem of another. 200 nouns, 200 verbs, 100 adjectives, the asked word tagged at
least 10 times in the Semantic Concordance and the choices at least 3. The right letter
cycles A, B, C, D, so a model that always answers one letter scores exactly chance, 25%.

Source: WordNet 3.0 (`/usr/share/wordnet` of Debian's `wordnet-base`).
"""),
    "hypernyms": dict(
        make=hypernyms, wordnet=True,
        yaml=multiple_choice_yaml("hypernyms", "Word: {{word}}\\nIt is a kind of:"),
        readme="""# hypernyms

Multiple choice, scored as a cloze: a noun, then `It is a kind of:`, and the model's
likelihood of four categories: the hypernym of the noun's most frequent sense (its first
word) and three hypernyms of other nouns, none of them an ancestor of the noun in WordNet.
500 nouns tagged at least 6 times in the Semantic Concordance. Chance is 25%.

Source: WordNet 3.0 (`/usr/share/wordnet` of Debian's `wordnet-base`).
"""),
    "antonyms": dict(
        make=antonyms, wordnet=True,
        solved=lambda e: f"{e['word']} -> {e['answer']}\n",
        yaml=generation_yaml("antonyms", "Write the opposite of each word.\\n\\n{examples}", "{{word}} ->", 10,
                             "strip", "{function: remove_whitespace}, {function: lowercase}"),
        readme="""# antonyms

Generation with exact match: an instruction and five examples of `word -> opposite` (the
same five for every question, pairs not asked), then a word and `->`; the model's greedy
continuation up to the end of the line, stripped and lowercased, must be the word's antonym.
Only words with exactly one antonym in WordNet (over all their senses) are asked, so the
answer is not a matter of taste; nouns, verbs and adjectives, the asked word tagged at least
twice in the Semantic Concordance. 400 pairs.

Source: WordNet 3.0's antonym pointers (`!` in `data.*` of Debian's `wordnet-base`).
"""),
    "arithmetic": dict(
        make=lambda wn: arithmetic(),
        solved=lambda e: f"Question: What is {e['a']} {e['op']} {e['b']}?\nAnswer: {e['answer']}\n\n",
        yaml=generation_yaml("arithmetic", "{examples}", "Question: What is {{a}} {{op}} {{b}}?\\nAnswer:", 8,
                             "number", '{function: regex, regex_pattern: "(-?[0-9]+)", group_select: 0}'),
        readme="""# arithmetic

Generation with exact match: three solved examples (the same for every question, in the
task's description), then `Question: What is A op B?` and `Answer:`; the first number of the model's greedy answer must be the result. 100 each of
two-digit sums, three-digit sums, two-digit differences (never negative) and products of a
digit and a two-digit number.

Source: written by `scripts/make-suite.py` from a seeded random generator; no license
restricts it (the project's own data).
"""),
    "elements": dict(
        make=lambda wn: elements(),
        yaml=multiple_choice_yaml("elements", "{{question}}"),
        readme="""# elements

Multiple choice, scored as a cloze: for every element, its symbol from its name (`The
chemical symbol for sodium is` Na / ...) and its name from its symbol (`Na is the chemical
symbol for` sodium / ...), each among four: the other three are elements within 12 atomic
numbers of it. Elements 1 to 103 (the database gives the heavier ones the provisional names
of 2000). Chance is 25%.

Source: Jay Kominek's elements database (`/usr/share/dictd/elements.dict.dz` of Debian's
`dict-elements`), which its author placed in the public domain.
"""),
    "devils_dictionary": dict(
        make=lambda wn: devils_dictionary(),
        yaml="""task: devils_dictionary
dataset_path: data.jsonl
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: text
metric_list: [{metric: word_perplexity}, {metric: byte_perplexity}, {metric: bits_per_byte}]
""",
        readme="""# devils_dictionary

Rolling log-likelihood (lm-evaluation-harness's `loglikelihood_rolling`): word and byte
perplexity and bits per byte over the entries of Ambrose Bierce's *The Devil's Dictionary*
that are 40 to 600 characters long (dictd's cross-reference braces removed, and the
typewriter layout's indentation and runs of spaces made single spaces; lines are kept). English prose
from 1881-1906 that no instruction tuning has made easy.

Source: `/usr/share/dictd/devil.dict.dz` of Debian's `dict-devil`, the Internet Wiretap
edition of 1993. The text is in the public domain (copyright 1911, expired).
"""),
}

def write_suite(out):
    wn = WordNet()
    out.mkdir(parents=True, exist_ok=True)
    summary = []
    for name, task in TASKS.items():
        made = task["make"](wn)
        # A task with `solved` also gives fixed solved examples, written into its description
        # (a YAML double-quoted string) so that every tool builds the same prompt: few-shot
        # samplers differ between tools.
        docs, examples = made if "solved" in task else (made, None)
        yaml = task["yaml"].replace("{examples}", json.dumps("".join(map(task["solved"], examples)))[1:-1]) if examples else task["yaml"]
        folder = out / name
        folder.mkdir(exist_ok=True)
        with open(folder / "data.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for doc in docs:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        (folder / "task.yaml").write_text(yaml, encoding="utf-8")
        readme = task["readme"] + COMMON_README.format(name=name)
        if task.get("wordnet"):
            readme += "\n## License\n\nThe data is derived from WordNet 3.0, under its license:\n\n" \
                + "\n".join("    " + line for line in WORDNET_LICENSE.splitlines()) + "\n"
        (folder / "README.md").write_text(readme, encoding="utf-8")
        summary.append(f"{name}: {len(docs)} examples")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="make the suite in a temporary folder and compare it with the committed one")
    parser.add_argument("--out", type=Path, default=SUITE, help=f"where to write it (default {SUITE.relative_to(ROOT)})")
    args = parser.parse_args()
    if not args.check:
        for line in write_suite(args.out):
            print(line)
        return
    with tempfile.TemporaryDirectory() as tmp:
        write_suite(Path(tmp))
        made = sorted(p.relative_to(tmp) for p in Path(tmp).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(SUITE) for p in SUITE.rglob("*") if p.is_file())
        if made != committed:
            die(f"the committed suite has files {[str(p) for p in committed]}, the script makes {[str(p) for p in made]}")
        different = [str(p) for p in made if not filecmp.cmp(Path(tmp) / p, SUITE / p, shallow=False)]
        if different:
            die(f"{', '.join(different)} differ from what scripts/make-suite.py makes: run it and commit")
        print(f"make-suite: the {len(made)} files of {SUITE.relative_to(ROOT)} are what the script makes")


if __name__ == "__main__":
    main()
