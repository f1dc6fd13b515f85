#!/usr/bin/env python3
"""Generates shared/src/numbering/table.rs from libphonenumber's metadata.

Usage (from the repository root):

    python3 -m pip install phonenumbers==9.0.43
    python3 scripts/gen-numbering.py > shared/src/numbering/table.rs

The metadata comes from the PyPI package `phonenumbers`, whose version number
is the libphonenumber release its metadata was taken from. The generated file
names that version and the date it was generated; bump PINNED_VERSION (and the
pip line in scripts/test) together when regenerating from newer metadata.

What is generated, per calling code: the regions sharing it in
libphonenumber's order, the possible lengths of its national numbers (those of
the code's main region, which is what libphonenumber checks), the main
region's national (trunk) prefix and whether a number may start with it. Per
region: its possible lengths, its national prefix, its emergency number and the
rule that tells whether a number of a shared code is the region's. That rule is
libphonenumber's `region_code_for_number`: the region's `leading_digits` where
it has them (a prefix match), otherwise full validity against the region's
number patterns. Both are turned into sorted digit-prefix tables here, by
walking an automaton built from each pattern, so that no regex runs at run
time: a leading-digits table holds the shortest prefixes the pattern matches; a
validity table holds, per national-number length, the shortest prefixes all of
whose completions to that length are valid.
"""

import datetime
import re
import textwrap
import sys

try:
    import re._parser as sre_parse  # Python 3.11+
    import re._constants as sre_c
except ImportError:  # pragma: no cover
    import sre_parse
    import sre_constants as sre_c

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

PINNED_VERSION = "9.0.43"
DIGITS = "0123456789"

# Source of the emergency numbers, written into the generated file.
EMERGENCY_SOURCE = (
    "the country table's choice (shared/src/country/table.rs, sources and judgement explained there) for every "
    "region with a row there; for the regions without one (Ascension, Kosovo, Tristan da Cunha) the first of "
    "112, 911, 999, 000 that libphonenumber's short-number metadata lists as an emergency number of the region, "
    "else the number of the ISO 3166-1 country the region belongs to"
)
# Regions libphonenumber has that ISO 3166-1 folds into another country.
PART_OF = {"AC": "SH", "TA": "SH"}


# ---------------------------------------------------------------------------
# A pattern as a nondeterministic automaton over the ten digits.


class Nfa:
    def __init__(self, pattern):
        self.trans = []  # state -> [(frozenset of digits, target)]
        self.eps = []  # state -> [target]
        self.start = self.new()
        self.accept = self.build(sre_parse.parse(pattern), self.start)
        self._closure = {}

    def new(self):
        self.trans.append([])
        self.eps.append([])
        return len(self.trans) - 1

    def edge(self, a, digits):
        b = self.new()
        self.trans[a].append((frozenset(digits), b))
        return b

    def build(self, items, start):
        cur = start
        for op, av in items:
            cur = self.build_one(op, av, cur)
        return cur

    def build_one(self, op, av, cur):
        if op == sre_c.LITERAL:
            return self.edge(cur, chr(av) if chr(av) in DIGITS else "")
        if op == sre_c.ANY:
            return self.edge(cur, DIGITS)
        if op == sre_c.IN:
            return self.edge(cur, charset(av))
        if op == sre_c.SUBPATTERN:
            return self.build(av[-1], cur)
        if op == sre_c.BRANCH:
            end = self.new()
            for alt in av[1]:
                s = self.new()
                self.eps[cur].append(s)
                self.eps[self.build(alt, s)].append(end)
            return end
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            lo, hi, sub = av
            for _ in range(lo):
                cur = self.build(sub, cur)
            if hi == sre_c.MAXREPEAT:
                loop = self.new()
                self.eps[cur].append(loop)
                self.eps[self.build(sub, loop)].append(loop)
                return loop
            end = self.new()
            for _ in range(hi - lo):
                self.eps[cur].append(end)
                cur = self.build(sub, cur)
            self.eps[cur].append(end)
            return end
        raise ValueError(f"unsupported regex construct {op} {av}")

    def closure(self, states):
        key = frozenset(states)
        got = self._closure.get(key)
        if got is None:
            seen, todo = set(key), list(key)
            while todo:
                for t in self.eps[todo.pop()]:
                    if t not in seen:
                        seen.add(t)
                        todo.append(t)
            got = self._closure[key] = frozenset(seen)
        return got

    def initial(self):
        return self.closure([self.start])

    def step(self, states, d):
        return self.closure([t for s in states for (ds, t) in self.trans[s] if d in ds])

    def accepts(self, states):
        return self.accept in states


def charset(items):
    out, negate = set(), False
    for op, av in items:
        if op == sre_c.NEGATE:
            negate = True
        elif op == sre_c.LITERAL:
            out.add(chr(av))
        elif op == sre_c.RANGE:
            out.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op == sre_c.CATEGORY and av == sre_c.CATEGORY_DIGIT:
            out.update(DIGITS)
        else:
            raise ValueError(f"unsupported class item {op} {av}")
    out &= set(DIGITS)
    return set(DIGITS) - out if negate else out


