"""Deduplication settings (one frozen dataclass, documented defaults)."""

from __future__ import annotations

from dataclasses import dataclass, fields

# settings the learned verdict's features depend on (signatures, MinHash scores, verifier, figures, keys)
_LEARNED_FIXED = frozenset(
    [
        "num_perm",
        "bands",
        "rows",
        "shingle",
        "scheme",
        "lead_perm",
        "lead_chars",
        "lead_shingle",
        "threshold",
        "containment",
        "min_jaccard",
        "min_chars",
        "lead_threshold",
        "figure_tolerance",
        "token_count",
        "key_ngram",
        "key_words",
        "key_sample",
        "verify_band",
        "verify_ratio",
        "digit_conflicts",
        "same_numbers",
        "seed",
    ]
)


@dataclass(frozen=True)
class DedupConfig:
    """Parameters of exact and near-duplicate detection.

    Parameters
    ----------
    num_perm : int
        MinHash slots per document (``bands * rows``): whole text and lead (see ``lead_perm``).
    bands, rows : int
        LSH banding. A pair with Jaccard ``s`` becomes a candidate with probability
        ``1 - (1 - s**rows)**bands``: the 42 x 3 whole-text bands give 0.29 at s=0.2, 0.68 at 0.3, 0.93 at
        0.4, 0.996 at 0.5 (containment matches of trimmed copies have a low Jaccard), and 4e-5 at 0.01
        (unrelated); the 14 x 3 lead bands give 0.83 at a lead Jaccard of 0.5, 0.96 at 0.6.
    shingle : str
        ``"char:K"`` (K-byte shingles of the normalised text, K <= 32) or ``"word:N"`` (word N-grams).
        Character shingles survive OCR-like noise and small edits better than word 5-grams.
    scheme : str
        ``"oph"``: one-permutation hashing with rotation densification (one hash per shingle, fast);
        ``"perm"``: classic MinHash, one hash function per slot (``num_perm`` times the work).
    lead_perm : int
        The last ``lead_perm`` of the ``num_perm`` slots (whole bands: a multiple of ``rows``) are a
        MinHash of the *lead*, the first ``lead_chars`` bytes of the normalised text, shingled with
        ``lead_shingle``-byte windows (short: robust to OCR noise). A copy that keeps only the start of a
        story and appends other text shares its lead, not its whole text. 0 disables the lead.
    lead_chars, lead_shingle : int
        Length of the lead and its shingle size (see ``lead_perm``).
    lead_threshold : float
        A candidate pair whose texts are both at least ``lead_chars`` long is a duplicate when its lead
        Jaccard estimate reaches this (figures permitting), even if the whole texts differ.
    threshold : float
        A candidate pair is a duplicate when its estimated similarity is at least this.
    containment : bool
        Similarity is ``max(jaccard, containment)``, containment estimated from the Jaccard estimate and
        the two text lengths, so that a copy trimmed or extended at the end still matches.
    min_jaccard : float
        Containment only counts when the Jaccard estimate reaches this (guards against noisy estimates
        for very unequal lengths).
    containment_chars : int
        (dedup-10) Containment only counts when the longer text has at least this many characters
        (normalised). Two short wire notices (a dividend notice, an earnings table) are one template with
        other figures, and the company is named in the headline only; for texts of about equal length
        containment is ``2J / (1 + J)``, which lifts a Jaccard of 0.3 over the threshold. A trimmed copy
        of a story is still matched: its original is longer. The rules only: the learned verdict's trees
        were trained with containment on every pair.
    min_chars : int
        Normalised texts shorter than this get no MinHash (exact matching only): too few shingles for a
        meaningful estimate, and very short texts are mostly headlines or templates.
    template_guard : bool
        Reject near pairs whose figures disagree (see ``figure_tolerance``).
    figure_tolerance : float
        A near pair is a template pair (not duplicates) when more than this fraction of the figure slots
        found in both texts (the words around a number) hold different numbers.
    token_count : int
        Words of the token sketch (the ``tokens`` column: the first ``token_count`` words of the normalised
        text, 16-bit hashes; see ``pipeline.dedup.tokens``). 0 disables the second-stage verifier.
    key_ngram, key_words, key_sample : int
        The word-key candidate channel (dedup-5; needs the token sketch): every ``key_ngram``-gram of
        the first ``key_words`` words of the sketch whose hash falls in 1 of ``key_sample`` classes is a
        band key (stored after the LSH band hashes in ``bands``, joined like them). A copy that keeps
        only the first part of a short story, or whose letters OCR garbled, shares these words, not
        enough shingles for a MinHash band. ``key_ngram=0`` disables the channel.
    key_min : int
        A pair that shares no LSH band is a candidate when it shares at least this many word keys (one
        common phrase, "said in a statement", is in thousands of texts; a copied passage gives several).
    verify_band, verify_ratio : int, float
        Verifier alignment: a word matches when the other text has it within ``verify_band`` positions;
        the matched prefix is the longest start of the shorter sketch matching at least ``verify_ratio``.
    verify_words, verify_share : int, float
        A candidate pair is a duplicate by the verifier when its matched prefix has at least
        ``verify_words`` words and ``verify_share`` of the shorter sketch (figures permitting).
    verify_numbers, verify_conflicts : int, float
        Number check of the verifier: numbers whose place in the other text is known (the words around
        them match) must be there, up to ``verify_conflicts`` of them. With at least ``verify_numbers``
        checked numbers and the shared part inside the sketch, the check replaces the ``figures`` guard;
        otherwise the ``figures`` guard decides and the matched prefix needs ``verify_words_unchecked``
        words (short formulaic stories without figures, "X corp said it filed a registration statement
        ...", match most of their words).
    digit_conflicts : bool
        (dedup-8) The number check (``verify_numbers`` above, the veto and ``dense_tail``) also counts a
        lone one-digit number ("rated Baa-3", "on May 6") as a conflict when the anchored place in the
        other text holds a different digit: noise turns letters into digits ("5ales"), never a digit
        into another, so a copy never has one; a template sibling or a notice of another day does. Equal
        lone digits are not counted (a shared date would make rewrites of one event look checked).
    verify_keys : int
        Only candidate pairs sharing at least this many word keys (``key_ngram``) are verified: the
        verifier looks for a matched prefix from the first word, which shares sampled word n-grams of
        the first ``key_words`` words (cost: most candidate pairs share a band or a phrase, not a
        start). 0 verifies every pair with ``verify_evidence``.
    veto_conflicts : float
        A pair the MinHash confirms only by containment or by its lead (whole-text Jaccard under
        ``threshold``) is rejected when at least this share of the numbers the verifier checks (at least
        ``verify_numbers``) conflict: a template story sharing a formulaic opening or list header with
        other figures. Pairs with a whole-text Jaccard over the threshold are never vetoed (moved
        paragraphs misalign the number check). 0 disables the veto.
    verify_conflicts_guarded : float
        A prefix-shaped pair (shared part ending inside the sketches) whose number check finds more than
        ``verify_conflicts`` but at most this share of conflicts is decided by the ``figures`` guard with
        the rules of a pair sharing only its lead (the appended text's numbers find chance anchors).
    verify_evidence : float
        Only candidate pairs whose whole-text or lead Jaccard estimate reaches this are verified (cost:
        most band collisions are unrelated texts; verified copies have >= 0.2 on the development sets).
    verify_full : bool
        (dedup-6) A verified pair whose whole token sketches match (the shared part may end after them: a
        prefix copy longer than the sketch) with at least ``verify_numbers`` checked numbers within
        ``verify_conflicts`` is judged as a prefix copy (the ``figures`` guard's lead-only rules: the
        figures after the cut say nothing), unless the multi-digit numbers of the two sketches are mostly
        new to each other (``NOVEL`` in ``figures.py``: a template sibling whose garbled anchors hide its
        other values from the number check); the lead-only rules are then joined by the *new numbers*
        rule on the whole texts' figures (the texts may go on alike after the sketch, with other values).
    same_numbers : int
        (dedup-6) A pair whose MinHash similarity reaches ``threshold`` but which the figures guard or the
        veto rejects is a duplicate when each text has at least this many multi-digit numbers and 90 %
        of each text's are the other's (as multisets, wherever they stand: moved paragraphs reorder the
        lead's numbers, noise garbles slot words). 0 disables.
    same_evidence : float
        (dedup-9) ``same_numbers`` also judges the pairs the rules reject whose whole-text or lead Jaccard
        estimate reaches this (a trimmed, garbled or extended copy under the MinHash threshold keeps its
        figures; a template sibling does not). 1.0 keeps dedup-8's MinHash-similar pairs only.
    dense_tail : float
        (dedup-6) A verified pair with a long enough matched prefix that the rules above reject is a
        prefix copy when its *dense* match (see ``tokens.dense_prefix``) ends after at least
        ``verify_words`` words (and, when the shorter sketch is full, at least ``DENSE_REST`` words
        before its end: a match reaching the end of a full sketch says nothing of what follows), the
        shorter sketch's rest matches at most this share (an unrelated brief;
        another version of a template keeps matching), at least ``verify_numbers`` numbers of the densely
        matched part are checked within ``verify_conflicts``, and its multi-digit numbers are not mostly
        new to each other; the ``figures`` guard then judges it by the lead-only rules. 0 disables.
    tail_vocabulary, dense_words_unchecked : float, int
        (dedup-6) The same pairs without ``verify_numbers`` checked numbers in their dense part (none of
        them conflicting) are prefix copies when the dense part has at least ``dense_words_unchecked``
        words, starts at the first words (``START_MATCHES`` of the first 8 match: formulaic notices of two
        companies differ in their names), and the shorter text's tail (at least ``TAIL_WORDS`` distinct
        words, function words and numbers left out) shares at most ``tail_vocabulary`` of its words with
        the longer one's continuation (``tokens.tail_vocabulary``: an unrelated brief after a partial
        copy; a formulaic story goes on about the same things). The ``figures`` guard's lead-only rules
        then judge it. 0 disables.
    dense_own_numbers : bool
        (dedup-6) Verified prefix-shaped pairs whose dense match ends before the shorter text does, as
        ``dense_tail`` / ``tail_vocabulary`` describe, are judged by the lead-only ``figures`` rules
        without the lead-number rule: the verifier checked the numbers of the shared part itself, and a
        cut inside the first 250 characters (or a dateline in one text only) shifts the leads' numbers.
    rare_keys, rare_nodes : int
        (issue 19) *Word-key rarity*: a candidate pair the rules above reject that shares at least
        ``rare_keys`` word keys each held by at most ``rare_nodes`` nodes (exact groups) of the view
        (the documents dated in ``[v - window_days, v]`` for view day ``v``) is verified again with the
        relaxed thresholds below, and linked in that view only. A prefix copy of a short story shares
        keys that only the story and its copies have; a formulaic opening ("X corp said it filed a
        registration statement ...") shares keys found in many documents. Counted per view, so a day's
        result stays a pure function of its window. Formulaic notices that are rare *within* a 30-day
        view (fortnightly Bundesbank "no press conference" notices, two IPO notices) are what the
        stricter rules below keep out. ``rare_keys=0`` disables.
    rare_words, rare_dense_unchecked, rare_evidence, rare_tail : int, int, float, float
        The thresholds of such pairs (each at most the ordinary one): ``verify_words`` becomes
        ``rare_words``, ``dense_words_unchecked`` ``rare_dense_unchecked`` and ``verify_evidence``
        ``rare_evidence``; ``verify_words_unchecked`` stays (lowered to 39 it gained +0.001 noisy recall
        on the tuning seeds and linked two rewritten reports of one event on an unseen one). Two rules
        are stricter for them: no ``verify_conflicts_guarded`` tolerance (another company's notice with
        some equal figures), and a dense part without checked numbers (``tail_vocabulary``) also needs
        the shorter sketch's match rate after its dense end to be at most ``rare_tail`` (another version
        of a formulaic notice keeps matching a little after its opening). Every other rule is unchanged.
    verdict : str
        Who decides a candidate pair: ``"learned"`` (the default since dedup-11): gradient-boosted trees
        over the measures the rules take, as numbers (``pipeline.dedup.pairs``, walked by
        ``pipeline.dedup.verdict`` from ``verdict.json``; trained by ``benchmarks/dedup_verdict.py`` on the
        clean, noisy and notices sets), or ``"rules"``: every rule above (dedup-10's output). The trees
        replace every rule's yes / no (the rarity rule included); candidate search, views, hops and clusters
        are the same code. They were trained with the default signature, verifier and figures settings, so
        changing one of those needs ``verdict = "rules"``. Held out (14 seeds, four sets) they beat the
        rules on every set's mean and worst seed, and on the real Reuters wire they join fewer different
        companies' stories (benchmarks/README-dedup.md, session 13). Since dedup-12 (learned-7) they also
        see where a dense match's copy starts and how much of its tail's vocabulary the other text's
        continuation has (an unrelated brief after a partial copy), for noisy recall (session 14).
    consistency_below, consistency_sure : float
        The consistency guard (learned verdict only; since dedup-13; ``consistency_below = 0`` disables it):
        a pair the trees accept with a score under ``consistency_below`` is no edge when one of its two texts
        has a duplicate they accept with at least ``consistency_sure`` whose pair with the other text they
        judged and rejected, though it is no less MinHash-similar (``cluster._inconsistent``). Template
        merges summed over 12 held-out seeds: noisy 5 -> 2, shift 13 -> 6, names 65 -> 55; over 6 fresh
        seeds shift 18 -> 16, names 38 -> 33, noisy unchanged; shift recall -0.001 (README-dedup, dedup-13).
    name_veto : float
        The subject check (learned verdict only; since dedup-15; 0 disables it): a pair the trees accept is
        no duplicate when each text's first paragraph repeats a capitalised name that the other text's sketch
        lacks (``pairs.NAMES``: ``name_miss`` >= 1) and less than ``name_veto`` of the shorter text's words
        are found in the other (``word_hit``): formula stories of two companies ("Micropolis Corp said it
        filed ... , Micropolis said" / "MTech Corp said it filed ... , MTech said"), shaped like a partial
        copy. A copy, cut or garbled, keeps its original's subject (README-dedup, session 19).
    window_days : int or None
        A day is compared with itself and the ``window_days`` days before it; ``None`` = unlimited.
    max_hops : int
        Hops of the candidate search from the day's documents into the window (see ``deduplicate``).
    seed : int
        Seed of the hash functions. Changing it (or the shingle/slot settings) invalidates stored signatures.
    """

    num_perm: int = 168
    bands: int = 56
    rows: int = 3
    shingle: str = "char:9"
    scheme: str = "oph"
    lead_perm: int = 42
    lead_chars: int = 250
    lead_shingle: int = 5
    lead_threshold: float = 0.45
    threshold: float = 0.42
    containment: bool = True
    containment_chars: int = 200
    min_jaccard: float = 0.2
    min_chars: int = 40
    template_guard: bool = True
    figure_tolerance: float = 0.1
    token_count: int = 256
    key_ngram: int = 4
    key_words: int = 60
    key_sample: int = 3
    key_min: int = 2
    veto_conflicts: float = 0.6
    verify_keys: int = 1
    verify_band: int = 6
    verify_ratio: float = 0.6
    verify_words: int = 30
    verify_share: float = 0.4
    verify_numbers: int = 3
    verify_conflicts: float = 0.1
    verify_conflicts_guarded: float = 0.2
    digit_conflicts: bool = True
    verify_words_unchecked: int = 45
    verify_evidence: float = 0.15
    verify_full: bool = True
    same_numbers: int = 3
    same_evidence: float = 0.15
    dense_tail: float = 0.2
    tail_vocabulary: float = 0.1
    dense_words_unchecked: int = 25
    dense_own_numbers: bool = True
    rare_keys: int = 2
    rare_nodes: int = 4
    rare_words: int = 20
    rare_dense_unchecked: int = 20
    rare_evidence: float = 0.1
    rare_tail: float = 0.1
    verdict: str = "learned"
    consistency_below: float = 0.95
    consistency_sure: float = 0.99
    name_veto: float = 0.5
    window_days: int | None = 30
    max_hops: int = 2
    seed: int = 1

    def __post_init__(self) -> None:
        if self.bands * self.rows != self.num_perm:
            raise ValueError("bands * rows must equal num_perm")
        if not 0 <= self.lead_perm < self.num_perm or self.lead_perm % self.rows:
            raise ValueError("lead_perm must be a multiple of rows in [0, num_perm)")
        if self.scheme not in ("oph", "perm"):
            raise ValueError(f"unknown scheme {self.scheme!r}")
        self.shingle_kind  # noqa: B018 - validates the shingle spec
        if self.window_days is not None and self.window_days < 0:
            raise ValueError("window_days must be >= 0 or None")
        if self.verdict not in ("rules", "learned"):
            raise ValueError(f"verdict must be 'rules' or 'learned', not {self.verdict!r}")
        if self.verdict == "learned":
            # the trees were trained on features measured with these settings: other values would feed
            # them numbers they never saw
            changed = [f.name for f in fields(self) if f.name in _LEARNED_FIXED and getattr(self, f.name) != f.default]
            if changed:
                raise ValueError(
                    f"verdict 'learned' needs the default {', '.join(changed)} (its trees were trained with them); "
                    "set verdict = 'rules' to tune them"
                )
        if self.max_hops < 1:
            raise ValueError("max_hops must be >= 1")

    @property
    def shingle_kind(self) -> tuple[str, int]:
        kind, _, size = self.shingle.partition(":")
        if kind not in ("char", "word") or not size.isdigit() or not 1 <= int(size) <= 32:
            raise ValueError(f"shingle must be 'char:K' or 'word:N' (1..32), not {self.shingle!r}")
        return kind, int(size)
