"""The names people use for a body, generated from the structure of its official name.

A body's official name is a chain: region prefixes, a core, a generic suffix
(``平潭综合实验区`` + ``君山片区`` + ``管理局``; ``沭阳县`` + ``发展和改革`` + ``局``;
``彭阳县`` + ``交岔乡`` + ``人民政府``). People drop any of the three: they say
``君山片区``, ``君山``, ``平潭君山片区``, ``市场监管局``, ``自然资源局``, ``审批局``.
``body_aliases`` generates those forms from the name alone (no list per report):

- region prefixes peeled one by one, and re-attached in their short form
  (``平潭综合实验区`` → ``平潭``);
- the generic suffix dropped (人民政府, 管理委员会, 管委会, 街道办事处, 办事处); a place's
  type word dropped too when what remains is still a name (``君山片区`` → ``君山``,
  ``交岔乡`` → ``交岔``), never for a department (``公安`` alone names no body);
- a department's core split into its parts: conjuncts (``自然资源与生态环境`` →
  ``自然资源局``, ``生态环境局``), the first and last two-character word of a
  four-character core (``行政审批`` → ``行政审批局``, ``审批局``; ``财政金融`` → ``财政局``)
  and the initials of its words (``经济发展`` → ``经发局``, ``国有资产`` → ``国资局``);
- common abbreviations of administrative words (发展和改革 → 发改, 市场监督管理 → 市场监管).

``NameMatcher`` finds these names in a question: exact substrings first (longest
first), then one wrong character in a name of three or more characters (looked up
under the name's one-character blanks, so the cost does not grow with the index), and
``nearest`` names for a mention that matches nothing (rapidfuzz's ratio).
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from rapidfuzz import fuzz, process

# Administrative words people abbreviate (the long form, the short one).
ABBREVIATIONS = (("发展和改革", "发改"), ("发展改革", "发改"), ("科学技术委员会", "科委"),
                 ("人民政府办公厅", "政府办公厅"), ("人民政府办公室", "政府办"),
                 ("人力资源和社会保障", "人社"), ("自然资源和规划", "自然资源"), ("住房和城乡建设", "住建"),
                 ("市场监督管理", "市场监管"), ("管理委员会", "管委会"))

# Generic suffixes of a body's name, longest first: what a body is, not which one.
GOV_SUFFIXES = ("人民政府办公厅", "人民政府办公室", "人民政府", "管理委员会", "管委会", "街道办事处", "办事处")
DEPT_SUFFIXES = ("委员会", "办公厅", "办公室", "管理局", "局", "委", "办", "厅", "中心", "署", "院")
# A place's type word: what remains after it is the place's own name.
PLACE_TYPES = ("自治区", "综合实验区", "经济技术开发区", "高新技术产业开发区", "开发区", "新区", "片区", "街道",
               "省", "市", "州", "盟", "县", "旗", "区", "乡", "镇")
_REGION_PREFIX = re.compile(
    r"^[\u4e00-\u9fff]{1,7}?(?:省|自治区|综合实验区|经济技术开发区|新区|市|州|盟|县|旗)"
    r"|^[\u4e00-\u9fff]{2,3}区(?=[\u4e00-\u9fff]{2,}(?:局|委|办|厅|中心|片区|乡|镇|街道))")
_CONJUNCTION = re.compile(r"与|和|及")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")


def clean_name(name: str) -> str:
    """A name without parentheticals, spaces and invisible characters."""
    name = unicodedata.normalize("NFKC", name or "")
    name = _INVISIBLE.sub("", name)
    name = re.sub(r"（.*?）|\(.*?\)", "", name)
    return re.sub(r"\s+", "", name)


def short_region(region: str) -> str:
    """'平潭综合实验区' -> '平潭', '淮安市' -> '淮安', '彭阳县' -> '彭阳' (a two-character
    remainder at least; '沭阳县' keeps '沭阳')."""
    for t in PLACE_TYPES:
        if region.endswith(t) and len(region) - len(t) >= 2:
            return region[: -len(t)]
    return region


def split_region(name: str) -> tuple[list[str], str]:
    """The region prefixes of a name and the rest: '平潭综合实验区君山片区管理局' ->
    (['平潭综合实验区'], '君山片区管理局'); '沭阳县发展和改革局' -> (['沭阳县'], '发展和改革局')."""
    prefixes = []
    rest = name
    while True:
        m = _REGION_PREFIX.match(rest)
        if not m or len(rest) - m.end() < 2:
            break
        tail = rest[m.end():]
        if tail in GOV_SUFFIXES or tail in DEPT_SUFFIXES:
            break  # '淮安市人民政府': the region is the body itself
        prefixes.append(m.group(0))
        rest = tail
    return prefixes, rest


def _strip_suffix(name: str, suffixes) -> tuple[str, str]:
    for s in suffixes:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)], s
    return name, ""


def _core_forms(core: str, suffix: str) -> set[str]:
    """A department's core, and the parts of it people say, each with its suffix."""
    out = {core + suffix}
    parts = [p for p in _CONJUNCTION.split(core) if len(p) >= 2]
    if len(parts) > 1:
        out |= {p + suffix for p in parts}
        out.add("".join(p[0] for p in parts) + suffix)  # 交通与建设局 -> 交建局
        for p in parts:
            base, _ = _strip_suffix(p, ("管理",))
            if base != p and len(base) >= 2:
                out.add(base + suffix)  # 应急管理局 -> 应急局
    elif len(core) == 4:
        out |= {core[:2] + suffix, core[2:] + suffix, core[0] + core[2] + suffix}  # 经济发展 -> 经发局
    elif len(core) == 6 and core.endswith("管理"):
        out |= {core[:4] + suffix, core[0] + core[2] + suffix}  # 国有资产管理 -> 国有资产局, 国资局
    return out