# ---------------------------------------------------------------------------
# Prefix tables.


def runs(digits):
    """Consecutive digits as (lo, hi) runs."""
    out = []
    for d in sorted(int(x) for x in digits):
        if out and out[-1][1] == d - 1:
            out[-1][1] = d
        else:
            out.append([d, d])
    return [tuple(r) for r in out]


def leading_prefixes(pattern):
    """Shortest digit strings p such that `re.match(pattern, n)` holds exactly
    when n starts with one of them, as (stem, lo, hi) entries."""
    nfa = Nfa(pattern)
    out = []

    def walk(stem, states):
        hits, deeper = [], []
        for d in DIGITS:
            nxt = nfa.step(states, d)
            if not nxt:
                continue
            if nfa.accepts(nxt):
                hits.append(d)
            else:
                deeper.append((d, nxt))
        for lo, hi in runs(hits):
            out.append((stem, lo, hi))
        for d, nxt in deeper:
            walk(stem + d, nxt)

    if nfa.accepts(nfa.initial()):
        raise ValueError(f"leading digits {pattern!r} match the empty string")
    walk("", nfa.initial())
    return out


class Validity:
    """Full-match validity of a national number of one length, as libphonenumber's
    `_number_type_helper` decides it: the general pattern and at least one
    number-type pattern whose possible lengths include the length."""

    def __init__(self, general, types, length):
        self.general = general
        self.types = [t for t in types if length in t[1]]
        self.memo = {}

    def initial(self):
        return (self.general.initial(), tuple(t[0].initial() for t in self.types))

    def step(self, state, d):
        g, ts = state
        return (self.general.step(g, d), tuple(t[0].step(s, d) for t, s in zip(self.types, ts)))

    def accepting(self, state):
        g, ts = state
        return self.general.accepts(g) and any(t[0].accepts(s) for t, s in zip(self.types, ts))

    def status(self, state, remaining):
        """'all', 'none' or 'some' of the completions of `remaining` digits are valid."""
        key = (state, remaining)
        got = self.memo.get(key)
        if got is not None:
            return got
        g, ts = state
        if not g or not any(ts):
            got = "none"
        elif remaining == 0:
            got = "all" if self.accepting(state) else "none"
        else:
            kids = {self.status(self.step(state, d), remaining - 1) for d in DIGITS}
            got = kids.pop() if len(kids) == 1 else "some"
        self.memo[key] = got
        return got


def validity_prefixes(meta):
    """Per possible length, the shortest prefixes all of whose completions to
    that length are valid numbers of the region: (length, stem, lo, hi)."""
    general = Nfa(meta.general_desc.national_number_pattern)
    types = []
    for desc in (
        meta.premium_rate,
        meta.toll_free,
        meta.shared_cost,
        meta.voip,
        meta.personal_number,
        meta.pager,
        meta.uan,
        meta.voicemail,
        meta.fixed_line,
        meta.mobile,
    ):
        if desc is None or not desc.national_number_pattern:
            continue
        lengths = desc.possible_length or meta.general_desc.possible_length
        types.append((Nfa(desc.national_number_pattern), set(lengths)))
    out = []
    for length in sorted(meta.general_desc.possible_length):
        v = Validity(general, types, length)

        def walk(stem, state, remaining):
            hits, deeper = [], []
            for d in DIGITS:
                nxt = v.step(state, d)
                s = v.status(nxt, remaining - 1)
                if s == "all":
                    hits.append(d)
                elif s == "some":
                    deeper.append((d, nxt))
            for lo, hi in runs(hits):
                out.append((length, stem, lo, hi))
            for d, nxt in deeper:
                walk(stem + d, nxt, remaining - 1)

        top = v.status(v.initial(), length)
        if top == "all":
            out.append((length, "", 0, 9))
        elif top == "some":
            walk("", v.initial(), length)
    return out


def finite_language(pattern, max_len=6):
    """Every string the pattern fully matches, up to max_len digits."""
    nfa = Nfa(pattern)
    out = []

    def walk(stem, states):
        if nfa.accepts(states):
            out.append(stem)
        if len(stem) < max_len:
            for d in DIGITS:
                nxt = nfa.step(states, d)
                if nxt:
                    walk(stem + d, nxt)

    walk("", nfa.initial())
    return out


# ---------------------------------------------------------------------------
# Emergency numbers.

PREFERRED_EMERGENCY = ["112", "911", "999", "000"]


def country_table_emergency():
    """alpha2 -> emergency number from the hand-kept country table."""
    try:
        with open("shared/src/country/table.rs", encoding="utf-8") as f:
            src = f.read()
    except OSError:
        return {}
    return {m.group(1): m.group(2) for m in re.finditer(r'row\("([A-Z]{2})",\s*"[^"]*",\s*&\[[^\]]*\],\s*"(\d+)"\)', src)}