def body_aliases(body: str, short_name: str = "") -> set[str]:
    """Every way a question may name the body (two characters at least)."""
    out: set[str] = set()
    for name in {clean_name(body), clean_name(short_name)} - {""}:
        prefixes, rest = split_region(name)
        forms = {name, rest}
        stem, gov = _strip_suffix(rest, GOV_SUFFIXES)
        if not gov:
            office_of, suffix = _strip_suffix(rest, DEPT_SUFFIXES)
            if suffix and _strip_suffix(office_of, ("片区", "街道", "乡", "镇"))[1]:
                stem, gov = office_of, suffix  # 君山片区管理局: the office governing a place
                forms.add(stem)
        if gov in GOV_SUFFIXES:
            forms.add(stem)
            if gov in ("人民政府办公厅", "人民政府办公室"):
                forms |= {stem + "政府", stem + "人民政府", stem + "政府办", stem + "政府办公厅"}
                level = next((t for t in ("省", "市", "县", "区") if stem.endswith(t)), "")
                if level:  # 上海市人民政府办公厅 is '市政府办公厅' to its own citizens
                    forms |= {level + "政府办公厅", level + "政府办公室", level + "政府办"}
        place = stem if gov else rest
        core, ptype = _strip_suffix(place, PLACE_TYPES)
        if ptype and len(core) >= 2 and (gov or ptype in ("片区", "街道")) or ptype == "街道":
            forms |= {place, core}  # 君山片区, 君山; 交岔乡, 交岔
            if ptype == "片区":
                forms.add(core + "片")
        if not gov and not ptype:
            dcore, dsuffix = _strip_suffix(rest, DEPT_SUFFIXES)
            if dsuffix:
                if dsuffix == "管理局":
                    forms |= _core_forms(dcore, "局") | _core_forms(dcore + "管理", "局")
                forms |= _core_forms(dcore, dsuffix)
        for long, short in ABBREVIATIONS:
            for f in list(forms):
                if long in f:
                    forms.add(f.replace(long, short))
        out |= forms
        # With a region in front, as people also say it: 平潭君山片区, 平潭市场监管局.
        for region in prefixes:
            for r in {region, short_region(region)}:
                out |= {r + f for f in forms if f != name and len(f) >= 2 and not f.startswith(r)}
    return {a for a in out if len(a) >= 2 and a not in PLACE_TYPES and a not in DEPT_SUFFIXES}


def region_aliases(*regions: str | None) -> set[str]:
    out = set()
    for region in regions:
        if region:
            region = clean_name(region)
            out |= {region, short_region(region)}
    return {a for a in out if len(a) >= 2}


def display_name(name: str) -> str:
    """How answers name a body: the common abbreviation of its administrative words
    (沭阳县发改局, 上海市科委, 上海市政府办公厅)."""
    for long, short in ABBREVIATIONS:
        if long in name and name != long and long != "管理委员会":
            return name.replace(long, short)
    return name


_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{3,}")


def _blank_keys(name: str) -> list[int]:
    """The keys a name is filed under for one-substitution matching: the name with one
    character blanked, for each character but the last (hashes: this process only)."""
    return [hash(name[:j] + "\0" + name[j + 1:]) for j in range(len(name) - 1)]


def _one_substitution(name: str, window: str) -> bool:
    return len(name) == len(window) and name[-1] == window[-1] and sum(a != b for a, b in zip(name, window)) == 1


_QUESTION_START = "哪各几这那该本全每某多"


class NameMatcher:
    """The names of an index (body aliases and regions), matched inside a question.

    ``names`` is [(name, bodies, is_region)] longest first; ``exact`` looks up every
    substring of a known length (a dict lookup each, fast at 10,000 reports);
    ``near`` finds windows one character away from a name of three or more
    characters; ``nearest`` ranks names for a mention that matched none."""

    def __init__(self, names: list[tuple[str, set[str], bool]]):
        self.names = sorted(names, key=lambda x: -len(x[0]))
        self.rank = {name: i for i, (name, _, _) in enumerate(self.names)}
        self.lengths = sorted({len(n) for n, _, _ in self.names}, reverse=True)
        # Every name of three or more characters is filed under each of its one-character
        # blanks (东?镇 for 东方镇), never the last character: a misspelt name keeps its
        # length and its type word (局, 镇, 片区). The keys are hashes in one sorted array, so
        # a window of a question costs a lookup per character however many names the index
        # has (a distance matrix over all names of a length took 77 % of a question at
        # 50,000 reports), in 12 bytes a key (545,000 names there, 3.3M keys).
        long = [(rank, name) for rank, (name, _, _) in enumerate(self.names) if len(name) >= 3]
        blanks = [len(name) - 1 for _, name in long]
        keys = np.fromiter((k for _, name in long for k in _blank_keys(name)), dtype=np.int64, count=sum(blanks))
        ranks = np.repeat(np.array([rank for rank, _ in long], dtype=np.int32), blanks)
        order = np.argsort(keys, kind="stable")
        self._blank_key, self._blank_rank = keys[order], ranks[order]
        self.lengths_near = sorted({len(n) for n, _, _ in self.names if len(n) >= 3})
        # names without a region prefix: what 'nearest' compares a stray mention with
        # (made once here, not per question: splitting 40,000 names costs ~0.1 s)
        self.cores = [n for n, _, region in self.names if not region and len(n) >= 3 and not split_region(n)[0]]

    def exact(self, text: str) -> list[tuple[int, int]]:
        """(name rank, start) of every occurrence of a name in text, in matching order."""
        found = []
        for n in self.lengths:
            for i in range(len(text) - n + 1):
                rank = self.rank.get(text[i:i + n])
                if rank is not None:
                    found.append((rank, i))
        return sorted(found)

    def near(self, text: str) -> list[tuple[int, int]]:
        """(name rank, start) of windows of text one substitution away from a name of
        three or more characters that keeps its last character (the type word: 局,
        片区, 镇), in matching order. Only runs of Chinese characters are tried."""
        windows = []  # (start, window)
        for run in _HAN_RUN.finditer(text):
            chunk = run.group(0)
            for n in self.lengths_near:
                for i in range(len(chunk) - n + 1):
                    if chunk[i] not in _QUESTION_START:
                        windows.append((run.start() + i, chunk[i:i + n]))
        if not windows:
            return []
        keys, owner = [], []
        for w, (_, window) in enumerate(windows):
            blanks = _blank_keys(window)
            keys += blanks
            owner += [w] * len(blanks)
        keys = np.array(keys, dtype=np.int64)
        lo = np.searchsorted(self._blank_key, keys, "left")
        hi = np.searchsorted(self._blank_key, keys, "right")
        found = set()
        for k in np.nonzero(hi > lo)[0]:
            start, window = windows[owner[k]]
            for rank in self._blank_rank[lo[k]:hi[k]].tolist():
                if _one_substitution(self.names[rank][0], window):
                    found.add((rank, start))
        return sorted(found)

    def nearest(self, mention: str, limit: int = 5) -> list[str]:
        """The known names closest to a mention that matched none (for 'did you mean'):
        compared without their region prefixes (平潭文旅局 ~ 旅文局, not ~ 平潭公安局),
        by rapidfuzz's ratio (shared characters in order)."""
        _, core = split_region(clean_name(mention))
        hits = process.extract(core, self.cores, scorer=fuzz.ratio, limit=limit, score_cutoff=50)
        return [name for name, _score, _ in hits]