def emergency_for(region, table, notes):
    short = PhoneMetadata.short_metadata_for_region(region)
    listed = []
    if short is not None and short.emergency is not None and short.emergency.national_number_pattern:
        listed = finite_language(short.emergency.national_number_pattern)
    ours = table.get(region)
    if ours is not None:
        if listed and ours not in listed:
            notes.append(f"{region}: the country table has {ours}, libphonenumber lists {'/'.join(listed)}")
        return ours
    pick = next((p for p in PREFERRED_EMERGENCY if p in listed), None) or table.get(PART_OF.get(region), "112")
    notes.append(f"{region}: no country-table row, {pick} (libphonenumber lists {'/'.join(listed) or 'none'})")
    return pick


# ---------------------------------------------------------------------------
# Output.


def rust_lengths(lengths):
    return "&[" + ", ".join(str(x) for x in sorted(set(lengths)) if x > 0) + "]"


def rust_prefixes(entries):
    entries = sorted(entries, key=lambda e: (e[0], e[1] + str(e[2])))
    return "&[" + ", ".join(f'P({n}, "{s}", {lo}, {hi})' for (n, s, lo, hi) in entries) + "]"


def can_start_with(pattern, prefix):
    nfa = Nfa(pattern)
    states = nfa.initial()
    for d in prefix:
        states = nfa.step(states, d)
        if not states:
            return False
    return True


def main():
    if phonenumbers.__version__ != PINNED_VERSION:
        sys.exit(f"phonenumbers {phonenumbers.__version__} is installed; pip install phonenumbers=={PINNED_VERSION}")
    table = country_table_emergency()
    notes = []
    regions = {}  # alpha2 -> row text
    codes = []
    for cc in sorted(COUNTRY_CODE_TO_REGION_CODE):
        names = COUNTRY_CODE_TO_REGION_CODE[cc]
        geo = names != ("001",)
        main_meta = (
            PhoneMetadata.metadata_for_region(names[0]) if geo else PhoneMetadata.metadata_for_nongeo_region(cc)
        )
        prefix = main_meta.national_prefix or ""
        starts = bool(prefix) and can_start_with(main_meta.general_desc.national_number_pattern, prefix)
        region_refs = ", ".join(f"&R_{r}" for r in names) if geo else ""
        codes.append(
            f"    C {{ code: {cc}, lengths: {rust_lengths(main_meta.general_desc.possible_length)}, "
            f'national_prefix: "{prefix}", prefix_starts_numbers: {str(starts).lower()}, regions: &[{region_refs}] }},'
        )
        if not geo:
            continue
        for r in names:
            meta = PhoneMetadata.metadata_for_region(r)
            if len(names) == 1:
                rule = "Rule::Whole"
            elif meta.leading_digits is not None:
                rule = f"Rule::Leading({rust_prefixes([(0, *e) for e in leading_prefixes(meta.leading_digits)])})"
            else:
                rule = f"Rule::Valid({rust_prefixes(validity_prefixes(meta))})"
            regions[r] = (
                f'static R_{r}: Region = Region {{ alpha2: "{r}", code: {cc}, '
                f"lengths: {rust_lengths(meta.general_desc.possible_length)}, "
                f'national_prefix: "{meta.national_prefix or ""}", '
                f'emergency: "{emergency_for(r, table, notes)}", rule: {rule} }};'
            )
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    out = sys.stdout
    out.write(
        f"""// @generated by `python3 scripts/gen-numbering.py > shared/src/numbering/table.rs`
// from the PyPI package phonenumbers {phonenumbers.__version__} (libphonenumber metadata
// {phonenumbers.__version__}) on {today}. Do not edit by hand: change the script and rerun it.
//
"""
    )
    for line in textwrap.wrap(f"Emergency numbers: {EMERGENCY_SOURCE}.", 100):
        out.write(f"// {line}\n")
    out.write("// Where the two sources differ (review these when the country table changes):\n")
    for n in notes:
        out.write(f"//   {n}\n")
    out.write(
        "\nuse super::plan::{CodeInfo as C, Prefix as P, Region, Rule};\n\n"
        f'/// The phonenumbers (libphonenumber) release the table was generated from.\npub const METADATA_VERSION: &str = "{phonenumbers.__version__}";\n'
        f'/// The day the table was generated.\npub const GENERATED_ON: &str = "{today}";\n\n'
        "/// Every calling code libphonenumber knows, ascending.\n#[rustfmt::skip]\npub(super) static CODES: &[C] = &[\n"
    )
    out.write("\n".join(codes) + "\n];\n\n")
    out.write("/// Every region, by alpha-2 code.\n#[rustfmt::skip]\npub(super) static REGIONS: &[&Region] = &[\n")
    out.write("".join(f"    &R_{r},\n" for r in sorted(regions)))
    out.write("];\n\n")
    for r in sorted(regions):
        out.write("#[rustfmt::skip]\n" + regions[r] + "\n")


if __name__ == "__main__":
    main()
